// Get File Metadata, List Ranges, Rename File and Directory, and Copy File, through the JS SDK,
// the Python SDK and signed raw requests (where an SDK has no call, or builds a URL the service
// cannot read), against the real service, PostgreSQL and Redis.
import { FileSASPermissions, RestError, ShareClient, ShareFileClient } from '@azure/storage-file-share';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { verifyProjections } from '../../libs/projections/src';
import { AuditedService, startAuditedService } from '../support/audited-service';
import { PythonCall, PythonResult, PythonSdk } from '../support/python';
import { TestService, uniqueShare } from '../support/service';
import { RawResponse, sendRaw } from '../support/signed-request';

const signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
const MiB = 1024 * 1024;

/** On a database of its own: its audit projector must be the one that leads there. */
describe('file operations beyond read and write', () => {
  let audited: AuditedService;
  let service: TestService;
  let pool: Pool;
  let share: ShareClient;
  let shareName: string;
  let python: PythonSdk;

  beforeAll(async () => {
    audited = await startAuditedService('files', 200);
    ({ service, pool } = audited);
    shareName = uniqueShare('files');
    share = service.serviceClient().getShareClient(shareName);
    await share.create();
    python = new PythonSdk(service.url);
  });
  afterAll(async () => {
    await python.stop();
    await audited.stop();
  });
  const catchUp = () => audited.catchUp();

  const wirePath = (path: string) =>
    `/${DEVELOPMENT_ACCOUNT}/${shareName}/${path.split('/').map(encodeURIComponent).join('/')}`;
  const raw = (method: string, path: string, query = '', headers: Record<string, string | undefined> = {}) =>
    sendRaw(service.url, { method, path: wirePath(path), query, headers, signer });
  const dev = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
  const py = (calls: PythonCall[]): Promise<PythonResult[]> => python.batch({ ...dev, share: shareName }, calls);
  /** The events a request recorded: stream, type, data, and who caused it through which request. */
  const eventsOf = async (requestId: string | undefined) =>
    (
      await pool.query(
        `SELECT stream_id, type, data, metadata FROM events WHERE metadata->>'requestId' = $1 ORDER BY position`,
        [requestId],
      )
    ).rows;
  const fileIdOf = async (path: string, kind: 'file' | 'directory' = 'file') =>
    (kind === 'file' ? await raw('HEAD', path) : await raw('GET', path, 'restype=directory')).header('x-ms-file-id');
  const eventCount = async () => Number((await pool.query(`SELECT count(*) FROM events`)).rows[0].count);

  function expectError(res: RawResponse, status: number, code: string): void {
    expect({ status: res.status, code: res.header('x-ms-error-code') }).toEqual({ status, code });
    if (res.body) expect(res.body).toContain(`<Code>${code}</Code>`);
  }

  async function refused(call: Promise<unknown>, status: number, code: string): Promise<void> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RestError);
    expect({
      status: (error as RestError).statusCode,
      code: (error as RestError).code ?? (error as any).details?.errorCode,
    }).toEqual({ status, code });
  }

  async function newFile(path: string, size: number, metadata: Record<string, string> = {}): Promise<ShareFileClient> {
    const file = share.rootDirectoryClient.getFileClient(path);
    await file.create(size, { metadata });
    return file;
  }

  async function leased(path: string): Promise<{ file: ShareFileClient; leaseId: string }> {
    const file = await newFile(path, 16);
    const leaseId = randomUUID();
    await file.getShareLeaseClient(leaseId).acquireLease();
    return { file, leaseId };
  }

  describe('Get File Metadata', () => {
    it('answers GET and HEAD ?comp=metadata with the metadata, ETag and Last-Modified, and records nothing', async () => {
      const file = await newFile('meta.txt', 10, { owner: 'ops', Project: 'Leasehold' });
      const props = await file.getProperties();
      const before = await eventCount();
      for (const method of ['GET', 'HEAD']) {
        const res = await raw(method, 'meta.txt', 'comp=metadata');
        expect(res.status).toBe(200);
        expect(res.header('x-ms-meta-owner')).toBe('ops');
        expect(res.header('x-ms-meta-project')).toBe('Leasehold');
        expect(res.header('etag')).toBe(props.etag);
        expect(res.header('last-modified')).toBe(props.lastModified!.toUTCString());
        expect(res.header('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.body).toBe('');
      }
      expect(await eventCount()).toBe(before);
    });

    it('follows the Lease File read table when a lease id is sent', async () => {
      const { leaseId } = await leased('meta-leased.txt');
      expect((await raw('GET', 'meta-leased.txt', 'comp=metadata')).status).toBe(200);
      expect((await raw('GET', 'meta-leased.txt', 'comp=metadata', { 'x-ms-lease-id': leaseId })).status).toBe(200);
      expectError(
        await raw('GET', 'meta-leased.txt', 'comp=metadata', { 'x-ms-lease-id': randomUUID() }),
        409,
        'LeaseIdMismatchWithFileOperation',
      );
      await newFile('meta-free.txt', 1);
      expectError(
        await raw('GET', 'meta-free.txt', 'comp=metadata', { 'x-ms-lease-id': randomUUID() }),
        412,
        'LeaseNotPresentWithFileOperation',
      );
    });

    it('answers 404 for a missing file and for a directory', async () => {
      expectError(await raw('GET', 'no-such.txt', 'comp=metadata'), 404, 'ResourceNotFound');
      await share.rootDirectoryClient.getDirectoryClient('meta-dir').create();
      expectError(await raw('GET', 'meta-dir', 'comp=metadata'), 404, 'ResourceNotFound');
      expectError(await raw('HEAD', 'no-such.txt', 'comp=metadata'), 404, 'ResourceNotFound');
    });
  });

  describe('List Ranges', () => {
    it('lists exactly the written ranges after writes, zero writes, clears and a resize, whole and within x-ms-range (JS)', async () => {
      const file = await newFile('ranges.bin', 3 * MiB);
      expect((await file.getRangeList()).rangeList).toEqual([]);
      await file.uploadRange(Buffer.alloc(10, 1), 0, 10);
      await file.uploadRange(Buffer.alloc(100, 2), 100, 100);
      // Zeros written are a written range: List Ranges is about writes, not about the bytes.
      await file.uploadRange(Buffer.alloc(10, 0), 500, 10);
      await file.uploadRange(Buffer.alloc(20, 3), MiB - 10, 20);
      // Touching writes merge.
      await file.uploadRange(Buffer.alloc(10, 4), 10, 10);
      await file.clearRange(150, 10);
      const list = await file.getRangeList();
      expect(list.rangeList).toEqual([
        { start: 0, end: 19 },
        { start: 100, end: 149 },
        { start: 160, end: 199 },
        { start: 500, end: 509 },
        { start: MiB - 10, end: MiB + 9 },
      ]);
      expect(list.fileContentLength).toBe(3 * MiB);
      expect(list.etag).toBe((await file.getProperties()).etag);
      expect((await file.getRangeList({ range: { offset: 105, count: 400 } })).rangeList).toEqual([
        { start: 105, end: 149 },
        { start: 160, end: 199 },
        { start: 500, end: 504 },
      ]);
      // A clear of a whole written range removes it; a resize cuts what lies beyond the new end.
      await file.clearRange(500, 10);
      await file.resize(MiB);
      expect((await file.getRangeList()).rangeList).toEqual([
        { start: 0, end: 19 },
        { start: 100, end: 149 },
        { start: 160, end: 199 },
        { start: MiB - 10, end: MiB - 1 },
      ]);
      // Re-creating the file starts with no ranges.
      await file.create(100);
      expect((await file.getRangeList()).rangeList).toEqual([]);
    });

    it('answers the same through the Python SDK, and as XML on the wire', async () => {
      const file = await newFile('ranges-py.bin', 4096);
      await file.uploadRange(Buffer.alloc(512, 7), 512, 512);
      await file.uploadRange(Buffer.alloc(5, 7), 2000, 5);
      const [all, window] = await py([
        { client: 'file', path: 'ranges-py.bin', method: 'get_ranges' },
        { client: 'file', path: 'ranges-py.bin', method: 'get_ranges', kwargs: { offset: 600, length: 1500 } },
      ]);
      expect(all).toEqual({
        ok: [
          { start: 512, end: 1023 },
          { start: 2000, end: 2004 },
        ],
      });
      expect(window).toEqual({
        ok: [
          { start: 600, end: 1023 },
          { start: 2000, end: 2004 },
        ],
      });
      const res = await raw('GET', 'ranges-py.bin', 'comp=rangelist');
      expect(res.status).toBe(200);
      expect(res.header('content-type')).toBe('application/xml');
      expect(res.header('x-ms-content-length')).toBe('4096');
      expect(res.body).toBe(
        '<?xml version="1.0" encoding="utf-8"?><Ranges><Range><Start>512</Start><End>1023</End></Range><Range><Start>2000</Start><End>2004</End></Range></Ranges>',
      );
    });

    it('follows the read table on a leased file, and refuses a bad range or a missing file', async () => {
      const { file, leaseId } = await leased('ranges-leased.bin');
      await file.uploadRange(Buffer.from('ab'), 0, 2, { leaseAccessConditions: { leaseId } });
      expect((await file.getRangeList()).rangeList).toEqual([{ start: 0, end: 1 }]);
      expect((await file.getRangeList({ leaseAccessConditions: { leaseId } })).rangeList).toEqual([
        { start: 0, end: 1 },
      ]);
      await refused(
        file.getRangeList({ leaseAccessConditions: { leaseId: randomUUID() } }),
        409,
        'LeaseIdMismatchWithFileOperation',
      );
      expectError(
        await raw('GET', 'ranges-leased.bin', 'comp=rangelist', { 'x-ms-range': 'bytes=9-2' }),
        400,
        'InvalidHeaderValue',
      );
      await refused(share.rootDirectoryClient.getFileClient('nope.bin').getRangeList(), 404, 'ResourceNotFound');
    });
  });

  describe('Rename File and Rename Directory', () => {
    const sourceUrl = (path: string) => `${service.url}${wirePath(path)}`;
    const renameRaw = (kind: 'file' | 'directory', from: string, to: string, headers: Record<string, string> = {}) =>
      raw('PUT', to, kind === 'file' ? 'comp=rename' : 'restype=directory&comp=rename', {
        'x-ms-file-rename-source': sourceUrl(from),
        ...headers,
      });
    const leaseHistory = async (path: string) => {
      await catchUp();
      const res = await raw('GET', path, 'comp=leasehistory');
      expect(res.status).toBe(200);
      return JSON.parse(res.body).timeline.map((e: { action: string; leaseId: string; path: string }) => [
        e.action,
        e.leaseId,
        e.path,
      ]);
    };

    it('renames a file through the Python SDK: same FileId, content, metadata; the old path is gone; one NodeRenamed with the request metadata', async () => {
      await share.rootDirectoryClient.getDirectoryClient('moved').create();
      const file = await newFile('py-src.txt', 5, { owner: 'ops' });
      await file.uploadRange(Buffer.from('hello'), 0, 5);
      const fileId = await fileIdOf('py-src.txt');
      const [renamed] = await py([
        { client: 'file', path: 'py-src.txt', method: 'rename_file', kwargs: { new_name: 'moved/Py-Dest.txt' } },
      ]);
      expect(renamed).toEqual({ ok: { url: `${service.accountUrl()}/${shareName}/moved/Py-Dest.txt` } });
      expectError(await raw('HEAD', 'py-src.txt'), 404, 'ResourceNotFound');
      const moved = share.getDirectoryClient('moved').getFileClient('Py-Dest.txt');
      expect((await moved.downloadToBuffer()).toString()).toBe('hello');
      const props = await moved.getProperties();
      expect(props.fileId).toBe(fileId);
      expect(props.metadata).toEqual({ owner: 'ops' });
      const names = [];
      for await (const entry of share.getDirectoryClient('moved').listFilesAndDirectories()) names.push(entry.name);
      expect(names).toEqual(['Py-Dest.txt']);
      const { rows } = await pool.query(
        `SELECT stream_id, type, data, metadata FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1`,
        [`node-${fileId}`],
      );
      expect(rows[0]).toMatchObject({
        type: 'NodeRenamed',
        data: { from: 'py-src.txt', path: 'moved/Py-Dest.txt' },
        metadata: { principal: DEVELOPMENT_ACCOUNT, authentication: 'SharedKey' },
      });
      expect(rows[0].metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('renames through a signed raw request with the documented headers, and answers the new properties', async () => {
      await newFile('raw-src.txt', 3);
      const fileId = await fileIdOf('raw-src.txt');
      const res = await renameRaw('file', 'raw-src.txt', 'raw-dest.txt', { 'x-ms-meta-stage': 'renamed' });
      expect(res.status).toBe(200);
      expect(res.header('x-ms-file-id')).toBe(fileId);
      expect(res.header('etag')).toBe(
        (await share.rootDirectoryClient.getFileClient('raw-dest.txt').getProperties()).etag,
      );
      const events = await eventsOf(res.header('x-ms-request-id'));
      expect(events.map((e) => [e.stream_id, e.type])).toEqual([[`node-${fileId}`, 'NodeRenamed']]);
      expect(events[0].metadata).toMatchObject({
        requestId: res.header('x-ms-request-id'),
        clientRequestId: expect.any(String),
        principal: DEVELOPMENT_ACCOUNT,
      });
      expect((await share.rootDirectoryClient.getFileClient('raw-dest.txt').getProperties()).metadata).toEqual({
        stage: 'renamed',
      });
    });

    it('moves the lease and its fencing epoch with the file: the source lease id is needed, and the lease history is whole', async () => {
      const { file, leaseId } = await leased('leased-src.txt');
      const newId = randomUUID();
      await file.getShareLeaseClient(leaseId).changeLease(newId);
      const epoch = (await raw('HEAD', 'leased-src.txt')).header('x-leasehold-lease-epoch');
      const before = await eventCount();
      const beforeRename = new Date();
      const [missing, wrong] = await py([
        { client: 'file', path: 'leased-src.txt', method: 'rename_file', kwargs: { new_name: 'leased-dest.txt' } },
        {
          client: 'file',
          path: 'leased-src.txt',
          method: 'rename_file',
          kwargs: { new_name: 'leased-dest.txt', source_lease: randomUUID() },
        },
      ]);
      expect(missing).toMatchObject({ error: { status: 412, code: 'LeaseIdMissing' } });
      expect(wrong).toMatchObject({ error: { status: 409, code: 'LeaseIdMismatchWithFileOperation' } });
      expect(await eventCount()).toBe(before);
      const [ok] = await py([
        {
          client: 'file',
          path: 'leased-src.txt',
          method: 'rename_file',
          kwargs: { new_name: 'leased-dest.txt', source_lease: newId },
        },
      ]);
      expect(ok).toHaveProperty('ok');
      const head = await raw('HEAD', 'leased-dest.txt');
      expect([head.header('x-ms-lease-state'), head.header('x-leasehold-lease-epoch')]).toEqual(['leased', epoch]);
      const dest = share.rootDirectoryClient.getFileClient('leased-dest.txt');
      await refused(dest.uploadRange(Buffer.from('x'), 0, 1), 412, 'LeaseIdMissing');
      await dest.uploadRange(Buffer.from('x'), 0, 1, { leaseAccessConditions: { leaseId: newId } });
      await dest.getShareLeaseClient(newId).releaseLease();
      expect(await leaseHistory('leased-dest.txt')).toEqual([
        ['acquired', leaseId, 'leased-src.txt'],
        ['changed', newId, 'leased-src.txt'],
        ['released', newId, 'leased-dest.txt'],
      ]);
      // As of a time before the rename, the file was leased at the old path and nothing was at the new one.
      const asOf = async (path: string) =>
        JSON.parse(
          (await raw('GET', path, `comp=stateasof&at=${encodeURIComponent(beforeRename.toISOString())}`)).body,
        );
      expect(await asOf('leased-src.txt')).toMatchObject({ exists: true, lease: { state: 'leased', leaseId: newId } });
      expect(await asOf('leased-dest.txt')).toMatchObject({ exists: false });
    });

    it('replaces an existing destination only when asked, and a leased one only with its lease id', async () => {
      await newFile('rep-src.txt', 4);
      await newFile('rep-free.txt', 9);
      const [exists] = await py([
        { client: 'file', path: 'rep-src.txt', method: 'rename_file', kwargs: { new_name: 'rep-free.txt' } },
      ]);
      expect(exists).toMatchObject({ error: { status: 409, code: 'ResourceAlreadyExists' } });
      expectError(
        await renameRaw('file', 'rep-src.txt', 'rep-free.txt', { 'x-ms-file-rename-replace-if-exists': 'false' }),
        409,
        'ResourceAlreadyExists',
      );
      const srcId = await fileIdOf('rep-src.txt');
      const replacedId = await fileIdOf('rep-free.txt');
      const replaced = await renameRaw('file', 'rep-src.txt', 'rep-free.txt', {
        'x-ms-file-rename-replace-if-exists': 'true',
      });
      expect(replaced.status).toBe(200);
      expect((await eventsOf(replaced.header('x-ms-request-id'))).map((e) => [e.stream_id, e.type])).toEqual([
        [`node-${replacedId}`, 'FileDeleted'],
        [`node-${srcId}`, 'NodeRenamed'],
      ]);
      const props = await share.rootDirectoryClient.getFileClient('rep-free.txt').getProperties();
      expect([props.fileId, props.contentLength]).toEqual([srcId, 4]);

      await newFile('rep-src2.txt', 2);
      const { leaseId } = await leased('rep-leased.txt');
      const [noId, badId, right] = await py([
        {
          client: 'file',
          path: 'rep-src2.txt',
          method: 'rename_file',
          kwargs: { new_name: 'rep-leased.txt', overwrite: true },
        },
        {
          client: 'file',
          path: 'rep-src2.txt',
          method: 'rename_file',
          kwargs: { new_name: 'rep-leased.txt', overwrite: true, destination_lease: randomUUID() },
        },
        {
          client: 'file',
          path: 'rep-src2.txt',
          method: 'rename_file',
          kwargs: { new_name: 'rep-leased.txt', overwrite: true, destination_lease: leaseId },
        },
      ]);
      expect(noId).toMatchObject({ error: { status: 412, code: 'LeaseIdMissing' } });
      expect(badId).toMatchObject({ error: { status: 409, code: 'LeaseIdMismatchWithFileOperation' } });
      expect(right).toHaveProperty('ok');
      expect((await raw('HEAD', 'rep-leased.txt')).header('x-ms-lease-state')).toBe('available');
    });

    it('is refused with SharingViolation while a handle is open on the file; Force Close Handles unblocks it', async () => {
      await newFile('open-src.txt', 1);
      const opened = await raw('PUT', 'open-src.txt', 'comp=openhandle', { 'x-leasehold-client-ip': '10.0.0.9:445' });
      expect(opened.status).toBe(201);
      const before = await eventCount();
      const [blocked] = await py([
        { client: 'file', path: 'open-src.txt', method: 'rename_file', kwargs: { new_name: 'open-dest.txt' } },
      ]);
      expect(blocked).toMatchObject({ error: { status: 409, code: 'SharingViolation' } });
      expect(await eventCount()).toBe(before);
      const closed = await py([{ client: 'file', path: 'open-src.txt', method: 'close_all_handles' }]);
      expect(closed).toEqual([{ ok: { closed_handles_count: 1, failed_handles_count: 0 } }]);
      const [ok] = await py([
        { client: 'file', path: 'open-src.txt', method: 'rename_file', kwargs: { new_name: 'open-dest.txt' } },
      ]);
      expect(ok).toHaveProperty('ok');
    });

    it('renames a directory with everything below it, unless a handle is open anywhere below; FileIds stay, each moved node records NodeMoved', async () => {
      const dir = share.getDirectoryClient('tree');
      await dir.create();
      await dir.getDirectoryClient('sub').create();
      await dir.getDirectoryClient('sub').getFileClient('deep.txt').create(3);
      await dir.getFileClient('top.txt').create(1);
      const ids = {
        tree: await fileIdOf('tree', 'directory'),
        sub: await fileIdOf('tree/sub', 'directory'),
        deep: await fileIdOf('tree/sub/deep.txt'),
        top: await fileIdOf('tree/top.txt'),
      };
      expect(
        (await raw('PUT', 'tree/sub/deep.txt', 'comp=openhandle', { 'x-leasehold-client-ip': '10.0.0.9:445' })).status,
      ).toBe(201);
      const [blocked] = await py([
        { client: 'directory', path: 'tree', method: 'rename_directory', kwargs: { new_name: 'grove' } },
      ]);
      expect(blocked).toMatchObject({ error: { status: 409, code: 'SharingViolation' } });
      expect(
        (
          await raw('PUT', 'tree', 'comp=forceclosehandles', { 'x-ms-handle-id': '*', 'x-ms-recursive': 'true' })
        ).header('x-ms-number-of-handles-closed'),
      ).toBe('1');
      const res = await renameRaw('directory', 'tree', 'Grove');
      expect(res.status).toBe(200);
      expect(res.header('x-ms-file-id')).toBe(ids.tree);
      expect((await eventsOf(res.header('x-ms-request-id'))).map((e) => [e.stream_id, e.type, e.data.path])).toEqual([
        [`node-${ids.tree}`, 'NodeRenamed', 'Grove'],
        [`node-${ids.sub}`, 'NodeMoved', 'Grove/sub'],
        [`node-${ids.deep}`, 'NodeMoved', 'Grove/sub/deep.txt'],
        [`node-${ids.top}`, 'NodeMoved', 'Grove/top.txt'],
      ]);
      expectError(await raw('GET', 'tree', 'restype=directory'), 404, 'ResourceNotFound');
      expect(await fileIdOf('grove/sub/deep.txt')).toBe(ids.deep);
      expect(await fileIdOf('GROVE/top.txt')).toBe(ids.top);
      expect((await raw('GET', 'grove/sub', 'restype=directory')).header('x-ms-file-parent-id')).toBe(ids.tree);
      const listed = [];
      for await (const entry of share.getDirectoryClient('Grove').listFilesAndDirectories()) listed.push(entry.name);
      expect(listed.sort()).toEqual(['sub', 'top.txt']);
      // A new file below the moved tree goes where the tree now is.
      await share.getDirectoryClient('Grove/sub').getFileClient('later.txt').create(1);
    });

    it('refuses a directory moved into itself, a missing source or destination parent, another share, and a bad source header', async () => {
      await share.getDirectoryClient('self').create();
      await share.getDirectoryClient('self/inner').create();
      const other = uniqueShare('other');
      await service.serviceClient().getShareClient(other).create();
      const before = await eventCount();
      expectError(await renameRaw('directory', 'self', 'self/inner/self'), 400, 'InvalidResourceName');
      expectError(await renameRaw('file', 'no-such.txt', 'x.txt'), 404, 'ResourceNotFound');
      expectError(await renameRaw('directory', 'self', 'no-parent/self'), 404, 'ParentNotFound');
      expectError(await renameRaw('file', 'self', 'self-file'), 404, 'ResourceNotFound');
      expectError(
        await raw('PUT', 'x.txt', 'comp=rename', {
          'x-ms-file-rename-source': `${service.url}/${DEVELOPMENT_ACCOUNT}/${other}/a.txt`,
        }),
        400,
        'InvalidHeaderValue',
      );
      expectError(
        await raw('PUT', 'x.txt', 'comp=rename', {
          'x-ms-file-rename-source': `${service.url}/someoneelse/${shareName}/a.txt`,
        }),
        400,
        'InvalidHeaderValue',
      );
      expectError(
        await raw('PUT', 'x.txt', 'comp=rename', { 'x-ms-file-rename-source': 'http://[bad' }),
        400,
        'InvalidHeaderValue',
      );
      expectError(await raw('PUT', 'x.txt', 'comp=rename'), 400, 'MissingRequiredHeader');
      expectError(
        await renameRaw('file', 'self', 'x.txt', { 'x-ms-file-rename-replace-if-exists': 'maybe' }),
        400,
        'InvalidHeaderValue',
      );
      expect(await eventCount()).toBe(before);
    });

    it('races: a directory rename against handles opening below it, and two renames of one file, never both win', async () => {
      for (let round = 0; round < 6; round++) {
        const dir = `race${round}`;
        await share.getDirectoryClient(dir).create();
        await share.getDirectoryClient(dir).getFileClient('f.txt').create(1);
        const opens = Array.from({ length: 6 }, () =>
          raw('PUT', `${dir}/f.txt`, 'comp=openhandle', { 'x-leasehold-client-ip': '10.0.0.9:445' }),
        );
        const [renamed, ...opened] = await Promise.all([renameRaw('directory', dir, `${dir}-moved`), ...opens]);
        const handles = opened.filter((r) => r.status === 201).length;
        // Either the rename went first (every open then finds no file) or a handle did (and the rename is refused).
        if (renamed.status === 200) expect(opened.map((r) => r.status)).toEqual(opened.map(() => 404));
        else
          expect([renamed.status, renamed.header('x-ms-error-code'), handles > 0]).toEqual([
            409,
            'SharingViolation',
            true,
          ]);
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM handles WHERE node_key = $1`, [
          `${dir}/f.txt`,
        ]);
        expect(rows[0].n).toBe(handles);

        await newFile(`one${round}.txt`, 1);
        const id = await fileIdOf(`one${round}.txt`);
        const both = await Promise.all([
          renameRaw('file', `one${round}.txt`, `left${round}.txt`),
          renameRaw('file', `one${round}.txt`, `right${round}.txt`),
        ]);
        expect(both.map((r) => r.status).sort()).toEqual([200, 404]);
        const at = await Promise.all(
          [`left${round}.txt`, `right${round}.txt`, `one${round}.txt`].map((p) => fileIdOf(p)),
        );
        expect(at.filter((x) => x === id)).toHaveLength(1);
      }
    });

    it("the JS SDK 12.x's rename() leaves the account out of the destination URL on path-style endpoints, so it cannot reach the service", async () => {
      const file = await newFile('js-src.txt', 1);
      await refused(file.rename('js-dest.txt'), 403, 'AuthenticationFailed');
      expect((await file.getProperties()).contentLength).toBe(1);
    });
  });

  describe('Copy File and Abort Copy File', () => {
    const urlOf = (path: string) => `${service.url}${wirePath(path)}`;

    async function sourceFile(path: string): Promise<ShareFileClient> {
      const file = share.rootDirectoryClient.getFileClient(path);
      await file.create(3 * MiB, {
        metadata: { origin: 'source' },
        fileHttpHeaders: { fileContentType: 'text/csv', fileCacheControl: 'no-cache' },
      });
      await file.uploadRange(Buffer.alloc(100, 'a'), 0, 100);
      await file.uploadRange(Buffer.alloc(2 * MiB, 'b'), MiB - 50, 2 * MiB);
      return file;
    }

    it('copies bytes, written ranges, properties and metadata at once (JS); the destination tells the copy; one FileCreated with the copy and the request metadata', async () => {
      const source = await sourceFile('copy-src.bin');
      const dest = share.rootDirectoryClient.getFileClient('copy-dest.bin');
      const started = await dest.startCopyFromURL(source.url);
      expect(started.copyStatus).toBe('success');
      expect(started.copyId).toMatch(/^[0-9a-f-]{36}$/);
      expect((await dest.downloadToBuffer()).equals(await source.downloadToBuffer())).toBe(true);
      expect((await dest.getRangeList()).rangeList).toEqual((await source.getRangeList()).rangeList);
      const props = await dest.getProperties();
      expect(props).toMatchObject({
        contentLength: 3 * MiB,
        contentType: 'text/csv',
        cacheControl: 'no-cache',
        metadata: { origin: 'source' },
        copyId: started.copyId,
        copyStatus: 'success',
        copySource: source.url,
        copyProgress: `${3 * MiB}/${3 * MiB}`,
      });
      expect(props.copyCompletedOn).toBeInstanceOf(Date);
      expect(props.fileId).not.toBe((await source.getProperties()).fileId);
      const events = await eventsOf(started.requestId);
      expect(events.map((e) => [e.stream_id, e.type])).toEqual([[`node-${props.fileId}`, 'FileCreated']]);
      expect(events[0].data.copy).toMatchObject({ id: started.copyId, source: source.url });
      expect(events[0].metadata).toMatchObject({
        requestId: started.requestId,
        principal: DEVELOPMENT_ACCOUNT,
        authentication: 'SharedKey',
      });
      // Set File Properties ends what the destination says about the copy, as in Azure.
      await dest.setHttpHeaders({ fileContentType: 'text/plain' });
      expect((await dest.getProperties()).copyId).toBeUndefined();
    });

    it('takes the metadata the request gives, copies over an existing file and across shares (Python)', async () => {
      await sourceFile('copy-py-src.bin');
      const other = uniqueShare('copyto');
      await service.serviceClient().getShareClient(other).create();
      const results = await python.batch({ ...dev, share: other }, [
        {
          client: 'file',
          path: 'meta-py.bin',
          method: 'start_copy_from_url',
          kwargs: { source_url: urlOf('copy-py-src.bin'), metadata: { stage: 'copied' } },
        },
        { client: 'file', path: 'meta-py.bin', method: 'get_file_properties' },
        {
          client: 'file',
          path: 'from-py.bin',
          method: 'start_copy_from_url',
          kwargs: { source_url: urlOf('copy-py-src.bin') },
        },
        {
          client: 'file',
          path: 'from-py.bin',
          method: 'start_copy_from_url',
          kwargs: { source_url: urlOf('copy-py-src.bin') },
        },
        { client: 'file', path: 'from-py.bin', method: 'get_file_properties' },
      ]);
      const [withMeta, withMetaProps, first, second, props] = results.map((r) => (r as { ok: any }).ok);
      expect(results.every((r) => 'ok' in r)).toBe(true);
      expect(withMeta).toMatchObject({ copy_status: 'success', copy_id: expect.any(String) });
      expect(withMetaProps.metadata).toEqual({ stage: 'copied' });
      expect(second.copy_id).not.toBe(first.copy_id);
      expect(props).toMatchObject({
        size: 3 * MiB,
        metadata: { origin: 'source' },
        copy: { status: 'success', id: second.copy_id },
      });
    });

    it("is gated by the destination's lease, never by the source's", async () => {
      const { file: leasedSource, leaseId: sourceLease } = await leased('copy-leased-src.txt');
      await leasedSource.uploadRange(Buffer.from('lease'), 0, 5, { leaseAccessConditions: { leaseId: sourceLease } });
      const { file: dest, leaseId } = await leased('copy-leased-dest.txt');
      const before = await eventCount();
      await refused(dest.startCopyFromURL(leasedSource.url), 412, 'LeaseIdMissing');
      await refused(
        dest.startCopyFromURL(leasedSource.url, { leaseAccessConditions: { leaseId: randomUUID() } }),
        409,
        'LeaseIdMismatchWithFileOperation',
      );
      expect(await eventCount()).toBe(before);
      expect((await dest.startCopyFromURL(leasedSource.url, { leaseAccessConditions: { leaseId } })).copyStatus).toBe(
        'success',
      );
      expect((await dest.downloadToBuffer()).subarray(0, 5).toString()).toBe('lease');
      expect((await dest.getProperties()).leaseState).toBe('leased');
    });

    it('answers 404 CannotVerifyCopySource for a missing source, a directory, or a missing share', async () => {
      const dest = share.rootDirectoryClient.getFileClient('copy-none.txt');
      const before = await eventCount();
      await refused(dest.startCopyFromURL(urlOf('no-such-source.txt')), 404, 'CannotVerifyCopySource');
      await share.getDirectoryClient('copy-a-dir').create();
      const afterDir = await eventCount();
      await refused(dest.startCopyFromURL(urlOf('copy-a-dir')), 404, 'CannotVerifyCopySource');
      await refused(
        dest.startCopyFromURL(`${service.url}/${DEVELOPMENT_ACCOUNT}/no-such-share/x.txt`),
        404,
        'CannotVerifyCopySource',
      );
      expect(await eventCount()).toBe(afterDir);
      expect(afterDir).toBe(before + 1);
      expectError(
        await raw('PUT', 'copy-none.txt', '', { 'x-ms-copy-source': `${service.url}/otheraccount/${shareName}/x.txt` }),
        400,
        'InvalidHeaderValue',
      );
      expectError(
        await raw('PUT', 'copy-none.txt', '', { 'x-ms-copy-source': 'http://[broken' }),
        400,
        'InvalidHeaderValue',
      );
    });

    it('under a SAS, reads the source only with a SAS on its URL that grants read', async () => {
      await newFile('sas-src.txt', 4);
      const expiresOn = new Date(Date.now() + 3600_000);
      const sasFor = (path: string, permissions: string, ipRange?: { start: string; end?: string }) =>
        share.rootDirectoryClient
          .getFileClient(path)
          .generateSasUrl({ permissions: FileSASPermissions.parse(permissions), expiresOn, ipRange });
      const destUnderSas = new ShareFileClient(sasFor('sas-dest.txt', 'cw'), undefined, {
        retryOptions: { maxTries: 1 },
      });
      const before = await eventCount();
      await refused(destUnderSas.startCopyFromURL(urlOf('sas-src.txt')), 403, 'CannotVerifyCopySource');
      await refused(destUnderSas.startCopyFromURL(sasFor('sas-src.txt', 'w')), 403, 'CannotVerifyCopySource');
      await refused(
        destUnderSas.startCopyFromURL(sasFor('other.txt', 'r').replace('other.txt', 'sas-src.txt')),
        403,
        'CannotVerifyCopySource',
      );
      // The source's SAS binds the address that uses it, as when it is used on its own.
      await refused(
        destUnderSas.startCopyFromURL(sasFor('sas-src.txt', 'r', { start: '10.0.0.1', end: '10.255.255.255' })),
        403,
        'CannotVerifyCopySource',
      );
      expect(await eventCount()).toBe(before);
      expect((await destUnderSas.startCopyFromURL(sasFor('sas-src.txt', 'r', { start: '127.0.0.1' }))).copyStatus).toBe(
        'success',
      );
      expect((await destUnderSas.startCopyFromURL(sasFor('sas-src.txt', 'r'))).copyStatus).toBe('success');
      // With Shared Key, a source SAS is still checked when present.
      await refused(
        share.rootDirectoryClient.getFileClient('sas-dest2.txt').startCopyFromURL(sasFor('sas-src.txt', 'w')),
        403,
        'CannotVerifyCopySource',
      );
    });

    it('Abort Copy File answers 409 NoPendingCopyOperation once the copy is done (JS and Python), and checks its input', async () => {
      const source = await newFile('abort-src.txt', 2);
      const dest = share.rootDirectoryClient.getFileClient('abort-dest.txt');
      const { copyId } = await dest.startCopyFromURL(source.url);
      await refused(dest.abortCopyFromURL(copyId!), 409, 'NoPendingCopyOperation');
      const [aborted] = await py([
        { client: 'file', path: 'abort-dest.txt', method: 'abort_copy', kwargs: { copy_id: copyId } },
      ]);
      expect(aborted).toMatchObject({ error: { status: 409, code: 'NoPendingCopyOperation' } });
      expectError(
        await raw('PUT', 'abort-dest.txt', 'comp=copy', { 'x-ms-copy-action': 'abort' }),
        400,
        'MissingRequiredQueryParameter',
      );
      expectError(
        await raw('PUT', 'abort-dest.txt', `comp=copy&copyid=${copyId}`, { 'x-ms-copy-action': 'stop' }),
        400,
        'InvalidHeaderValue',
      );
      expectError(
        await raw('PUT', 'abort-dest.txt', 'comp=copy&copyid=nope', { 'x-ms-copy-action': 'abort' }),
        400,
        'InvalidQueryParameterValue',
      );
      expectError(
        await raw('PUT', 'abort-none.txt', `comp=copy&copyid=${copyId}`, { 'x-ms-copy-action': 'abort' }),
        404,
        'ResourceNotFound',
      );
    });
  });

  describe('after all of the above', () => {
    it('leaves the projections equal to a rebuild from the log', async () => {
      // It runs last: the renames and copies above are in the log it rebuilds from.
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM events WHERE type IN ('NodeRenamed', 'NodeMoved') OR data ? 'copy'`,
      );
      expect(rows[0].n).toBeGreaterThan(10);
      const client = await pool.connect();
      try {
        expect((await verifyProjections(client)).differences).toEqual([]);
      } finally {
        client.release();
      }
    });
  });
});
