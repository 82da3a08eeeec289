// Lease Share with sharesnapshot: a snapshot's lease, through the official JS SDK
// (shareClient.withSnapshot(s).getShareLeaseClient()) and the Python SDK (ShareClient(snapshot=…)),
// against the real service and PostgreSQL: every action, independent of the share's lease and of
// the other snapshots', Get Share Properties and List Shares showing it, Delete Share's rules under
// it, the sweeper, retries, the audit trail and the projections rebuilt from the log. On a database
// of its own, so the audit projector can lead there.
import { RestError, ShareClient } from '@azure/storage-file-share';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { ShareLeaseRepository } from '../../libs/filesystem/src';
import { ShareLeaseSweeper } from '../../libs/leases/src';
import { verifyProjections } from '../../libs/projections/src';
import { AuditedService, startAuditedService } from '../support/audited-service';
import { PythonSdk } from '../support/python';
import { eventsOf } from '../support/recorded';
import { TestService, uniqueShare } from '../support/service';
import * as support from '../support/share-lease';
import { sendRaw } from '../support/signed-request';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const ACCOUNT = DEVELOPMENT_ACCOUNT;
const MISSING = '2020-01-01T00:00:00.0000000Z';
const signer = { account: ACCOUNT, key: DEVELOPMENT_KEY };

const { EPOCH_HEADER, leaseOutcome: attempt } = support;

