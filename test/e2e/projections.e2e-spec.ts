import { FileSASPermissions, RestError, ShareClient } from '@azure/storage-file-share';
import fc from 'fast-check';
import { randomUUID } from 'crypto';
import { ClientBase, Pool, PoolClient } from 'pg';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { migrateDatabase } from '../../libs/event-store/src';
import { HANDLE_CLOSURE_STREAM_PREFIX, HandlesForceClosed } from '../../libs/handles/src';
import { rebuildProjections, verifyProjections } from '../../libs/projections/src';
import { startTestService, TestService, uniqueShare } from '../support/service';
import { sendRaw } from '../support/signed-request';

/**
 * Projections are derivable from the log: whatever commands run, the live current-state tables
 * equal a rebuild from the events. This suite has a database of its own, so that what other suites
 * do to theirs cannot blur what it checks.
 */
describe('projections rebuilt from the event log', () => {
  const databaseUrl = `${process.env.LEASEHOLD_TEST_DATABASE_URL}_projections`;
  let service: TestService;
  let pool: Pool;
  let client: PoolClient;

  beforeAll(async () => {
    await migrateDatabase(databaseUrl);
    service = await startTestService({ DATABASE_URL: databaseUrl });
    pool = new Pool({ connectionString: databaseUrl, max: 2 });
    client = await pool.connect();
  });
  afterAll(async () => {
    client.release();
    await pool.end();
    await service.stop();
    const admin = new Pool({ connectionString: databaseUrl.replace(/\/[^/]+$/, '/postgres'), max: 1 });
    await admin.query(`DROP DATABASE IF EXISTS "${databaseUrl.split('/').pop()}" WITH (FORCE)`);
    await admin.end();
  });

  const open = (share: string, path: string, access = 'Read') =>
    sendRaw(service.url, {
      method: 'PUT',
      path: `/${DEVELOPMENT_ACCOUNT}/${share}/${path}`,
      query: 'comp=openhandle',
      headers: { 'x-leasehold-client-ip': '10.1.2.3:445', 'x-leasehold-access': access },
      signer: { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY },
    });

  /** A share with a file and `count` handles open on it: the share's id and the handles' ids. */
  async function openHandles(count: number): Promise<{ shareId: string; handleIds: string[] }> {
    const share = service.serviceClient().getShareClient(uniqueShare('closure'));
    await share.create();
    await share.rootDirectoryClient.getFileClient('f').create(1);
    for (let i = 0; i < count; i++) expect((await open(share.name, 'f')).status).toBe(201);
    const { rows } = await client.query<{ share_id: string; handle_id: string }>(
      `SELECT h.share_id::text, h.handle_id::text FROM handles h JOIN shares s USING (tenant, share_id)
       WHERE s.tenant = $1 AND s.name = $2 ORDER BY h.handle_id`,
      [DEVELOPMENT_ACCOUNT, share.name],
    );
    expect(rows).toHaveLength(count);
    return { shareId: rows[0].share_id, handleIds: rows.map((r) => r.handle_id) };
  }

  /**
   * A force close as Force Close Handles records it: the handles' rows deleted and one
   * HandlesForceClosed appended, on a closure stream, in one statement; `keepRows` leaves the rows.
   */
  const forceClose = (db: ClientBase, tenant: string, shareId: string, handleIds: string[], keepRows = false) => {
    const data: HandlesForceClosed = {
      shareId,
      path: '',
      recursive: true,
      handleIds,
      last: { nodeKey: 'f', handleId: handleIds[handleIds.length - 1] },
    };
    return db.query(
      `WITH closed AS (DELETE FROM handles WHERE NOT $5 AND tenant = $1 AND handle_id = ANY($3::bigint[]))
       INSERT INTO events (tenant, stream_id, stream_version, event_id, type, data, metadata)
       VALUES ($1, $2, 1, gen_random_uuid(), 'HandlesForceClosed', $4, '{}')`,
      [tenant, `${HANDLE_CLOSURE_STREAM_PREFIX}${randomUUID()}`, handleIds, data, keepRows],
    );
  };

  const openHandleIds = async (shareId: string) =>
    (
      await client.query<{ handle_id: string }>(
        `SELECT handle_id::text FROM handles WHERE share_id = $1 ORDER BY handle_id`,
        [shareId],
      )
    ).rows.map((r) => r.handle_id);

  /** One random step against a small tree; refusals are part of the game, a 5xx is not. */
  const step = fc.oneof(
    fc.record({ op: fc.constantFrom('mkdir', 'rmdir', 'dirmeta'), dir: fc.constantFrom('a', 'b', 'a/c') }),
    fc.record({
      op: fc.constantFrom('sharemeta', 'sharequota', 'sharetier', 'shareacl', 'cors', 'snapshot', 'unsnapshot'),
      value: fc.integer({ min: 1, max: 6 }),
    }),
    // Lease Share: the share row's lease columns are projected too.
    fc.record({
      op: fc.constantFrom('share-acquire', 'share-renew', 'share-change', 'share-release', 'share-break'),
      lease: fc.constantFrom('11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222'),
      duration: fc.constantFrom(-1, 15, 60),
      breakPeriod: fc.constantFrom(undefined, 0, 5),
    }),
    fc.record({
      op: fc.constant('renamedir'),
      dir: fc.constantFrom('a', 'b', 'a/c'),
      to: fc.constantFrom('a', 'b', 'b/c', 'A'),
    }),
    fc.record({
      op: fc.constant('renamefile'),
      file: fc.constantFrom('f', 'a/g', 'a/c/h'),
      to: fc.constantFrom('f', 'a/g', 'a/c/h', 'b/f'),
      lease: fc.constantFrom('11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222'),
      replace: fc.boolean(),
    }),
    fc.record({
      op: fc.constantFrom(
        'create',
        'write',
        'copyrange',
        'meta',
        'resize',
        'delete',
        'acquire',
        'change',
        'release',
        'break',
        'open',
        'openw',
        'closeall',
        'copy',
      ),
      file: fc.constantFrom('f', 'a/g', 'a/c/h'),
      lease: fc.constantFrom('11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222'),
      withLease: fc.boolean(),
    }),
  );

  async function run(share: ShareClient, s: any): Promise<void> {
    const dir = (p: string) =>
      p.includes('/') ? share.getDirectoryClient(p.slice(0, p.lastIndexOf('/'))) : share.rootDirectoryClient;
    const file = s.file ? dir(s.file).getFileClient(s.file.split('/').pop()) : undefined;
    const conditions = s.withLease ? { leaseAccessConditions: { leaseId: s.lease } } : {};
    const name = share.name;
    try {
      switch (s.op) {
        case 'share-acquire':
          return void (await share.getShareLeaseClient(s.lease).acquireLease(s.duration));
        // ShareLeaseClient.renewLease() refuses shares before sending (see share-lease.e2e-spec.ts): the SDK's generated operation.
        case 'share-renew':
          return void (await (share as any).context.renewLease(s.lease, {}));
        case 'share-change':
          return void (await share.getShareLeaseClient(s.lease).changeLease('33333333-3333-3333-3333-333333333333'));
        case 'share-release':
          return void (await share.getShareLeaseClient(s.lease).releaseLease());
        case 'share-break':
          return void (await share.getShareLeaseClient().breakLease({ breakPeriod: s.breakPeriod } as object));
        case 'mkdir':
          return void (await share.getDirectoryClient(s.dir).create());
        case 'rmdir':
          return void (await share.getDirectoryClient(s.dir).delete());
        case 'dirmeta':
          return void (await share.getDirectoryClient(s.dir).setMetadata({ n: String(Math.random()) }));
        case 'create':
          return void (await file!.create(8, conditions));
        case 'write':
          return void (await file!.uploadRange(Buffer.from('abcd'), 0, 4, conditions));
        case 'copyrange': {
          const source = share.rootDirectoryClient.getFileClient('f');
          const sas = source.generateSasUrl({
            permissions: FileSASPermissions.parse('r'),
            expiresOn: new Date(Date.now() + 3600_000),
          });
          return void (await file!.uploadRangeFromURL(sas, 0, 4, 4, conditions));
        }
        case 'sharemeta':
          return void (await share.setMetadata({ v: String(s.value) }));
        case 'sharequota':
          return void (await share.setQuota(s.value));
        case 'sharetier':
          return void (await share.setProperties({
            accessTier: (['Hot', 'Cool', 'TransactionOptimized'] as const)[s.value % 3],
          }));
        case 'shareacl':
          return void (await share.setAccessPolicy(
            Array.from({ length: s.value - 1 }, (_, i) => ({
              id: `p${i}`,
              accessPolicy: { permissions: 'r' },
            })) as never,
          ));
        // Share snapshots live in the share's row: taken, and the oldest deleted.
        case 'snapshot':
          return void (await share.createSnapshot(s.value % 2 ? { metadata: { v: String(s.value) } } : {}));
        case 'unsnapshot': {
          for await (const listed of service.serviceClient().listShares({ prefix: name, includeSnapshots: true }))
            if (listed.snapshot) return void (await share.withSnapshot(listed.snapshot).delete());
          return;
        }
        case 'cors': {
          const rules = Array.from({ length: s.value - 1 }, (_, i) => ({
            allowedOrigins: `https://o${i}.example`,
            allowedMethods: 'GET',
            allowedHeaders: '',
            exposedHeaders: '',
            maxAgeInSeconds: i,
          }));
          return void (await service.serviceClient().setProperties({ cors: rules }));
        }
        case 'meta':
          return void (await file!.setMetadata({ m: 'v' }, conditions));
        case 'resize':
          return void (await file!.resize(4, conditions));
        case 'delete':
          return void (await file!.delete(conditions));
        case 'acquire':
          return void (await file!.getShareLeaseClient(s.lease).acquireLease());
        case 'change':
          return void (await file!.getShareLeaseClient(s.lease).changeLease('33333333-3333-3333-3333-333333333333'));
        case 'release':
          return void (await file!.getShareLeaseClient(s.lease).releaseLease());
        case 'break':
          return void (await file!.getShareLeaseClient().breakLease());
        case 'open':
        case 'openw': {
          const res = await open(name, s.file, s.op === 'openw' ? 'Read,Write' : 'Read');
          expect(res.status).toBeLessThan(500);
          return;
        }
        case 'copy':
          return void (await file!.startCopyFromURL(`${share.url}/f`, conditions));
        case 'renamedir':
        case 'renamefile': {
          const from = s.op === 'renamedir' ? s.dir : s.file;
          const res = await sendRaw(service.url, {
            method: 'PUT',
            path: `/${DEVELOPMENT_ACCOUNT}/${name}/${s.to}`,
            query: s.op === 'renamedir' ? 'restype=directory&comp=rename' : 'comp=rename',
            headers: {
              'x-ms-file-rename-source': `${service.url}/${DEVELOPMENT_ACCOUNT}/${name}/${from}`,
              'x-ms-file-rename-replace-if-exists': String(s.replace ?? false),
              ...(s.lease ? { 'x-ms-source-lease-id': s.lease, 'x-ms-destination-lease-id': s.lease } : {}),
            },
            signer: { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY },
          });
          expect(res.status).toBeLessThan(500);
          return;
        }
        case 'closeall':
          return void (await share.rootDirectoryClient.forceCloseAllHandles({ recursive: true }));
      }
    } catch (error) {
      if (!(error instanceof RestError) || (error.statusCode ?? 500) >= 500) throw error;
    }
  }

  it('leaves the live projections equal to a rebuild, whatever random commands ran', async () => {
    const service_ = service.serviceClient();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 30 }), fc.boolean(), async (steps, deleteShare) => {
        const share = service_.getShareClient(uniqueShare('prop'));
        await share.create();
        for (const s of steps) await run(share, s);
        if (deleteShare)
          await share.delete({ deleteSnapshots: 'include' }).catch(() =>
            share
              .getShareLeaseClient()
              .breakLease({ breakPeriod: 0 } as object)
              .then(() => share.delete({ deleteSnapshots: 'include' })),
          );
        const result = await verifyProjections(client);
        expect(result.differences).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it('finds a live row that the log does not explain, and a rebuild puts it right', async () => {
    const share = service.serviceClient().getShareClient(uniqueShare('tamper'));
    await share.create();
    const file = share.rootDirectoryClient.getFileClient('leased');
    await file.create(1);
    await file.getShareLeaseClient().acquireLease();

    await service.serviceClient().setProperties({
      cors: [
        { allowedOrigins: '*', allowedMethods: 'GET', allowedHeaders: '', exposedHeaders: '', maxAgeInSeconds: 1 },
      ],
    });
    const leasedShare = service.serviceClient().getShareClient(uniqueShare('tamper'));
    await leasedShare.create();
    await leasedShare.getShareLeaseClient().acquireLease(60);

    await client.query(
      `UPDATE nodes SET lease_state = 'available', lease_id = NULL WHERE path = 'leased' AND lease_state = 'leased'`,
    );
    await client.query(`DELETE FROM shares WHERE name = $1`, [share.name]);
    await client.query(`UPDATE shares SET lease_expires_at = lease_expires_at + interval '1 hour' WHERE name = $1`, [
      leasedShare.name,
    ]);
    await client.query(`UPDATE file_service_properties SET properties = jsonb_set(properties, '{cors}', '[]')`);
    const found = await verifyProjections(client);
    expect(found.differences.map((d) => d.table).sort()).toEqual(['file_service_properties', 'nodes', 'shares']);
    expect(found.differences.find((d) => d.table === 'shares')).toMatchObject({ onlyLive: 1, onlyRebuilt: 2 });
    const nodes = found.differences.find((d) => d.table === 'nodes')!;
    expect(nodes).toMatchObject({ onlyLive: 1, onlyRebuilt: 1 });
    expect(nodes.samples.find((s) => s.side === 'rebuilt')!.row).toMatchObject({
      path: 'leased',
      lease_state: 'leased',
    });

    const rebuilt = await rebuildProjections(client);
    expect(rebuilt.events).toBeGreaterThan(0);
    expect((await verifyProjections(client)).differences).toEqual([]);
    // The service goes on working on the swapped-in tables.
    expect((await file.getProperties()).leaseState).toBe('leased');
    expect((await service.serviceClient().getProperties()).cors).toHaveLength(1);
    expect(await leasedShare.getProperties()).toMatchObject({ leaseState: 'leased', leaseDuration: 'fixed' });
    await share.getDirectoryClient('after-rebuild').create();
    expect((await verifyProjections(client)).differences).toEqual([]);
  });

  it('folds a log that reaches the rebuild in many pieces, every event once', async () => {
    // About 2 MB of one stream's events: the COPY that reads the log arrives in many chunks, and
    // tuples straddle them.
    const share = service.serviceClient().getShareClient(uniqueShare('long'));
    await share.create();
    const dir = share.getDirectoryClient('long');
    await dir.create();
    for (let i = 0; i < 300; i++) await dir.setMetadata({ n: String(i), pad: 'x'.repeat(6000) });
    const [{ n }] = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`)).rows;
    const verified = await verifyProjections(client);
    expect(verified.differences).toEqual([]);
    expect(verified.events).toBe(n);
    const rebuilt = await rebuildProjections(client);
    expect(rebuilt.events).toBe(n);
    expect((await dir.getProperties()).metadata).toEqual({ n: '299', pad: 'x'.repeat(6000) });
  });

  it('swaps in tables with the indexes and constraints of the old ones, under their names', async () => {
    const schema = async () =>
      (
        await client.query<{ definition: string }>(
          `SELECT format('%s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS definition
           FROM pg_constraint WHERE conrelid = ANY($1::regclass[])
           UNION ALL SELECT format('%s %s', indexrelid::regclass, pg_get_indexdef(indexrelid))
           FROM pg_index WHERE indrelid = ANY($1::regclass[]) ORDER BY 1`,
          [['accounts', 'shares', 'file_service_properties', 'nodes', 'handles', 'jobs']],
        )
      ).rows.map((r) => r.definition);
    const before = await schema();
    expect(before.length).toBeGreaterThan(20);
    await rebuildProjections(client);
    expect(await schema()).toEqual(before);
  });

  it('catches up, at the swap, with what was written while the rebuild ran', async () => {
    const share = service.serviceClient().getShareClient(uniqueShare('live'));
    await share.create();
    // Writes keep arriving while rebuilds run; each rebuild must end equal to the log.
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing && i < 500) await share.getDirectoryClient(`d${i++}`).create();
      return i;
    })();
    for (let round = 0; round < 3; round++) await rebuildProjections(client);
    writing = false;
    const written = await writer;
    expect(written).toBeGreaterThan(0);
    expect((await verifyProjections(client)).differences).toEqual([]);
    const listed = [];
    for await (const entry of share.rootDirectoryClient.listFilesAndDirectories()) listed.push(entry.name);
    expect(listed).toHaveLength(written);
  });

  it('leaves out the handles a HandlesForceClosed of their tenant lists, though their streams end at HandleOpened', async () => {
    const { shareId, handleIds } = await openHandles(3);
    await forceClose(client, DEVELOPMENT_ACCOUNT, shareId, handleIds.slice(0, 2));
    // Another tenant's closure closes nothing of this one.
    await forceClose(client, 'someone-else', shareId, handleIds.slice(2), true);
    const { rows: streams } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE tenant = $1 AND stream_id = ANY($2::text[])`,
      [DEVELOPMENT_ACCOUNT, handleIds.map((id) => `handle-${id}`)],
    );
    expect(streams[0].n).toBe(3);

    expect((await verifyProjections(client)).differences).toEqual([]);
    await rebuildProjections(client);
    expect(await openHandleIds(shareId)).toEqual(handleIds.slice(2));
    expect((await verifyProjections(client)).differences).toEqual([]);
  });

  it('finds a handle row that a HandlesForceClosed lists, and a missing one that none does', async () => {
    const { shareId, handleIds } = await openHandles(2);
    await forceClose(client, DEVELOPMENT_ACCOUNT, shareId, [handleIds[0]], true);
    const left = await verifyProjections(client);
    expect(left.differences).toMatchObject([{ table: 'handles', onlyLive: 1, onlyRebuilt: 0 }]);
    expect(left.differences[0].samples).toMatchObject([{ side: 'live', row: { handle_id: Number(handleIds[0]) } }]);

    await client.query(`DELETE FROM handles WHERE handle_id = $1`, [handleIds[1]]);
    const missing = await verifyProjections(client);
    expect(missing.differences).toMatchObject([{ table: 'handles', onlyLive: 1, onlyRebuilt: 1 }]);
    expect(missing.differences[0].samples).toContainEqual({
      side: 'rebuilt',
      row: expect.objectContaining({ handle_id: Number(handleIds[1]) }),
    });

    await rebuildProjections(client);
    expect(await openHandleIds(shareId)).toEqual([handleIds[1]]);
    expect((await verifyProjections(client)).differences).toEqual([]);
  });

  it('catches up, at the swap, with a HandlesForceClosed committed after its first pass', async () => {
    const { shareId, handleIds } = await openHandles(2);
    const closer = await pool.connect();
    try {
      // The close commits while the rebuild waits for the tables at the swap: after its snapshot.
      await closer.query('BEGIN');
      await forceClose(closer, DEVELOPMENT_ACCOUNT, shareId, [handleIds[0]]);
      const rebuilding = rebuildProjections(client);
      for (;;) {
        const { rows } = await closer.query<{ waiting: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'events'::regclass
                          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS waiting`,
        );
        if (rows[0].waiting) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await closer.query('COMMIT');
      expect((await rebuilding).caughtUp).toBeGreaterThanOrEqual(1);
    } finally {
      closer.release();
    }
    expect(await openHandleIds(shareId)).toEqual([handleIds[1]]);
    expect((await verifyProjections(client)).differences).toEqual([]);
  });
});
