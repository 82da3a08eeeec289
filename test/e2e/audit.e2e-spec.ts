import { RestError } from '@azure/storage-file-share';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import {
  AsyncProjector,
  auditProjection,
  AsyncProjection,
  AuditRepository,
  CLIENT_REQUEST_BUCKET,
} from '../../libs/audit/src';
import { ConnectionExecutor, EventStore } from '../../libs/event-store/src';
import { AuditedService, startAuditedService } from '../support/audited-service';
import { TestService, uniqueShare } from '../support/service';
import { breakShareLease, untilDbClock } from '../support/share-lease';
import { sendRaw } from '../support/signed-request';

/** An event's identity without a global number: its stream and version. */
const identity = (e: { streamId: string; streamVersion: number }) => `${e.streamId}@${e.streamVersion}`;

/** What the audit projection prepares for a batch, for projections that wrap it. */
type Inner = Awaited<ReturnType<typeof auditProjection.prepare>>;

/** The audit API and its asynchronous read model, on a database of their own (one projector leads per database). */
describe('audit trail', () => {
  let audited: AuditedService;
  let service: TestService;
  let pool: Pool;
  let store: EventStore;
  let projector: AsyncProjector;
  let other: { name: string; key1: string };

  const signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
  const get = async (path: string, query: string, as = signer) => {
    const res = await sendRaw(service.url, { method: 'GET', path, query, signer: as });
    const type = res.header('content-type') ?? '';
    const body = type.startsWith('application/json') ? JSON.parse(res.body) : res.body;
    return { status: res.status, code: res.header('x-ms-error-code'), body, raw: res.body, type };
  };
  const all = async (path: string, query: string) => {
    const events: any[] = [];
    let marker = '';
    do {
      const page = await get(path, `${query}&maxresults=2${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`);
      expect(page.status).toBe(200);
      events.push(...page.body.events);
      marker = page.body.nextMarker;
    } while (marker);
    return events;
  };
  const catchUp = () => audited.catchUp();
  /** A new share with `count` directories: that many events to apply, after the share's own. */
  const directories = async (tag: string, count: number) => {
    const share = service.serviceClient().getShareClient(uniqueShare(tag));
    await share.create();
    for (let i = 0; i < count; i++) await share.getDirectoryClient(`d${i}`).create();
  };
  /** Every event in the log has exactly one audit row. */
  const expectEachEventAppliedOnce = async () => {
    const counts = await pool.query(
      `SELECT (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM audit_log)::int AS applied,
              (SELECT count(DISTINCT position) FROM audit_log)::int AS distinct_positions`,
    );
    expect(counts.rows[0].applied).toBe(counts.rows[0].events);
    expect(counts.rows[0].distinct_positions).toBe(counts.rows[0].events);
  };

  beforeAll(async () => {
    audited = await startAuditedService('audit', 50);
    ({ service, pool, store, projector } = audited);
    other = await service.createAccount(`audit${randomUUID().slice(0, 8)}`);
  });
  afterAll(() => audited.stop());

  it('answers who held, changed, broke and released a lease, and what the file looked like at any time', async () => {
    const shareName = uniqueShare('audit');
    const share = service.serviceClient().getShareClient(shareName);
    await share.create();
    await share.getDirectoryClient('dir').create();
    const file = share.getDirectoryClient('dir').getFileClient('file.txt');
    await file.create(4);
    const a = '11111111-1111-1111-1111-111111111111';
    const b = '22222222-2222-2222-2222-222222222222';
    const marks: Date[] = [];
    const mark = async () => {
      await new Promise((r) => setTimeout(r, 5));
      marks.push(new Date());
      await new Promise((r) => setTimeout(r, 5));
    };
    await mark(); // 0: before any lease
    await file.getShareLeaseClient(a).acquireLease();
    await mark(); // 1: leased by A
    await file.getShareLeaseClient(a).changeLease(b);
    await mark(); // 2: leased by B
    const opened = await sendRaw(service.url, {
      method: 'PUT',
      path: `/${DEVELOPMENT_ACCOUNT}/${shareName}/dir/file.txt`,
      query: 'comp=openhandle',
      headers: {
        'x-leasehold-client-ip': '10.0.0.9:445',
        'x-leasehold-client-name': 'laptop',
        'x-ms-client-request-id': 'open-1',
      },
      signer,
    });
    expect(opened.status).toBe(201);
    const handleId = opened.header('x-leasehold-handle-id')!;
    await mark(); // 3: a handle open
    await file.getShareLeaseClient().breakLease();
    await file.forceCloseHandle(handleId);
    await mark(); // 4: broken, handle closed
    await file.getShareLeaseClient(b).releaseLease();
    await mark(); // 5: released
    await catchUp();

    const path = `/${DEVELOPMENT_ACCOUNT}/${shareName}/dir/file.txt`;
    const history = await get(path, 'comp=leasehistory');
    expect(history.status).toBe(200);
    expect(history.body.timeline.map((t: any) => [t.action, t.leaseId, t.previousLeaseId ?? null, t.by])).toEqual([
      ['acquired', a, null, DEVELOPMENT_ACCOUNT],
      ['changed', b, a, DEVELOPMENT_ACCOUNT],
      ['broken', b, null, DEVELOPMENT_ACCOUNT],
      ['released', b, null, DEVELOPMENT_ACCOUNT],
    ]);
    expect(history.body.timeline[0].requestId).toMatch(/^[0-9a-f-]{36}$/);
    // Paged: two at a time, continued by a signed marker; a directory has no lease history.
    const first = await get(path, 'comp=leasehistory&maxresults=2');
    expect(first.body.timeline.map((t: any) => t.action)).toEqual(['acquired', 'changed']);
    const second = await get(
      path,
      `comp=leasehistory&maxresults=2&marker=${encodeURIComponent(first.body.nextMarker)}`,
    );
    expect([second.body.timeline.map((t: any) => t.action), second.body.nextMarker]).toEqual([
      ['broken', 'released'],
      '',
    ]);
    const directory = await get(`/${DEVELOPMENT_ACCOUNT}/${shareName}/dir`, 'comp=leasehistory');
    expect([directory.status, directory.code]).toEqual([400, 'InvalidQueryParameterValue']);

    const asOf = async (i: number) =>
      (await get(path, `comp=stateasof&at=${encodeURIComponent(marks[i].toISOString())}`)).body;
    expect((await asOf(0)).lease).toEqual({ state: 'available', epoch: 0 });
    expect((await asOf(1)).lease).toMatchObject({ state: 'leased', leaseId: a, epoch: 1 });
    expect((await asOf(2)).lease).toMatchObject({ state: 'leased', leaseId: b, epoch: 2 });
    const three = await asOf(3);
    expect(three.handles).toEqual([
      expect.objectContaining({ handleId, clientName: 'laptop', clientIp: '10.0.0.9:445' }),
    ]);
    expect(await asOf(4)).toMatchObject({ lease: { state: 'broken', leaseId: b, epoch: 3 }, handles: [] });
    expect((await asOf(5)).lease).toMatchObject({ state: 'available' });
    const before = await get(
      `/${DEVELOPMENT_ACCOUNT}/${shareName}/dir/file.txt`,
      `comp=stateasof&at=2000-01-01T00:00:00Z`,
    );
    expect(before.body).toMatchObject({ exists: false, handles: [] });

    // Queries: by path, by type, by lease id, by handle id, by client request id, by time; both orders; pages.
    const fileEvents = await all(path, 'comp=auditevents&order=asc');
    expect(fileEvents.map((e) => e.type)).toEqual([
      'FileCreated',
      'LeaseAcquired',
      'LeaseChanged',
      'HandleOpened',
      'LeaseBroken',
      'HandlesForceClosed',
      'LeaseReleased',
    ]);
    const desc = await all(path, 'comp=auditevents&order=desc');
    expect(desc.map(identity)).toEqual(fileEvents.map(identity).reverse());
    expect(
      (await all(path, `comp=auditevents&leaseid=${encodeURIComponent(`{${a.toUpperCase()}}`)}`))
        .map((e) => e.type)
        .sort(),
    ).toEqual(['LeaseAcquired']);
    // What closed the handle: the chunk of closes that names it, beside the handle's own events.
    const handleEvents = await all(path, `comp=auditevents&order=asc&handleid=${handleId}`);
    expect(handleEvents.map((e) => e.type)).toEqual(['HandleOpened', 'HandlesForceClosed']);
    expect(handleEvents[1].data).toMatchObject({ handleIds: [handleId], path: 'dir/file.txt', recursive: false });
    expect(
      (await all(`/${DEVELOPMENT_ACCOUNT}`, 'comp=auditevents&clientrequestid=open-1')).map((e) => e.type),
    ).toEqual(['HandleOpened']);
    expect((await all(path, 'comp=auditevents&type=LeaseBroken')).length).toBe(1);
    const window = await all(
      path,
      `comp=auditevents&order=asc&from=${encodeURIComponent(marks[1].toISOString())}&to=${encodeURIComponent(marks[3].toISOString())}`,
    );
    expect(window.map((e) => e.type)).toEqual(['LeaseChanged', 'HandleOpened']);
    const dir = `/${DEVELOPMENT_ACCOUNT}/${shareName}/dir`;
    expect((await all(dir, 'comp=auditevents')).map((e) => e.type)).toEqual(['DirectoryCreated']);
    expect((await all(dir, 'comp=auditevents&recursive=true')).length).toBe(fileEvents.length + 1);
    expect((await all(`/${DEVELOPMENT_ACCOUNT}/${shareName}`, 'comp=auditevents&recursive=true')).length).toBe(
      fileEvents.length + 2,
    );

    // The export streams the same events as NDJSON.
    const exported = await get(`/${DEVELOPMENT_ACCOUNT}/${shareName}`, 'comp=auditexport&recursive=true');
    expect(exported.type).toMatch(/application\/x-ndjson/);
    const lines = exported.raw
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map(identity)).toEqual(
      [...(await all(`/${DEVELOPMENT_ACCOUNT}/${shareName}`, 'comp=auditevents&recursive=true&order=asc'))].map(
        identity,
      ),
    );
  });

  it('finds the chunk that closed a handle when a recursive Force Close of a directory above closed it; the file has no handle as of then', async () => {
    const shareName = uniqueShare('auditrec');
    const share = service.serviceClient().getShareClient(shareName);
    await share.create();
    const top = share.getDirectoryClient('Top');
    await top.create();
    await top.getDirectoryClient('sub').create();
    await top.getDirectoryClient('sub').getFileClient('f.txt').create(1);
    const path = `/${DEVELOPMENT_ACCOUNT}/${shareName}/Top/sub/f.txt`;
    const opened = await sendRaw(service.url, {
      method: 'PUT',
      path,
      query: 'comp=openhandle',
      headers: { 'x-leasehold-client-ip': '10.0.0.7:445', 'x-leasehold-client-name': 'desk' },
      signer,
    });
    expect(opened.status).toBe(201);
    const handleId = opened.header('x-leasehold-handle-id')!;
    const pause = () => new Promise((r) => setTimeout(r, 5));
    await pause();
    const open = new Date();
    await pause();
    expect(await top.forceCloseAllHandles({ recursive: true })).toEqual({
      closedHandlesCount: 1,
      closeFailureCount: 0,
    });
    await pause();
    const closed = new Date();
    await catchUp();

    const asOf = async (at: Date) =>
      (await get(path, `comp=stateasof&at=${encodeURIComponent(at.toISOString())}`)).body;
    expect((await asOf(open)).handles).toEqual([expect.objectContaining({ handleId })]);
    expect((await asOf(closed)).handles).toEqual([]);
    // The chunk's row is at the directory the close was asked on; the handle id finds it from anywhere in the account.
    const events = await all(`/${DEVELOPMENT_ACCOUNT}`, `comp=auditevents&order=asc&handleid=${handleId}`);
    expect(events.map((e) => [e.type, e.path])).toEqual([
      ['HandleOpened', 'Top/sub/f.txt'],
      ['HandlesForceClosed', 'Top'],
    ]);
    expect(events[1].data).toMatchObject({ path: 'Top', recursive: true, handleIds: [handleId] });
    expect((await all(path, 'comp=auditevents')).map((e) => e.type)).not.toContain('HandlesForceClosed');
  });

  it('answers State As Of from a history longer than a page (the fold reads the log in pages)', async () => {
    const shareName = uniqueShare('audit-busy');
    const share = service.serviceClient().getShareClient(shareName);
    await share.create();
    const file = share.rootDirectoryClient.getFileClient('busy.txt');
    await file.create(1);
    // 1 + 2 × 520 events on the file's stream: more than one page of 1,000.
    for (let i = 0; i < 520; i++) {
      const lease = file.getShareLeaseClient();
      await lease.acquireLease();
      await lease.releaseLease();
    }
    const before = new Date();
    await new Promise((r) => setTimeout(r, 5));
    const id = '33333333-3333-3333-3333-333333333333';
    await file.getShareLeaseClient(id).acquireLease();
    await catchUp();
    const path = `/${DEVELOPMENT_ACCOUNT}/${shareName}/busy.txt`;
    const asOf = async (at: Date) =>
      (await get(path, `comp=stateasof&at=${encodeURIComponent(at.toISOString())}`)).body.lease;
    expect(await asOf(before)).toEqual({ state: 'available', epoch: 520 });
    expect(await asOf(new Date())).toEqual({ state: 'leased', leaseId: id, epoch: 521 });
  });

  it("answers who held a share's lease at any instant, across a break period whose end no event records", async () => {
    const shareName = uniqueShare('auditshare');
    const share = service.serviceClient().getShareClient(shareName);
    await share.create();
    const [a, b, c] = [
      '11111111-1111-1111-1111-111111111111',
      '22222222-2222-2222-2222-222222222222',
      '33333333-3333-3333-3333-333333333333',
    ];
    const marks: Date[] = [];
    const mark = async () => {
      await new Promise((r) => setTimeout(r, 5));
      marks.push(new Date());
      await new Promise((r) => setTimeout(r, 5));
    };
    await mark(); // 0: never leased
    await share.getShareLeaseClient(a).acquireLease(-1);
    await mark(); // 1: A
    await share.getShareLeaseClient(a).changeLease(b);
    await mark(); // 2: B
    await breakShareLease(share.getShareLeaseClient(), 1);
    await mark(); // 3: breaking
    const { rows } = await pool.query(
      `SELECT data->>'brokenAt' AS at FROM events WHERE type = 'ShareLeaseBroken' AND data->>'leaseId' = $1 ORDER BY position DESC LIMIT 1`,
      [b],
    );
    await untilDbClock(pool, Date.parse(rows[0].at));
    await mark(); // 4: broken, with nothing recorded at that instant
    await share.getShareLeaseClient(c).acquireLease(15);
    await mark(); // 5: C
    await share.getShareLeaseClient(c).releaseLease();
    await catchUp();

    const root = `/${DEVELOPMENT_ACCOUNT}/${shareName}`;
    const asOf = async (i: number) =>
      (await get(root, `comp=stateasof&at=${encodeURIComponent(marks[i].toISOString())}`)).body.shareLease;
    expect(await asOf(0)).toEqual({ state: 'available', epoch: 0 });
    expect(await asOf(1)).toEqual({ state: 'leased', leaseId: a, epoch: 1 });
    expect(await asOf(2)).toEqual({ state: 'leased', leaseId: b, epoch: 2 });
    expect(await asOf(3)).toEqual({ state: 'breaking', leaseId: b, epoch: 3 });
    expect(await asOf(4)).toEqual({ state: 'broken', leaseId: b, epoch: 3 });
    expect(await asOf(5)).toEqual({ state: 'leased', leaseId: c, epoch: 4 });
    const history = await get(root, 'comp=leasehistory');
    expect(history.body.timeline.map((t: any) => [t.action, t.leaseId, t.epoch ?? null])).toEqual([
      ['acquired', a, 1],
      ['changed', b, 2],
      ['broken', b, 3],
      ['acquired', c, 4],
      ['released', c, null],
    ]);
  });

  it('keeps a cursor correct while new events arrive', async () => {
    const share = service.serviceClient().getShareClient(uniqueShare('cursor'));
    await share.create();
    for (let i = 0; i < 5; i++) await share.getDirectoryClient(`d${i}`).create();
    await catchUp();
    const path = `/${DEVELOPMENT_ACCOUNT}/${share.name}`;
    const first = await get(path, 'comp=auditevents&recursive=true&order=asc&maxresults=3');
    for (let i = 5; i < 8; i++) await share.getDirectoryClient(`d${i}`).create();
    await catchUp();
    const seen = [...first.body.events];
    let marker = first.body.nextMarker;
    while (marker) {
      const page = await get(
        path,
        `comp=auditevents&recursive=true&order=asc&maxresults=3&marker=${encodeURIComponent(marker)}`,
      );
      seen.push(...page.body.events);
      marker = page.body.nextMarker;
    }
    expect(seen.map((e) => e.type)).toEqual(['ShareCreated', ...Array(8).fill('DirectoryCreated')]);
    expect(new Set(seen.map(identity)).size).toBe(seen.length);
    // No global position or sequence: they would tell a tenant how busy the others are.
    expect(seen.filter((e) => 'seq' in e || 'position' in e)).toEqual([]);
  });

  it("never shows one tenant another tenant's events, through any filter or cursor", async () => {
    const share = service.serviceClient().getShareClient(uniqueShare('mine'));
    await share.create();
    await catchUp();
    const theirs = { account: other.name, key: other.key1 };
    const mine = await get(`/${DEVELOPMENT_ACCOUNT}/${share.name}`, 'comp=auditevents&maxresults=1');
    expect(mine.body.events).toHaveLength(1);
    // The other tenant, on its own URL, asking for the same share name, principal and type, sees nothing of ours.
    const res = await get(
      `/${other.name}/${share.name}`,
      `comp=auditevents&principal=${DEVELOPMENT_ACCOUNT}&recursive=true`,
      theirs,
    );
    expect(res.status).toBe(200);
    expect(res.body.events).toEqual([]);
    const everything = await get(`/${other.name}`, 'comp=auditevents&maxresults=1000', theirs);
    expect(everything.body.events.every((e: any) => e.principal !== DEVELOPMENT_ACCOUNT)).toBe(true);
    // Our marker is worthless to them.
    const ours = await get(`/${DEVELOPMENT_ACCOUNT}`, 'comp=auditevents&maxresults=1');
    const stolen = await get(
      `/${other.name}`,
      `comp=auditevents&maxresults=1&marker=${encodeURIComponent(ours.body.nextMarker)}`,
      theirs,
    );
    expect([stolen.status, stolen.code]).toEqual([400, 'InvalidQueryParameterValue']);
    // And signing for our account with their key is refused outright.
    const forged = await get(`/${DEVELOPMENT_ACCOUNT}`, 'comp=auditevents', theirs);
    expect([forged.status, forged.code]).toEqual([403, 'AuthenticationFailed']);
  });

  it('refuses bad filters with Azure errors', async () => {
    for (const query of [
      'leaseid=nope',
      'handleid=x',
      'jobid=1',
      'from=yesterday',
      'order=sideways',
      'maxresults=0',
      'marker=forged.sig',
      'recursive=maybe',
    ]) {
      const res = await get(`/${DEVELOPMENT_ACCOUNT}`, `comp=auditevents&${query}`);
      expect([query, res.status, res.code]).toEqual([query, 400, 'InvalidQueryParameterValue']);
    }
    const noAt = await get(`/${DEVELOPMENT_ACCOUNT}/some-share/x`, 'comp=stateasof');
    expect([noAt.status, noAt.code]).toEqual([400, 'MissingRequiredQueryParameter']);
  });

  it('never skips an event whose transaction commits after a later position', async () => {
    await catchUp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let appended!: () => void;
    const hasAppended = new Promise<void>((r) => (appended = r));
    const early = `early-${randomUUID()}`;
    const late = `late-${randomUUID()}`;
    const metadata = { requestId: 'r', principal: 'p', authentication: 'System' as const };
    const slow = store.transaction(async (sql) => {
      await store.append(
        { tenant: 'ooo', streamId: early, expectedVersion: 0, events: [{ type: 'Early', data: {} }], metadata },
        sql,
      );
      appended();
      await gate;
    });
    try {
      await hasAppended;
      await store.append({
        tenant: 'ooo',
        streamId: late,
        expectedVersion: 0,
        events: [{ type: 'Late', data: {} }],
        metadata,
      });
      await projector.catchUp(); // the late event is committed, but the open transaction holds it back
      const seenWhileOpen = await pool.query(`SELECT stream_id FROM audit_log WHERE tenant = 'ooo'`);
      expect(seenWhileOpen.rows).toEqual([]);
    } finally {
      // Never leave the transaction open: it would hold back every reader in the cluster.
      release();
      await slow;
    }
    await catchUp();
    const seen = await pool.query(`SELECT stream_id, position FROM audit_log WHERE tenant = 'ooo' ORDER BY seq`);
    expect(seen.rows.map((r) => r.stream_id)).toEqual([early, late]);
  });

  it('loses nothing and applies nothing twice when the projector dies mid-batch', async () => {
    await catchUp();
    await directories('crash', 120);
    // A projector whose write writes its rows and then dies, as a process killed mid-batch would.
    let crashes = 0;
    const dying: typeof auditProjection = {
      ...auditProjection,
      write: async (sql, prepared) => {
        await auditProjection.write(sql, prepared);
        crashes++;
        throw new Error('killed mid-batch');
      },
    };
    await projector.resign();
    const doomed = new AsyncProjector(pool, store, dying, 50);
    expect(await doomed.lead()).toBe(true);
    await expect(doomed.runBatch()).rejects.toThrow('killed mid-batch');
    await doomed.resign(true);
    expect(crashes).toBe(1);
    // The dead leader's lock goes when PostgreSQL sees its connection close, a moment later.
    await audited.untilLeads();
    await catchUp();
    await expectEachEventAppliedOnce();
    expect((await projector.lag()).behind).toBe(0);
  });

  it('applies a failed batch again, not the batch it had prepared ahead meanwhile, and plans each statement for itself', async () => {
    await catchUp();
    await directories('ahead', 30);
    // The first write fails after its full batch has started preparing the next one.
    let failures = 0;
    const planning = new Set<string>();
    const plan = async (sql: ConnectionExecutor) => {
      const [{ mode }] = await sql.query<{ mode: string }>(`SELECT current_setting('plan_cache_mode') AS mode`);
      planning.add(mode);
    };
    const failingOnce: typeof auditProjection = {
      name: auditProjection.name,
      prepare: async (sql, events, previous) => {
        await plan(sql);
        return auditProjection.prepare(sql, events, previous);
      },
      write: async (sql, prepared) => {
        if (failures++ === 0) throw new Error('lost the connection');
        await plan(sql);
        await auditProjection.write(sql, prepared);
      },
    };
    await projector.resign();
    const survivor = new AsyncProjector(pool, store, failingOnce, 10);
    try {
      expect(await survivor.lead()).toBe(true);
      await expect(survivor.runBatch()).rejects.toThrow('lost the connection');
      while ((await survivor.runBatch()) > 0);
    } finally {
      await survivor.resign();
    }
    expect(failures).toBeGreaterThan(3);
    await expectEachEventAppliedOnce();
    // No cached generic plan: one made while the read model was empty scans it whole per stream looked up.
    expect([...planning]).toEqual(['force_custom_plan']);
    await audited.untilLeads();
  });

  it('holds each batch to its byte bound, the first event always, and still applies every event once', async () => {
    await catchUp();
    await directories('bytes', 12);
    const batches: number[] = [];
    const recording: AsyncProjection<{ count: number; inner: Inner }> = {
      name: auditProjection.name,
      prepare: async (sql, events, previous) => ({
        count: events.length,
        inner: await auditProjection.prepare(sql, events, previous?.inner),
      }),
      write: async (sql, { count, inner }) => {
        batches.push(count);
        await auditProjection.write(sql, inner);
      },
    };
    await projector.resign();
    // A bound of one byte: every batch is its first event alone, each read ahead of the one before.
    const oneAtATime = new AsyncProjector(pool, store, recording, 5000, 1);
    try {
      expect(await oneAtATime.lead()).toBe(true);
      expect(await oneAtATime.catchUp()).toBe(13);
    } finally {
      await oneAtATime.resign();
    }
    expect(batches).toEqual(Array(13).fill(1));
    await expectEachEventAppliedOnce();
    await audited.untilLeads();
  });

  it('prepares each batch over the writes of the one before, before those are committed', async () => {
    await catchUp();
    const [{ seq: seqBefore }] = (await pool.query(`SELECT coalesce(max(seq), 0)::text AS seq FROM audit_log`)).rows;
    const shareName = uniqueShare('overlap');
    const share = service.serviceClient().getShareClient(shareName);
    await share.create();
    await share.rootDirectoryClient.getFileClient('first.txt').create(0);
    // Raw: the JS SDK's rename() cannot reach a path-style endpoint (file-operations.e2e-spec.ts).
    const renamed = await sendRaw(service.url, {
      method: 'PUT',
      path: `/${DEVELOPMENT_ACCOUNT}/${shareName}/renamed.txt`,
      query: 'comp=rename',
      headers: { 'x-ms-file-rename-source': `${service.url}/${DEVELOPMENT_ACCOUNT}/${shareName}/first.txt` },
      signer,
    });
    expect(renamed.status).toBe(200);
    await share.rootDirectoryClient.getFileClient('renamed.txt').getShareLeaseClient().acquireLease();
    // One event a batch. A batch that learns a place (the share, the file, the rename) is written
    // only once the next batch has been prepared, so that batch cannot have read the place from
    // audit_streams and must have taken it from the batch before.
    let prepared = 0;
    let held = 0;
    const onPrepared = new Set<() => void>();
    const overlapping: AsyncProjection<{ seq: number; inner: Inner }> = {
      name: auditProjection.name,
      prepare: async (sql, events, previous) => {
        const inner = await auditProjection.prepare(sql, events, previous?.inner);
        const seq = prepared++;
        for (const wake of onPrepared) wake();
        return { seq, inner };
      },
      write: async (sql, { seq, inner }) => {
        if (inner.learned.size > 0) {
          held++;
          await new Promise<void>((resolve) => {
            const wake = () => {
              if (prepared < seq + 2) return;
              onPrepared.delete(wake);
              resolve();
            };
            onPrepared.add(wake);
            wake();
          });
        }
        await auditProjection.write(sql, inner);
      },
    };
    await projector.resign();
    const oneByOne = new AsyncProjector(pool, store, overlapping, 1);
    try {
      expect(await oneByOne.lead()).toBe(true);
      await oneByOne.catchUp();
    } finally {
      await oneByOne.resign();
    }
    await audited.untilLeads();
    expect(held).toBeGreaterThanOrEqual(3);
    // Every row this test's requests made, whether or not its place was found.
    const rows = await pool.query(`SELECT type, share, path FROM audit_log WHERE seq > $1 ORDER BY seq`, [seqBefore]);
    expect(rows.rows.length).toBeGreaterThanOrEqual(4);
    expect(rows.rows.filter((r) => r.share !== shareName)).toEqual([]);
    expect(rows.rows.filter((r) => r.type === 'LeaseAcquired')).toEqual([
      { type: 'LeaseAcquired', share: shareName, path: 'renamed.txt' },
    ]);
    await expectEachEventAppliedOnce();
  });

  it('keys its read model by tenant first: the primary key (tenant, seq) and every ordered index lead with the tenant', async () => {
    // docs/scaling.md: the key a table sharded by tenant needs, and no index on seq alone.
    const { rows } = await pool.query<{ name: string; method: string; first: string; columns: string }>(
      `SELECT i.indexrelid::regclass::text AS name, am.amname AS method,
              (SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid AND attnum = i.indkey[0]) AS first,
              (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS columns
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
       WHERE i.indrelid IN ('audit_log'::regclass, 'audit_streams'::regclass) ORDER BY 1`,
    );
    const ordered = rows.filter((r) => r.method === 'btree');
    expect(ordered.length).toBeGreaterThanOrEqual(9);
    expect(ordered.filter((r) => r.first !== 'tenant')).toEqual([]);
    expect(rows.find((r) => r.name === 'audit_log_pkey')?.columns).toBe('tenant,seq');
    expect(rows.map((r) => r.name)).not.toContain('audit_by_tenant');
  });

  it("finds a client request's events in every bucket of seq its index is cut into, with the index's own buckets", async () => {
    const share = service.serviceClient().getShareClient(uniqueShare('buckets'));
    await share.create();
    const requestId = `buckets-${randomUUID()}`;
    const mkdir = async (name: string) => {
      const res = await sendRaw(service.url, {
        method: 'PUT',
        path: `/${DEVELOPMENT_ACCOUNT}/${share.name}/${name}`,
        query: 'restype=directory',
        headers: { 'x-ms-client-request-id': requestId },
        signer,
      });
      expect(res.status).toBe(201);
    };
    await mkdir('early');
    await catchUp();
    // The next rows are numbered across a bucket boundary (2^20 rows a bucket), an empty bucket after the first row's.
    await pool.query(
      `SELECT setval('audit_log_seq_seq', ((SELECT last_value FROM audit_log_seq_seq) / $1 + 3) * $1 - 3)`,
      [CLIENT_REQUEST_BUCKET],
    );
    for (const name of ['a', 'b', 'c', 'd']) await mkdir(name);
    await catchUp();
    const { rows } = await pool.query<{ bucket: string }>(
      `SELECT (seq / $2 - min(seq / $2) OVER ())::text AS bucket FROM audit_log WHERE client_request_id = $1 ORDER BY seq`,
      [requestId, CLIENT_REQUEST_BUCKET],
    );
    expect(rows.map((r) => r.bucket)).toEqual(['0', '2', '2', '3', '3']);

    const found = await all(`/${DEVELOPMENT_ACCOUNT}`, `comp=auditevents&order=asc&clientrequestid=${requestId}`);
    expect(found.map((e) => [e.type, e.path])).toEqual(
      ['early', 'a', 'b', 'c', 'd'].map((name) => ['DirectoryCreated', name]),
    );
    const newest = await all(`/${DEVELOPMENT_ACCOUNT}`, `comp=auditevents&order=desc&clientrequestid=${requestId}`);
    expect(newest.map((e) => e.path)).toEqual(['d', 'c', 'b', 'a', 'early']);

    // The statement the repository sends names the index's buckets as the index does: a planner can
    // use an expression index only for that same expression.
    const sent: { text: string; params: unknown[] }[] = [];
    const recorder = { db: { query: async (text: string, params: unknown[]) => (sent.push({ text, params }), []) } };
    await new AuditRepository(recorder as never).query(
      DEVELOPMENT_ACCOUNT,
      { clientRequestId: requestId },
      'asc',
      undefined,
      10,
    );
    const [index] = (await pool.query(`SELECT pg_get_indexdef('audit_by_client_request'::regclass) AS def`)).rows;
    const divisor = /\(seq \/ (\d+)\)/.exec(index.def)?.[1];
    expect(divisor).toBe(String(CLIENT_REQUEST_BUCKET));
    expect(sent[0].text).toContain(`seq / ${divisor} = ANY(`);
  });

  it('runs as one instance: a second projector cannot lead while the first does', async () => {
    const second = new AsyncProjector(pool, store, auditProjection);
    try {
      expect(await second.lead()).toBe(false);
      await expect(second.runBatch()).rejects.toThrow(/not the leader/);
    } finally {
      await second.resign(); // had it led, its connection would hold up the suite's teardown
    }
  });

  it("answers a file's lease history after a directory has taken its path, and refuses a directory with none", async () => {
    const shareName = uniqueShare('taken');
    const share = service.serviceClient().getShareClient(shareName);
    await share.create();
    const file = share.rootDirectoryClient.getFileClient('spot');
    await file.create(0);
    const lease = file.getShareLeaseClient();
    await lease.acquireLease();
    await lease.releaseLease();
    await file.delete();
    await share.getDirectoryClient('spot').create();
    await share.getDirectoryClient('plain').create();
    await catchUp();
    const taken = await get(`/${DEVELOPMENT_ACCOUNT}/${shareName}/spot`, 'comp=leasehistory');
    expect([taken.status, taken.body.timeline?.map((t: any) => t.action)]).toEqual([200, ['acquired', 'released']]);
    const plain = await get(`/${DEVELOPMENT_ACCOUNT}/${shareName}/plain`, 'comp=leasehistory');
    expect([plain.status, plain.code]).toEqual([400, 'InvalidQueryParameterValue']);
  });

  it('hands the lead to another process the moment it resigns', async () => {
    await projector.resign();
    // Another process's pool: the lock must not stay behind on a connection idle in this one.
    const elsewhere = new Pool({ connectionString: audited.databaseUrl, max: 1 });
    const successor = new AsyncProjector(elsewhere, store, auditProjection);
    try {
      expect(await successor.lead()).toBe(true);
    } finally {
      await successor.resign();
      await elsewhere.end();
    }
    await audited.untilLeads();
  });

  it('is for the account owner only', async () => {
    const err = await service
      .serviceClient()
      .getShareClient(uniqueShare('owner'))
      .create()
      .then(() => undefined)
      .catch((e: RestError) => e);
    expect(err).toBeUndefined();
  });
});