describe('leasing a share snapshot', () => {
  let audited: AuditedService;
  let service: TestService;

  beforeAll(async () => {
    audited = await startAuditedService('snaplease', 50);
    service = audited.service;
  });
  afterAll(() => audited?.stop());

  const db = () => audited.pool;
  const leaseOf = (share: ShareClient, snapshot: string | undefined, id?: string) =>
    (snapshot === undefined ? share : share.withSnapshot(snapshot)).getShareLeaseClient(id);
  const leaseEvents = (share: ShareClient, snapshot?: string) =>
    support.shareEvents(db(), ACCOUNT, share.name, true, snapshot);
  const expectReplayMatches = async (share: ShareClient, snapshot?: string) => {
    const { replayed, projected } = await support.replayedAndProjected(db(), ACCOUNT, share.name, snapshot);
    expect(projected).toEqual(replayed);
    return replayed;
  };
  /** Get Share Properties' lease (of the share, or of a snapshot), and its fencing epoch, which the SDK does not surface. */
  const leaseShown = async (share: ShareClient, snapshot?: string) => {
    const p = await (snapshot === undefined ? share : share.withSnapshot(snapshot)).getProperties();
    const raw = await sendRaw(service.url, {
      method: 'GET',
      path: `/${ACCOUNT}/${share.name}`,
      query: `restype=share${snapshot === undefined ? '' : `&sharesnapshot=${encodeURIComponent(snapshot)}`}`,
      signer,
    });
    return { state: p.leaseState, status: p.leaseStatus, duration: p.leaseDuration, epoch: raw.header(EPOCH_HEADER) };
  };
  /** A share with `count` snapshots, oldest first. */
  const newShare = async (count: number): Promise<{ share: ShareClient; snapshots: string[] }> => {
    const share = service.serviceClient().getShareClient(uniqueShare('snaplease'));
    await share.create();
    const snapshots: string[] = [];
    for (let i = 0; i < count; i++) snapshots.push((await share.createSnapshot()).snapshot!);
    return { share, snapshots };
  };
  const refused = async (call: Promise<unknown>, status: number, code: string) => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RestError);
    expect({ status: (error as RestError).statusCode, code: (error as RestError).code }).toEqual({ status, code });
    expect(await eventsOf(db(), (error as RestError).response?.headers.get('x-ms-request-id'))).toEqual([]);
  };

  it("runs every action on a snapshot's own lease, with the share lease's answers, apart from the share's lease and the other snapshot's", async () => {
    const { share, snapshots } = await newShare(2);
    const [s1, s2] = snapshots;

    expect(await attempt(leaseOf(share, s1, A).acquireLease(60))).toEqual({
      status: 201,
      leaseId: A,
      epoch: '1',
    });
    // The share and the other snapshot are not leased, and each takes a lease of its own.
    expect(await leaseShown(share)).toEqual({
      state: 'available',
      status: 'unlocked',
      duration: undefined,
      epoch: '0',
    });
    expect(await leaseShown(share, s2)).toEqual({
      state: 'available',
      status: 'unlocked',
      duration: undefined,
      epoch: '0',
    });
    expect(await leaseShown(share, s1)).toEqual({ state: 'leased', status: 'locked', duration: 'fixed', epoch: '1' });
    expect(await attempt(leaseOf(share, undefined, B).acquireLease(-1))).toEqual({
      status: 201,
      leaseId: B,
      epoch: '1',
    });
    expect(await attempt(leaseOf(share, s2, C).acquireLease(-1))).toEqual({ status: 201, leaseId: C, epoch: '1' });

    // The state table of the share lease, on the snapshot's lease.
    expect(await attempt(leaseOf(share, s1, B).acquireLease(15))).toEqual({ status: 409, code: 'LeaseAlreadyPresent' });
    expect(await attempt(support.renewShareLease(leaseOf(share, s1, A)))).toEqual({
      status: 200,
      leaseId: A,
      epoch: '1',
    });
    expect(await attempt(support.renewShareLease(leaseOf(share, s1, B)))).toEqual({
      status: 409,
      code: 'LeaseIdMismatchWithLeaseOperation',
    });
    expect(await attempt(leaseOf(share, s1, A).changeLease(C))).toEqual({ status: 200, leaseId: C, epoch: '2' });
    expect(await attempt(leaseOf(share, s1, A).releaseLease())).toEqual({
      status: 409,
      code: 'LeaseIdMismatchWithLeaseOperation',
    });
    // Breaking until the lease would expire (under a minute from now), the period being longer.
    const broken = await attempt(support.breakShareLease(leaseOf(share, s1), 60));
    expect(broken).toMatchObject({ status: 202, leaseId: C, epoch: '3' });
    expect(broken.leaseTime).toBeGreaterThan(0);
    expect(broken.leaseTime).toBeLessThanOrEqual(60);
    expect(await leaseShown(share, s1)).toEqual({
      state: 'breaking',
      status: 'locked',
      duration: undefined,
      epoch: '3',
    });
    expect(await attempt(leaseOf(share, s1, C).acquireLease(15))).toEqual({
      status: 409,
      code: 'LeaseIsBreakingAndCannotBeAcquired',
    });
    expect(await attempt(leaseOf(share, s1, C).changeLease(A))).toEqual({
      status: 409,
      code: 'LeaseIsBreakingAndCannotBeChanged',
    });
    expect(await attempt(leaseOf(share, s1, C).releaseLease())).toEqual({ status: 200, epoch: '3' });
    expect(await leaseShown(share, s1)).toEqual({
      state: 'available',
      status: 'unlocked',
      duration: undefined,
      epoch: '3',
    });
    expect(await attempt(leaseOf(share, s1, A).releaseLease())).toEqual({
      status: 409,
      code: 'LeaseNotPresentWithLeaseOperation',
    });
    // An infinite lease breaks at once without a period.
    expect(await attempt(support.breakShareLease(leaseOf(share, s2)))).toEqual({
      status: 202,
      leaseId: C,
      leaseTime: 0,
      epoch: '2',
    });
    expect(await leaseShown(share, s2)).toEqual({
      state: 'broken',
      status: 'unlocked',
      duration: undefined,
      epoch: '2',
    });

    // Each lease's events, on the share's stream, the snapshot's naming it.
    expect((await leaseEvents(share, s1)).map((e) => [e.type, e.data.snapshot, e.data.epoch ?? null])).toEqual([
      ['ShareLeaseAcquired', s1, 1],
      ['ShareLeaseRenewed', s1, 1],
      ['ShareLeaseChanged', s1, 2],
      ['ShareLeaseBroken', s1, 3],
      ['ShareLeaseReleased', s1, null],
    ]);
    expect((await leaseEvents(share, s2)).map((e) => [e.type, e.data.snapshot])).toEqual([
      ['ShareLeaseAcquired', s2],
      ['ShareLeaseBroken', s2],
    ]);
    expect((await leaseEvents(share)).map((e) => [e.type, e.data.leaseId, e.data.snapshot])).toEqual([
      ['ShareLeaseAcquired', B, undefined],
    ]);
    expect(await leaseShown(share)).toEqual({ state: 'leased', status: 'locked', duration: 'infinite', epoch: '1' });
    expect(await expectReplayMatches(share, s1)).toEqual({ status: 'available', epoch: 3 });
    expect(await expectReplayMatches(share, s2)).toMatchObject({ status: 'broken', leaseId: C, epoch: 2 });
    expect(await expectReplayMatches(share)).toEqual({ status: 'leased', leaseId: B, epoch: 1, duration: -1 });
    // The snapshot is as it was taken: its ETag and Last-Modified are the share's then, unchanged by its lease.
    const created = await share.withSnapshot(s1).getProperties();
    const acquired = await leaseOf(share, s1, A).acquireLease(-1);
    expect([acquired.etag, acquired.lastModified]).toEqual([created.etag, created.lastModified]);
    await share.delete({ deleteSnapshots: 'include-leased', leaseAccessConditions: { leaseId: B } });
  });

  it('answers a snapshot the share does not have with 404 ShareNotFound, as every read with sharesnapshot does', async () => {
    const { share, snapshots } = await newShare(1);
    await refused(leaseOf(share, MISSING, A).acquireLease(-1), 404, 'ShareNotFound');
    await refused(support.breakShareLease(leaseOf(share, MISSING)), 404, 'ShareNotFound');
    await refused(share.withSnapshot(MISSING).getProperties(), 404, 'ShareNotFound');
    await refused(share.withSnapshot(MISSING).delete(), 404, 'ShareNotFound');
    const malformed = await sendRaw(service.url, {
      method: 'PUT',
      path: `/${ACCOUNT}/${share.name}`,
      query: 'restype=share&comp=lease&sharesnapshot=yesterday',
      headers: { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '-1' },
      signer,
    });
    expect([malformed.status, malformed.header('x-ms-error-code')]).toEqual([400, 'InvalidQueryParameterValue']);
    // Bad input is refused as for the share's own lease.
    await refused(leaseOf(share, snapshots[0], A).acquireLease(10), 400, 'InvalidHeaderValue');
    await share.delete({ deleteSnapshots: 'include' });
  });

  it('Delete Share with sharesnapshot: a leased snapshot goes only with its lease id; the others and the share stay', async () => {
    const { share, snapshots } = await newShare(3);
    const [s1, s2, s3] = snapshots;
    await leaseOf(share, s1, A).acquireLease(-1);
    await leaseOf(share, s3, B).acquireLease(15);
    await support.breakShareLease(leaseOf(share, s3), 0);
    const at = (s: string) => share.withSnapshot(s);
    // The 412s Delete Share answers for a leased share.
    await refused(at(s1).delete(), 412, 'LeaseIdMissing');
    await refused(at(s1).delete({ leaseAccessConditions: { leaseId: B } }), 412, 'LeaseIdMismatchWithShareOperation');
    await refused(at(s2).delete({ leaseAccessConditions: { leaseId: A } }), 412, 'LeaseNotPresentWithShareOperation');
    // A broken lease protects nothing.
    await refused(at(s3).delete({ leaseAccessConditions: { leaseId: B } }), 412, 'LeaseNotPresentWithShareOperation');
    expect((await at(s1).delete({ leaseAccessConditions: { leaseId: A } }))._response.status).toBe(202);
    expect((await at(s3).delete())._response.status).toBe(202);
    await refused(at(s1).getProperties(), 404, 'ShareNotFound');
    await refused(leaseOf(share, s1, A).releaseLease(), 404, 'ShareNotFound');
    const listed: Array<string | undefined> = [];
    for await (const s of service.serviceClient().listShares({ prefix: share.name, includeSnapshots: true }))
      listed.push(s.snapshot);
    expect(listed).toEqual([s2, undefined]);
    // The snapshot's lease went with it: the log replays to what the row holds.
    const { rows } = await db().query(`SELECT snapshots FROM shares WHERE tenant = $1 AND name = $2`, [
      ACCOUNT,
      share.name,
    ]);
    expect(rows[0].snapshots.map((s: { snapshot: string }) => s.snapshot)).toEqual([s2]);
    await share.delete({ deleteSnapshots: 'include' });
  });

  it('Delete Share of the share: include is 409 DeleteShareWhenSnapshotLeased while a snapshot is leased or breaking; include-leased deletes them all', async () => {
    const { share, snapshots } = await newShare(2);
    await leaseOf(share, snapshots[1], A).acquireLease(-1);
    await refused(share.delete({ deleteSnapshots: 'include' }), 409, 'DeleteShareWhenSnapshotLeased');
    await refused(share.deleteIfExists({ deleteSnapshots: 'include' }), 409, 'DeleteShareWhenSnapshotLeased');
    // Breaking still protects it.
    await support.breakShareLease(leaseOf(share, snapshots[1]), 60);
    await refused(share.delete({ deleteSnapshots: 'include' }), 409, 'DeleteShareWhenSnapshotLeased');
    // The share's own lease is decided first, as without snapshots.
    await leaseOf(share, undefined, B).acquireLease(-1);
    await refused(share.delete({ deleteSnapshots: 'include-leased' }), 412, 'LeaseIdMissing');
    await refused(share.delete({ leaseAccessConditions: { leaseId: B } }), 409, 'ShareHasSnapshots');
    const deleted = await share.deleteIfExists({
      deleteSnapshots: 'include-leased',
      leaseAccessConditions: { leaseId: B },
    });
    expect(deleted.succeeded).toBe(true);
    const events = await eventsOf(db(), deleted.requestId);
    expect(events.map((e) => [e.type, e.data.snapshotsDeleted])).toEqual([['ShareDeleted', 2]]);
    await refused(share.withSnapshot(snapshots[1]).getProperties(), 404, 'ShareNotFound');

    // A broken snapshot lease does not stop include.
    const second = await newShare(1);
    await leaseOf(second.share, second.snapshots[0], A).acquireLease(-1);
    await support.breakShareLease(leaseOf(second.share, second.snapshots[0]), 0);
    expect((await second.share.deleteIfExists({ deleteSnapshots: 'include' })).succeeded).toBe(true);
  });

  it("Get Share Properties and List Shares show each snapshot's lease: state, status, duration", async () => {
    const { share, snapshots } = await newShare(3);
    await leaseOf(share, snapshots[0], A).acquireLease(-1);
    await leaseOf(share, snapshots[1], B).acquireLease(60);
    const listed: Array<[string | undefined, string | undefined, string | undefined, string | undefined]> = [];
    for await (const s of service.serviceClient().listShares({ prefix: share.name, includeSnapshots: true }))
      listed.push([s.snapshot, s.properties.leaseState, s.properties.leaseStatus, s.properties.leaseDuration]);
    expect(listed).toEqual([
      [snapshots[0], 'leased', 'locked', 'infinite'],
      [snapshots[1], 'leased', 'locked', 'fixed'],
      [snapshots[2], 'available', 'unlocked', undefined],
      [undefined, 'available', 'unlocked', undefined],
    ]);
    expect(await leaseShown(share, snapshots[1])).toEqual({
      state: 'leased',
      status: 'locked',
      duration: 'fixed',
      epoch: '1',
    });
    await share.delete({ deleteSnapshots: 'include-leased' });
  });

  it('a fixed snapshot lease expires at its instant; the sweeper records the lapse once, naming the snapshot, and the holder can renew', async () => {
    const { share, snapshots } = await newShare(1);
    const [s1] = snapshots;
    await leaseOf(share, undefined, B).acquireLease(15);
    await leaseOf(share, s1, A).acquireLease(15);
    const acquired = (await leaseEvents(share, s1))[0];
    await support.untilDbClock(db(), Date.parse(acquired.data.expiresAt));
    expect(await leaseShown(share, s1)).toMatchObject({ state: 'expired', status: 'unlocked' });
    // Two sweepers (as two workers), each with its own batches, sweeping at once, then again.
    const sweepers = [0, 1].map(() => new ShareLeaseSweeper(new ShareLeaseRepository(audited.store)));
    await Promise.all(sweepers.map((s) => s.sweep()));
    await Promise.all(sweepers.map((s) => s.sweep()));
    const expired = (await leaseEvents(share, s1)).filter((e) => e.type === 'ShareLeaseExpired');
    expect(expired.map((e) => e.data)).toEqual([{ leaseId: A, expiredAt: acquired.data.expiresAt, snapshot: s1 }]);
    expect(expired[0].principal).toBe('system');
    // The share's own lease lapsed too, recorded on its own.
    expect((await leaseEvents(share)).map((e) => e.type)).toEqual(['ShareLeaseAcquired', 'ShareLeaseExpired']);
    // An expired lease is renewed by its holder while nobody else has taken it.
    expect(await attempt(support.renewShareLease(leaseOf(share, s1, A)))).toEqual({
      status: 200,
      leaseId: A,
      epoch: '1',
    });
    await expectReplayMatches(share, s1);
    await expectReplayMatches(share);
    await share.delete({ deleteSnapshots: 'include-leased' });
  });

  it("a retried request gets its original answer, found among the snapshot's own events on the share's stream", async () => {
    const { share, snapshots } = await newShare(1);
    const [s1] = snapshots;
    /** Lease Share through a signed request, with the client request id an SDK's retry repeats. */
    const lease = (snapshot: string | undefined, headers: Record<string, string>) =>
      sendRaw(service.url, {
        method: 'PUT',
        path: `/${ACCOUNT}/${share.name}`,
        query: `restype=share&comp=lease${snapshot === undefined ? '' : `&sharesnapshot=${encodeURIComponent(snapshot)}`}`,
        headers,
        signer,
      });
    const answer = (r: Awaited<ReturnType<typeof lease>>) => [
      r.status,
      r.header('x-ms-lease-id') ?? null,
      r.header(EPOCH_HEADER),
    ];

    // A release: the share's own lease, with the same lease id and client request id, is another subject.
    await leaseOf(share, s1, A).acquireLease(-1);
    await leaseOf(share, undefined, A).acquireLease(-1);
    await leaseOf(share, undefined, A).changeLease(B);
    await leaseOf(share, undefined, B).changeLease(A);
    const release = { 'x-ms-lease-action': 'release', 'x-ms-lease-id': A, 'x-ms-client-request-id': 'snap-release-1' };
    expect(answer(await lease(undefined, release))).toEqual([200, null, '3']);
    expect(answer(await lease(s1, release))).toEqual([200, null, '1']);
    expect(answer(await lease(s1, release))).toEqual([200, null, '1']);

    // A break, retried after the snapshot has a new holder, does not break that holder.
    await leaseOf(share, s1, A).acquireLease(-1);
    const breakOnce = () =>
      lease(s1, {
        'x-ms-lease-action': 'break',
        'x-ms-lease-break-period': '0',
        'x-ms-client-request-id': 'snap-break-1',
      });
    const first = await breakOnce();
    expect([first.status, first.header('x-ms-lease-time'), first.header(EPOCH_HEADER)]).toEqual([202, '0', '3']);
    await leaseOf(share, s1, B).acquireLease(-1);
    await leaseOf(share, undefined, C).acquireLease(-1);
    const retried = await breakOnce();
    expect([retried.status, retried.header('x-ms-lease-id'), retried.header(EPOCH_HEADER)]).toEqual([202, A, '3']);
    expect(await leaseShown(share, s1)).toEqual({
      state: 'leased',
      status: 'locked',
      duration: 'infinite',
      epoch: '4',
    });
    expect((await leaseEvents(share, s1)).map((e) => e.type)).toEqual([
      'ShareLeaseAcquired',
      'ShareLeaseReleased',
      'ShareLeaseAcquired',
      'ShareLeaseBroken',
      'ShareLeaseAcquired',
    ]);
    await share.delete({ deleteSnapshots: 'include-leased', leaseAccessConditions: { leaseId: C } });
  });

  it("two clients acquiring one snapshot's lease at once: exactly one wins, one event; the share and the other snapshot stay available", async () => {
    const { share, snapshots } = await newShare(2);
    const clients = [service.serviceClient(), service.serviceClient()].map((c) => c.getShareClient(share.name));
    // Open the connections first, so the acquires leave together.
    await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => c.getProperties())));
    const ids = Array.from({ length: 32 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
    const answers = await Promise.all(
      ids.map((id, i) => attempt(leaseOf(clients[i % 2], snapshots[0], id).acquireLease(i % 2 ? -1 : 15))),
    );
    const winners = answers.flatMap((a, i) => (a.status === 201 ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409 && a.code === 'LeaseAlreadyPresent')).toHaveLength(31);
    expect((await leaseEvents(share, snapshots[0])).map((e) => [e.type, e.data.leaseId, e.data.epoch])).toEqual([
      ['ShareLeaseAcquired', ids[winners[0]], 1],
    ]);
    expect(await expectReplayMatches(share, snapshots[0])).toMatchObject({ leaseId: ids[winners[0]], epoch: 1 });
    expect((await leaseShown(share)).state).toBe('available');
    expect((await leaseShown(share, snapshots[1])).state).toBe('available');
    await share.delete({ deleteSnapshots: 'include-leased' });
  });

  it('through the Python SDK: ShareClient(snapshot=).acquire_lease, renew, change, break, release; get_share_properties; delete_share(lease=)', async () => {
    const { share, snapshots } = await newShare(1);
    const [s1] = snapshots;
    const python = new PythonSdk(service.url);
    const target = { account: ACCOUNT, key: DEVELOPMENT_KEY, share: share.name, snapshot: s1 };
    const lease = (action: string, leaseId?: string, kwargs: Record<string, unknown> = {}) =>
      python.call('call', { ...target, client: 'lease', method: action, leaseId, kwargs });
    try {
      expect(await lease('acquire', A, { lease_duration: 20 })).toMatchObject({ ok: true, result: { id: A } });
      expect(await lease('renew', A)).toMatchObject({ ok: true, result: { id: A } });
      expect(await lease('acquire', B, { lease_duration: -1 })).toMatchObject({
        ok: false,
        status: 409,
        code: 'LeaseAlreadyPresent',
      });
      expect(await lease('change', A, { proposed_lease_id: B })).toMatchObject({ ok: true, result: { id: B } });
      const properties = await python.call('call', { ...target, client: 'share', method: 'get_share_properties' });
      expect(properties).toMatchObject({
        ok: true,
        result: { snapshot: s1, lease: { status: 'locked', state: 'leased', duration: 'fixed' } },
      });
      expect(
        await python.call('call', { ...target, client: 'share', method: 'delete_share', kwargs: { lease: A } }),
      ).toMatchObject({ ok: false, status: 412, code: 'LeaseIdMismatchWithShareOperation' });
      expect(await lease('break_lease', undefined, { lease_break_period: 10 })).toMatchObject({ ok: true });
      expect(await lease('release', B)).toMatchObject({ ok: true });
      expect(await lease('acquire', C)).toMatchObject({ ok: true, result: { id: C } });
      // The share itself: delete_snapshots=True is include, refused while the snapshot is leased.
      expect(
        await python.call('call', {
          ...target,
          snapshot: undefined,
          client: 'share',
          method: 'delete_share',
          kwargs: { delete_snapshots: true },
        }),
      ).toMatchObject({ ok: false, status: 409, code: 'DeleteShareWhenSnapshotLeased' });
      expect(
        await python.call('call', { ...target, client: 'share', method: 'delete_share', kwargs: { lease: C } }),
      ).toMatchObject({ ok: true });
    } finally {
      await python.stop();
    }
    expect((await leaseEvents(share, s1)).map((e) => e.type)).toEqual([
      'ShareLeaseAcquired',
      'ShareLeaseRenewed',
      'ShareLeaseChanged',
      'ShareLeaseBroken',
      'ShareLeaseReleased',
      'ShareLeaseAcquired',
    ]);
    await share.delete();
  });

  it("the audit trail: the share root's lease history names the snapshot; its state-as-of is the share's own lease", async () => {
    const { share, snapshots } = await newShare(1);
    const [s1] = snapshots;
    await leaseOf(share, s1, A).acquireLease(-1);
    await leaseOf(share, undefined, B).acquireLease(-1);
    await leaseOf(share, s1, A).changeLease(C);
    await audited.catchUp();
    const get = async (query: string) =>
      JSON.parse(
        (await sendRaw(service.url, { method: 'GET', path: `/${ACCOUNT}/${share.name}`, query, signer })).body,
      );
    const history = await get('comp=leasehistory');
    expect(history.timeline.map((t: any) => [t.action, t.snapshot ?? null, t.leaseId, t.epoch])).toEqual([
      ['acquired', s1, A, 1],
      ['acquired', null, B, 1],
      ['changed', s1, C, 2],
    ]);
    const asOf = await get(`comp=stateasof&at=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(asOf.shareLease).toEqual({ state: 'leased', leaseId: B, epoch: 1 });
    await share.delete({ deleteSnapshots: 'include-leased', leaseAccessConditions: { leaseId: B } });
  });

  it('the projections rebuilt from the log match the live tables, snapshot leases included', async () => {
    const { share, snapshots } = await newShare(3);
    await leaseOf(share, snapshots[0], A).acquireLease(-1);
    await leaseOf(share, snapshots[1], B).acquireLease(15);
    await leaseOf(share, snapshots[1], B).changeLease(C);
    await support.breakShareLease(leaseOf(share, snapshots[1]), 10);
    await leaseOf(share, undefined, A).acquireLease(-1);
    await share.withSnapshot(snapshots[0]).delete({ leaseAccessConditions: { leaseId: A } });
    const client = await db().connect();
    try {
      const verified = await verifyProjections(client);
      expect(verified.differences).toEqual([]);
    } finally {
      client.release();
    }
    const { rows } = await db().query(`SELECT snapshots FROM shares WHERE tenant = $1 AND name = $2`, [
      ACCOUNT,
      share.name,
    ]);
    expect(
      rows[0].snapshots.map((s: { snapshot: string; lease?: { status: string } }) => [s.snapshot, s.lease?.status]),
    ).toEqual([
      [snapshots[1], 'broken'],
      [snapshots[2], undefined],
    ]);
  });
});
