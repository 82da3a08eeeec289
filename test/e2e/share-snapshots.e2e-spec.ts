// Share snapshots (Snapshot Share, reads with sharesnapshot, writes refused, Delete Share's snapshot
// rules, List Ranges against a previous snapshot) through the JS SDK, the Python SDK and signed raw
// requests, against the real service and PostgreSQL.
import { ShareClient, ShareServiceClient } from '@azure/storage-file-share';
import { createHash } from 'node:crypto';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { verifyProjections } from '../../libs/projections/src';
import { PythonCall, PythonSdk } from '../support/python';
import { onlyEvent, refusedBySdk } from '../support/recorded';
import { startTestService, TestService, uniqueShare } from '../support/service';
import { sendRaw } from '../support/signed-request';

const signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
const MiB = 1024 * 1024;
const SNAPSHOT_NAME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

const filled = (length: number, byte: number) => Buffer.alloc(length, byte);

describe('share snapshots', () => {
  let service: TestService;
  let client: ShareServiceClient;

  beforeAll(async () => {
    service = await startTestService();
    client = service.serviceClient();
  });
  afterAll(() => service.stop());

  const refused = (call: Promise<unknown>, status: number, code: string, head = false) =>
    refusedBySdk(service.db, call, status, code, { head });
  const newShare = async (metadata?: Record<string, string>): Promise<ShareClient> => {
    const share = client.getShareClient(uniqueShare('snap'));
    await share.create({ metadata, quota: 10 });
    return share;
  };
  const download = async (share: ShareClient, path: string) =>
    await share.getDirectoryClient('').getFileClient(path).downloadToBuffer();
  const put = async (share: ShareClient, path: string, data: Buffer, size = data.length) => {
    const file = share.getDirectoryClient('').getFileClient(path);
    await file.create(size);
    if (data.length) await file.uploadRange(data, 0, data.length);
    return file;
  };
  const raw = (method: string, share: string, path: string, query: string, headers: Record<string, string> = {}) =>
    sendRaw(service.url, {
      method,
      path: `/${DEVELOPMENT_ACCOUNT}/${share}${path ? `/${path}` : ''}`,
      query,
      headers,
      signer,
    });

  it('Snapshot Share answers 201 with x-ms-snapshot and records one event at a point of the log; the share is unchanged', async () => {
    const share = await newShare({ team: 'ops' });
    const before = await share.getProperties();
    const taken = await share.createSnapshot();
    expect(taken.snapshot).toMatch(SNAPSHOT_NAME);
    expect(taken._response.status).toBe(201);
    const event = await onlyEvent(service.db, taken, 'ShareSnapshotCreated');
    expect(event.data).toMatchObject({ snapshot: taken.snapshot, metadata: { team: 'ops' }, quota: 10 });
    expect(event.data.pgSnapshot).toMatch(/^\d+:\d+:/);
    expect(Number(event.data.position)).toBeGreaterThan(0);
    expect([taken.etag, taken.lastModified]).toEqual([before.etag, before.lastModified]);
    const after = await share.getProperties();
    expect([after.etag, after.lastModified]).toEqual([before.etag, before.lastModified]);

    // With metadata, the snapshot has that metadata (not the share's); without, the share's.
    const tagged = await share.createSnapshot({ metadata: { kind: 'nightly' } });
    expect((await share.withSnapshot(tagged.snapshot!).getProperties()).metadata).toEqual({ kind: 'nightly' });
    const plain = await share.withSnapshot(taken.snapshot!).getProperties();
    expect(plain.metadata).toEqual({ team: 'ops' });
    expect({ quota: plain.quota, leaseState: plain.leaseState, etag: plain.etag }).toEqual({
      quota: 10,
      leaseState: 'available',
      etag: before.etag,
    });
    await share.delete({ deleteSnapshots: 'include' });
  });

  it('reads the share as it was at the snapshot: bytes, properties, metadata, listing, ranges; the live share moves on', async () => {
    const share = await newShare();
    await share.createDirectory('docs');
    const old = Buffer.concat([filled(MiB, 0x41), filled(MiB + 10, 0x42)]);
    const a = await put(share, 'docs/a.bin', old);
    await a.setMetadata({ v: '1' });
    await put(share, 'gone.txt', Buffer.from('soon deleted'));
    const { snapshot } = await share.createSnapshot();

    // Overwrite across a chunk edge, clear a range, shrink, change metadata; delete one file, add another.
    await a.uploadRange(filled(20, 0x43), MiB - 10, 20);
    await a.clearRange(100, 200);
    await a.setMetadata({ v: '2' });
    await share.getDirectoryClient('').getFileClient('gone.txt').delete();
    await put(share, 'docs/new.txt', Buffer.from('after'));
    await a.resize(MiB + 5);

    const at = share.withSnapshot(snapshot!);
    expect((await download(at, 'docs/a.bin')).equals(old)).toBe(true);
    expect((await download(at, 'gone.txt')).toString()).toBe('soon deleted');
    const properties = await at.getDirectoryClient('docs').getFileClient('a.bin').getProperties();
    expect({ length: properties.contentLength, metadata: properties.metadata, lease: properties.leaseState }).toEqual({
      length: old.length,
      metadata: { v: '1' },
      lease: 'available',
    });
    const ranged = await at
      .getDirectoryClient('docs')
      .getFileClient('a.bin')
      .download(MiB - 5, 10);
    expect(ranged._response.status).toBe(206);
    const names: string[] = [];
    for await (const entry of at.getDirectoryClient('docs').listFilesAndDirectories()) names.push(entry.name);
    expect(names).toEqual(['a.bin']);
    const root: string[] = [];
    for await (const entry of at.getDirectoryClient('').listFilesAndDirectories()) root.push(entry.name);
    expect(root.sort()).toEqual(['docs', 'gone.txt']);
    expect((await at.getDirectoryClient('docs').getFileClient('a.bin').getRangeList()).rangeList).toEqual([
      { start: 0, end: old.length - 1 },
    ]);
    await refused(
      at.getDirectoryClient('docs').getFileClient('new.txt').getProperties(),
      404,
      'ResourceNotFound',
      true,
    );
    const dir = await at.getDirectoryClient('docs').getProperties();
    expect(dir._response.status).toBe(200);

    // The live file has the new bytes.
    const live = await download(share, 'docs/a.bin');
    expect(live.length).toBe(MiB + 5);
    expect(live.subarray(MiB - 10, MiB + 5).equals(filled(15, 0x43))).toBe(true);
    expect(live.subarray(100, 201).equals(filled(101, 0))).toBe(true);

    // Get File Metadata (no SDK call) with sharesnapshot.
    const metadata = await raw('GET', share.name, 'docs/a.bin', `comp=metadata&sharesnapshot=${snapshot}`);
    expect({ status: metadata.status, v: metadata.header('x-ms-meta-v') }).toEqual({ status: 200, v: '1' });

    // Versions kept for the snapshot go with it when it is deleted.
    const versions = async () =>
      Number(
        (
          await service.db.query(
            `SELECT count(*) FROM file_chunk_versions WHERE share_id = (SELECT share_id FROM shares WHERE tenant = $1 AND name = $2)`,
            [DEVELOPMENT_ACCOUNT, share.name],
          )
        ).rows[0].count,
      );
    expect(await versions()).toBeGreaterThan(0);
    const deleted = await at.delete();
    expect(deleted._response.status).toBe(202);
    await onlyEvent(service.db, deleted, 'ShareSnapshotDeleted');
    expect(await versions()).toBe(0);
    await refused(at.getProperties(), 404, 'ShareNotFound');
    await share.delete();
  });

  it('snapshots taken while writes race them each see whole writes: bytes and events from the same point of the log', async () => {
    const share = await newShare();
    const size = 2 * MiB + 100;
    const file = await put(share, 'race.bin', filled(size, 0));
    const writes = (async () => {
      for (let i = 1; i <= 12; i++) await file.uploadRange(filled(size, i), 0, size);
    })();
    const snapshots: string[] = [];
    for (let i = 0; i < 6; i++) snapshots.push((await share.createSnapshot()).snapshot!);
    await writes;
    for (const snapshot of snapshots) {
      const at = share.withSnapshot(snapshot);
      const bytes = await download(at, 'race.bin');
      // One write's bytes in all three chunks: never half of one.
      expect(bytes.every((b) => b === bytes[0])).toBe(true);
      // And the write whose event the snapshot sees last is the one whose bytes it has.
      const { etag } = await at.getDirectoryClient('').getFileClient('race.bin').getProperties();
      const { rows } = await service.db.query(
        `SELECT type, data FROM events WHERE tenant = $1 AND data->>'etag' = $2`,
        [DEVELOPMENT_ACCOUNT, etag],
      );
      expect(rows.map((r) => r.type)).toEqual(['FileRangeWritten']);
      expect(rows[0].data.contentMD5).toBe(createHash('md5').update(filled(size, bytes[0])).digest('base64'));
    }
    expect((await download(share, 'race.bin')).every((b) => b === 12)).toBe(true);
    await share.delete({ deleteSnapshots: 'include' });
  });

  it('List Ranges against a previous snapshot: changed ranges and cleared ranges; a re-created file is a FileGenerationMismatch', async () => {
    const share = await newShare();
    const file = await put(share, 'f.bin', filled(4096, 1));
    const first = (await share.createSnapshot()).snapshot!;
    await file.uploadRange(filled(512, 2), 1024, 512);
    await file.clearRange(3072, 512);
    const second = (await share.createSnapshot()).snapshot!;
    await file.uploadRange(filled(10, 3), 0, 10);

    const sinceFirst = await file.getRangeListDiff(first);
    expect({ ranges: sinceFirst.ranges, clearRanges: sinceFirst.clearRanges }).toEqual({
      ranges: [
        { start: 0, end: 9 },
        { start: 1024, end: 1535 },
      ],
      clearRanges: [{ start: 3072, end: 3583 }],
    });
    // Between two snapshots: the later one is the target.
    const between = await share
      .withSnapshot(second)
      .getDirectoryClient('')
      .getFileClient('f.bin')
      .getRangeListDiff(first);
    expect({ ranges: between.ranges, clearRanges: between.clearRanges }).toEqual({
      ranges: [{ start: 1024, end: 1535 }],
      clearRanges: [{ start: 3072, end: 3583 }],
    });
    // The previous snapshot must be the older one.
    const newer = await raw(
      'GET',
      share.name,
      'f.bin',
      `comp=rangelist&sharesnapshot=${first}&prevsharesnapshot=${second}`,
    );
    expect({ status: newer.status, code: newer.header('x-ms-error-code') }).toEqual({
      status: 400,
      code: 'InvalidQueryParameterValue',
    });
    await file.create(100);
    await refused(file.getRangeListDiff(first), 409, 'FileGenerationMismatch');
    await share.delete({ deleteSnapshots: 'include' });
  });

  it('refuses writes and leases on a snapshot (400 ShareSnapshotOperationNotSupported), a missing snapshot (404) and a malformed name (400)', async () => {
    const share = await newShare();
    await put(share, 'f.txt', Buffer.from('data'));
    const { snapshot } = await share.createSnapshot();
    const file = share.withSnapshot(snapshot!).getDirectoryClient('').getFileClient('f.txt');
    const code = 'ShareSnapshotOperationNotSupported';
    await refused(file.uploadRange(Buffer.from('x'), 0, 1), 400, code);
    await refused(file.setMetadata({ a: 'b' }), 400, code);
    await refused(file.delete(), 400, code);
    await refused(file.create(10), 400, code);
    await refused(file.getShareLeaseClient().acquireLease(-1), 400, code);
    await refused(share.withSnapshot(snapshot!).setMetadata({ a: 'b' }), 400, code);
    await refused(share.withSnapshot(snapshot!).createDirectory('d'), 400, code);
    await refused(share.withSnapshot('2020-01-01T00:00:00.0000000Z').getProperties(), 404, 'ShareNotFound');
    await refused(
      share.withSnapshot('2020-01-01T00:00:00.0000000Z').getDirectoryClient('').getFileClient('f.txt').getProperties(),
      404,
      'ShareNotFound',
      true,
    );
    const malformed = await raw('GET', share.name, '', 'restype=share&sharesnapshot=yesterday');
    expect({ status: malformed.status, code: malformed.header('x-ms-error-code') }).toEqual({
      status: 400,
      code: 'InvalidQueryParameterValue',
    });
    expect(await download(share, 'f.txt')).toEqual(Buffer.from('data'));
    await share.delete({ deleteSnapshots: 'include' });
  });

  it('List Handles and Force Close Handles on a snapshot: no handle is ever open in one', async () => {
    const share = await newShare();
    await put(share, 'f.txt', Buffer.from('data'));
    const { snapshot } = await share.createSnapshot();
    const at = share.withSnapshot(snapshot!);
    const handles = [];
    for await (const h of at.getDirectoryClient('').listHandles({ recursive: true })) handles.push(h);
    expect(handles).toEqual([]);
    const closed = await at.getDirectoryClient('').getFileClient('f.txt').forceCloseAllHandles();
    expect(closed).toMatchObject({ closedHandlesCount: 0 });
    await refused(at.getDirectoryClient('').getFileClient('nope.txt').forceCloseAllHandles(), 404, 'ResourceNotFound');
    await share.delete({ deleteSnapshots: 'include' });
  });

  it('Delete Share: 409 ShareHasSnapshots without x-ms-delete-snapshots; with include, the share and its snapshots go', async () => {
    const share = await newShare();
    await put(share, 'f.txt', Buffer.from('data'));
    const { snapshot } = await share.createSnapshot();
    await put(share, 'f.txt', Buffer.from('DATA'));
    await refused(share.delete(), 409, 'ShareHasSnapshots');
    const bad = await raw('DELETE', share.name, '', 'restype=share', { 'x-ms-delete-snapshots': 'all' });
    expect({ status: bad.status, code: bad.header('x-ms-error-code') }).toEqual({
      status: 400,
      code: 'InvalidHeaderValue',
    });

    // List Shares with include=snapshots lists each snapshot before its share.
    const listed: Array<{ name: string; snapshot?: string }> = [];
    for await (const s of client.listShares({ prefix: share.name, includeSnapshots: true }))
      listed.push({ name: s.name, snapshot: s.snapshot });
    expect(listed).toEqual([
      { name: share.name, snapshot },
      { name: share.name, snapshot: undefined },
    ]);

    const deleted = await share.delete({ deleteSnapshots: 'include' });
    expect((await onlyEvent(service.db, deleted, 'ShareDeleted')).data).toMatchObject({ snapshotsDeleted: 1 });
    await refused(share.withSnapshot(snapshot!).getProperties(), 404, 'ShareNotFound');
    const { rows } = await service.db.query(
      `SELECT count(*) FROM file_chunk_versions v WHERE NOT EXISTS (SELECT 1 FROM shares s WHERE s.share_id = v.share_id)`,
    );
    expect(Number(rows[0].count)).toBe(0);
  });

  it('List Shares with include=snapshots pages by entry: maxresults counts snapshots, a marker resumes between them', async () => {
    const first = await newShare();
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) taken.push((await first.createSnapshot()).snapshot!);
    const second = client.getShareClient(`${first.name}-b`);
    await second.create();
    const pages: Array<Array<[string, string | undefined]>> = [];
    for await (const page of client
      .listShares({ prefix: first.name, includeSnapshots: true })
      .byPage({ maxPageSize: 2 }))
      pages.push((page.shareItems ?? []).map((s) => [s.name, s.snapshot]));
    expect(pages).toEqual([
      [
        [first.name, taken[0]],
        [first.name, taken[1]],
      ],
      [
        [first.name, taken[2]],
        [first.name, undefined],
      ],
      [[second.name, undefined]],
    ]);
    // Without include=snapshots, only the shares.
    const plain: string[] = [];
    for await (const s of client.listShares({ prefix: first.name })) plain.push(s.name);
    expect(plain).toEqual([first.name, second.name]);
    await first.delete({ deleteSnapshots: 'include' });
    await second.delete();
  });

  it('through the Python SDK: create_snapshot, reads at the snapshot, get_ranges_diff, delete_share(delete_snapshots=True)', async () => {
    const share = await newShare();
    const python = new PythonSdk(service.url);
    const py = (calls: PythonCall[]) =>
      python.batch({ account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY, share: share.name }, calls);
    try {
      const [created, , taken] = await py([
        { client: 'file', path: 'p.txt', method: 'create_file', kwargs: { size: 8 } },
        { client: 'file', path: 'p.txt', method: 'upload_range', kwargs: { data: 'abcdefgh', offset: 0, length: 8 } },
        { client: 'share', method: 'create_snapshot', kwargs: { metadata: { by: 'python' } } },
      ]);
      expect(created).toHaveProperty('ok');
      const snapshot = (taken as { ok: { snapshot: string } }).ok.snapshot;
      expect(snapshot).toMatch(SNAPSHOT_NAME);
      const results = await py([
        { client: 'file', path: 'p.txt', method: 'upload_range', kwargs: { data: 'XY', offset: 2, length: 2 } },
        { client: 'file', path: 'p.txt', method: 'download_file', snapshot },
        { client: 'file', path: 'p.txt', method: 'get_ranges_diff', kwargs: { previous_sharesnapshot: snapshot } },
        { client: 'share', method: 'get_share_properties', snapshot },
        {
          client: 'file',
          path: 'p.txt',
          method: 'upload_range',
          snapshot,
          kwargs: { data: 'z', offset: 0, length: 1 },
        },
        { client: 'share', method: 'delete_share' },
        { client: 'file', path: 'p.txt', method: 'get_file_properties', snapshot },
        { client: 'share', method: 'delete_share', kwargs: { delete_snapshots: true } },
      ]);
      expect(results[1]).toEqual({ ok: 'abcdefgh' });
      expect(results[2]).toEqual({ ok: [[{ start: 2, end: 3 }], []] });
      expect((results[3] as { ok: { metadata: unknown; snapshot: string } }).ok).toMatchObject({
        metadata: { by: 'python' },
        snapshot,
      });
      expect(results[4]).toMatchObject({ error: { status: 400, code: 'ShareSnapshotOperationNotSupported' } });
      expect(results[5]).toMatchObject({ error: { status: 409, code: 'ShareHasSnapshots' } });
      expect((results[6] as { ok: { size: number; snapshot: string } }).ok).toMatchObject({ size: 8, snapshot });
      expect(results[7]).toEqual({ ok: null });
    } finally {
      await python.stop();
    }
  });

  it('the projections rebuilt from the log match the live tables, snapshots included', async () => {
    const share = await newShare();
    await share.createSnapshot();
    const client2 = await service.db.connect();
    try {
      expect((await verifyProjections(client2)).differences).toEqual([]);
    } finally {
      client2.release();
    }
  });
});
