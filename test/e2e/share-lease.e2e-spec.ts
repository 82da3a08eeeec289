// Lease Share end to end: every cell of docs/share-lease.md §2 through the official SDK
// (ShareClient.getShareLeaseClient()) against the real service and PostgreSQL, checking the answer,
// the lease Get Share Properties then shows, and the events the action recorded; then the time
// rules, Delete Share under a lease, bad input, and the sweeper. Time is PostgreSQL's: tests that
// wait for an expiry or a break end poll the database's clock, never sleep.
import { LeaseOperationResponse, ShareClient, ShareSASPermissions } from '@azure/storage-file-share';
import { DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { decideShareLease, isShareLeaseRejection, SYSTEM_CALLER } from '../../libs/domain/src';
import { ConcurrencyError, EventStore } from '../../libs/event-store/src';
import { createDataSource } from '../../libs/event-store/src/database';
import { ShareLeaseRepository } from '../../libs/filesystem/src';
import { ShareLeaseSweeper } from '../../libs/leases/src';
import { shareLeaseBatchSize } from '../../libs/observability/src';
import { PythonSdk } from '../support/python';
import * as support from '../support/share-lease';
import { sendRaw } from '../support/signed-request';
import { startTestService, testDatabaseUrl, TestService, uniqueShare } from '../support/service';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const ACCOUNT = 'devstoreaccount1';

const attempt = (call: () => Promise<LeaseOperationResponse>) => support.leaseOutcome(call());

const leaseOf = (share: ShareClient, id?: string) => share.getShareLeaseClient(id);
const renew = support.renewShareLease;
const breakWith = support.breakShareLease;

let service: TestService;
const dbNow = () => support.dbNow(service.db);
const untilDbClock = (instant: number) => support.untilDbClock(service.db, instant);

async function shareRow(name: string) {
  const { rows } = await service.db.query(`SELECT * FROM shares WHERE tenant = $1 AND name = $2`, [ACCOUNT, name]);
  return rows[0];
}

const shareEvents = (name: string) => support.shareEvents(service.db, ACCOUNT, name);

/** The log alone, replayed, gives the lease the projection holds. */
async function expectReplayMatches(name: string): Promise<void> {
  const { replayed, projected } = await support.replayedAndProjected(service.db, ACCOUNT, name);
  expect(projected).toEqual(replayed);
}

async function newShare(prefix = 'sl'): Promise<ShareClient> {
  const share = service.serviceClient().getShareClient(uniqueShare(prefix));
  await share.create();
  return share;
}

beforeAll(async () => {
  service = await startTestService();
});

afterAll(async () => {
  await service?.stop();
});

// The columns of the table, each a way to bring a fresh share into that state through the SDK.
type Column = 'Available' | 'Leased(A), infinite' | 'Leased(A), 60 s' | 'Expired(A)' | 'Breaking(A)' | 'Broken(A)';
const COLUMNS: Column[] = [
  'Available',
  'Leased(A), infinite',
  'Leased(A), 60 s',
  'Expired(A)',
  'Breaking(A)',
  'Broken(A)',
];

/** Shares leased for 15 s up front, one per cell of the Expired column, so the whole file waits for one expiry. */
const expiring: ShareClient[] = [];
let expiringUntil = 0;

async function arrange(column: Column): Promise<ShareClient> {
  if (column === 'Expired(A)') {
    await untilDbClock(expiringUntil);
    return expiring.pop()!;
  }
  const share = await newShare();
  const lease = leaseOf(share, A);
  if (column === 'Leased(A), infinite') await lease.acquireLease(-1);
  if (column === 'Leased(A), 60 s') await lease.acquireLease(60);
  if (column === 'Breaking(A)') {
    await lease.acquireLease(-1);
    await breakWith(lease, 60);
  }
  if (column === 'Broken(A)') {
    await lease.acquireLease(-1);
    await breakWith(lease, 0);
  }
  return share;
}

type Expect =
  { to: 'available' | 'leased' | 'breaking' | 'broken'; leaseId?: string; event?: string } | { code: string };
const to = (state: 'available' | 'leased' | 'breaking' | 'broken', leaseId?: string, event?: string): Expect => ({
  to: state,
  leaseId,
  event,
});
const fails = (code: string): Expect => ({ code });
const present = fails('LeaseAlreadyPresent');
const noLease = fails('LeaseNotPresentWithLeaseOperation');
const mismatch = fails('LeaseIdMismatchWithLeaseOperation');
const GENERATED = 'generated';

const ROWS: Array<[string, number, (share: ShareClient) => Promise<LeaseOperationResponse>, Expect[]]> = [
  [
    'Acquire (A), 30 s',
    201,
    (share) => leaseOf(share, A).acquireLease(30),
    // The holder acquiring again: the new duration runs from now.
    [
      to('leased', A, 'ShareLeaseAcquired'),
      to('leased', A, 'ShareLeaseAcquired'),
      to('leased', A, 'ShareLeaseAcquired'),
      to('leased', A, 'ShareLeaseAcquired'),
      fails('LeaseIsBreakingAndCannotBeAcquired'),
      to('leased', A, 'ShareLeaseAcquired'),
    ],
  ],
  [
    'Acquire (B), infinite',
    201,
    (share) => leaseOf(share, B).acquireLease(-1),
    [
      to('leased', B, 'ShareLeaseAcquired'),
      present,
      present,
      to('leased', B, 'ShareLeaseAcquired'),
      present,
      to('leased', B, 'ShareLeaseAcquired'),
    ],
  ],
  [
    'Acquire, id of the SDK’s choosing',
    201,
    (share) => leaseOf(share).acquireLease(15),
    [
      to('leased', GENERATED, 'ShareLeaseAcquired'),
      present,
      present,
      to('leased', GENERATED, 'ShareLeaseAcquired'),
      present,
      to('leased', GENERATED, 'ShareLeaseAcquired'),
    ],
  ],
  [
    'Break, no period',
    202,
    (share) => breakWith(leaseOf(share)),
    [
      noLease,
      to('broken', A, 'ShareLeaseBroken'),
      to('breaking', A, 'ShareLeaseBroken'),
      to('broken', A, 'ShareLeaseBroken'),
      to('breaking', A),
      to('broken', A),
    ],
  ],
  [
    'Break, period 0',
    202,
    (share) => breakWith(leaseOf(share), 0),
    [
      noLease,
      to('broken', A, 'ShareLeaseBroken'),
      to('broken', A, 'ShareLeaseBroken'),
      to('broken', A, 'ShareLeaseBroken'),
      to('broken', A, 'ShareLeaseBroken'),
      to('broken', A),
    ],
  ],
  [
    'Break, period 30',
    202,
    (share) => breakWith(leaseOf(share), 30),
    [
      noLease,
      to('breaking', A, 'ShareLeaseBroken'),
      to('breaking', A, 'ShareLeaseBroken'),
      to('broken', A, 'ShareLeaseBroken'),
      to('breaking', A, 'ShareLeaseBroken'),
      to('broken', A),
    ],
  ],
  [
    'Change (A) to (B)',
    200,
    (share) => leaseOf(share, A).changeLease(B),
    [
      noLease,
      to('leased', B, 'ShareLeaseChanged'),
      to('leased', B, 'ShareLeaseChanged'),
      noLease,
      fails('LeaseIsBreakingAndCannotBeChanged'),
      noLease,
    ],
  ],
  [
    'Change (B) to (A)',
    200,
    (share) => leaseOf(share, B).changeLease(A),
    [noLease, to('leased', A), to('leased', A), noLease, fails('LeaseIsBreakingAndCannotBeChanged'), noLease],
  ],
  [
    'Change (B) to (C)',
    200,
    (share) => leaseOf(share, B).changeLease(C),
    [noLease, mismatch, mismatch, noLease, mismatch, noLease],
  ],
  [
    'Renew (A)',
    200,
    (share) => renew(leaseOf(share, A)),
    [
      mismatch,
      to('leased', A),
      to('leased', A, 'ShareLeaseRenewed'),
      to('leased', A, 'ShareLeaseRenewed'),
      fails('LeaseIsBrokenAndCannotBeRenewed'),
      fails('LeaseIsBrokenAndCannotBeRenewed'),
    ],
  ],
  ['Renew (B)', 200, (share) => renew(leaseOf(share, B)), [mismatch, mismatch, mismatch, mismatch, mismatch, mismatch]],
  [
    'Release (A)',
    200,
    (share) => leaseOf(share, A).releaseLease(),
    [
      noLease,
      to('available', undefined, 'ShareLeaseReleased'),
      to('available', undefined, 'ShareLeaseReleased'),
      to('available', undefined, 'ShareLeaseReleased'),
      to('available', undefined, 'ShareLeaseReleased'),
      to('available', undefined, 'ShareLeaseReleased'),
    ],
  ],
  [
    'Release (B)',
    200,
    (share) => leaseOf(share, B).releaseLease(),
    [noLease, mismatch, mismatch, mismatch, mismatch, mismatch],
  ],
];

describe('Lease Share: every state × action cell through the SDK', () => {
  beforeAll(async () => {
    const count = ROWS.length + 2; // + Delete Share on Expired, + the sweeper
    for (let i = 0; i < count; i++) {
      const share = await newShare('exp');
      await leaseOf(share, A).acquireLease(15);
      expiring.push(share);
    }
    expiringUntil = (await dbNow()) + 15_000;
  });

  for (const [label, successStatus, act, outcomes] of ROWS) {
    COLUMNS.forEach((column, i) => {
      const expected = outcomes[i];
      const result =
        'code' in expected ? expected.code : `${expected.to}${expected.event ? `, ${expected.event}` : ', no event'}`;
      it(`${label} on ${column} → ${result}`, async () => {
        const share = await arrange(column);
        const before = (await shareEvents(share.name)).length;
        const outcome = await attempt(() => act(share));
        const recorded = (await shareEvents(share.name)).slice(before);
        // An expiry nobody had recorded yet goes in the log first, whatever the answer.
        const lapse = column === 'Expired(A)' ? ['ShareLeaseExpired'] : [];
        if ('code' in expected) {
          expect(outcome).toMatchObject({ status: 409, code: expected.code });
          expect(recorded.map((e) => e.type)).toEqual(lapse);
        } else {
          expect(outcome.status).toBe(successStatus);
          expect(recorded.map((e) => e.type)).toEqual([...lapse, ...(expected.event ? [expected.event] : [])]);
          const props = await share.getProperties();
          expect(props.leaseState).toBe(expected.to);
          expect(props.leaseStatus).toBe(
            expected.to === 'leased' || expected.to === 'breaking' ? 'locked' : 'unlocked',
          );
          const row = await shareRow(share.name);
          if (expected.leaseId === GENERATED) expect(row.lease_id).toBe(outcome.leaseId);
          else if (expected.leaseId) expect(row.lease_id).toBe(expected.leaseId);
          if (label.startsWith('Release')) expect(outcome.leaseId).toBeUndefined();
          else expect(outcome.leaseId).toBe(row.lease_id);
          expect(outcome.epoch).toBe(String(row.lease_epoch));
        }
        await expectReplayMatches(share.name);
      });
    });
  }

  it('Delete Share on an expired lease needs no lease id, and records the lapse before the deletion', async () => {
    await untilDbClock(expiringUntil);
    const share = expiring.pop()!;
    const { rows } = await service.db.query(`SELECT share_id FROM shares WHERE tenant = $1 AND name = $2`, [
      ACCOUNT,
      share.name,
    ]);
    expect((await share.delete())._response.status).toBe(202);
    const types = (
      await service.db.query(`SELECT type FROM events WHERE tenant = $1 AND stream_id = $2 ORDER BY stream_version`, [
        ACCOUNT,
        `share-${rows[0].share_id}`,
      ])
    ).rows.map((r) => r.type);
    expect(types).toEqual(['ShareCreated', 'ShareLeaseAcquired', 'ShareLeaseExpired', 'ShareDeleted']);
  });

  it('the sweeper records each lapse exactly once, at the instant it happened, however many sweep at once', async () => {
    await untilDbClock(expiringUntil);
    const share = expiring.pop()!;
    const acquired = (await shareEvents(share.name)).find((e) => e.type === 'ShareLeaseAcquired')!;
    const dataSource = await createDataSource(testDatabaseUrl(), 4).initialize();
    try {
      const sweepers = [0, 1, 2].map(() => new ShareLeaseSweeper(new ShareLeaseRepository(new EventStore(dataSource))));
      await Promise.all([...sweepers.map((s) => s.sweep()), attempt(() => renew(leaseOf(share, B)))]);
      await Promise.all(sweepers.map((s) => s.sweep()));
    } finally {
      await dataSource.destroy();
    }
    const expired = (await shareEvents(share.name)).filter((e) => e.type === 'ShareLeaseExpired');
    expect(expired).toHaveLength(1);
    expect(expired[0].data).toEqual({ leaseId: A, expiredAt: acquired.data.expiresAt });
    expect(expired[0].recordedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(acquired.data.expiresAt));
    expect((await share.getProperties()).leaseState).toBe('expired');
    await expectReplayMatches(share.name);
  });
});

describe('through the Python SDK', () => {
  // python-sdk.e2e-spec.ts walks every action once; this is the breaking state, which only a share lease has.
  it('ShareLeaseClient.break_lease with a period: breaking refuses renew and acquire as the table says, and release ends it', async () => {
    const share = await newShare();
    const python = new PythonSdk(service.url);
    const target = { account: ACCOUNT, key: DEVELOPMENT_KEY, share: share.name };
    const lease = (method: string, leaseId?: string, kwargs: Record<string, unknown> = {}) =>
      python.call('call', { ...target, client: 'lease', method, leaseId, kwargs });
    const properties = () => python.call('call', { ...target, client: 'share', method: 'get_share_properties' });
    try {
      expect(await lease('acquire', A, { lease_duration: 15 })).toMatchObject({ ok: true, result: { id: A } });
      // break_lease answers the seconds left of the break period (shorter than the 15 s lease has left).
      expect(await lease('break_lease', undefined, { lease_break_period: 10 })).toMatchObject({
        ok: true,
        result: { result: 10 },
      });
      expect(await properties()).toMatchObject({
        ok: true,
        result: { lease: { status: 'locked', state: 'breaking' } },
      });
      expect(await lease('renew', A)).toMatchObject({
        ok: false,
        status: 409,
        code: 'LeaseIsBrokenAndCannotBeRenewed',
      });
      expect(await lease('acquire', A)).toMatchObject({
        ok: false,
        status: 409,
        code: 'LeaseIsBreakingAndCannotBeAcquired',
      });
      expect(await lease('acquire', B)).toMatchObject({ ok: false, status: 409, code: 'LeaseAlreadyPresent' });
      expect(await lease('change', A, { proposed_lease_id: B })).toMatchObject({
        ok: false,
        status: 409,
        code: 'LeaseIsBreakingAndCannotBeChanged',
      });
      expect(await lease('release', A)).toMatchObject({ ok: true });
      expect(await lease('acquire', B, { lease_duration: -1 })).toMatchObject({ ok: true, result: { id: B } });
      expect(await properties()).toMatchObject({
        ok: true,
        result: { lease: { status: 'locked', state: 'leased', duration: 'infinite' } },
      });
    } finally {
      await python.stop();
    }
    expect((await support.shareEvents(service.db, ACCOUNT, share.name, true)).map((e) => e.type)).toEqual([
      'ShareLeaseAcquired',
      'ShareLeaseBroken',
      'ShareLeaseReleased',
      'ShareLeaseAcquired',
    ]);
    await expectReplayMatches(share.name);
  });
});

describe('time, on the database clock', () => {
  it('a decision on a remembered lease is written only at an instant PostgreSQL has just passed, never ahead of it', async () => {
    const share = await newShare();
    await leaseOf(share, A).acquireLease(15);
    const dataSource = await createDataSource(testDatabaseUrl(), 2).initialize();
    try {
      const shares = new ShareLeaseRepository(new EventStore(dataSource));
      const read = (await shares.find(ACCOUNT, share.name))!;
      const context = { ...SYSTEM_CALLER, tenant: ACCOUNT, now: new Date() };
      const renewAt = (readAt: number) => {
        const decision = decideShareLease({ action: 'renew', leaseId: A }, read.lease, readAt);
        if (isShareLeaseRejection(decision)) throw new Error(decision.reason);
        return shares.record(context, { ...read, readAt, estimated: true }, decision.events);
      };
      // A process whose estimate runs ahead of PostgreSQL's clock, or lags it by more than a second: refused, nothing written.
      await expect(renewAt((await dbNow()) + 5_000)).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(renewAt((await dbNow()) - 5_000)).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await shareEvents(share.name)).map((e) => e.type)).toEqual(['ShareCreated', 'ShareLeaseAcquired']);
      const now = await dbNow();
      await expect(renewAt(now)).resolves.toMatchObject({ status: 'leased', expiresAt: now + 15_000 });
    } finally {
      await dataSource.destroy();
    }
    expect((await shareEvents(share.name)).map((e) => e.type)).toEqual([
      'ShareCreated',
      'ShareLeaseAcquired',
      'ShareLeaseRenewed',
    ]);
    await expectReplayMatches(share.name);
  });

  it('acquires decided on one state: the first writes, the rest fail without a statement of their own', async () => {
    const share = await newShare();
    const dataSource = await createDataSource(testDatabaseUrl(), 2).initialize();
    try {
      const shares = new ShareLeaseRepository(new EventStore(dataSource));
      const read = (await shares.find(ACCOUNT, share.name))!;
      const ids = Array.from({ length: 16 }, (_, i) => `dddddddd-dddd-4ddd-8ddd-${String(i).padStart(12, '0')}`);
      const writes = async () =>
        (await shareLeaseBatchSize.get()).values.find(
          (v) => v.metricName?.endsWith('_count') && v.labels.statement === 'write',
        )?.value ?? 0;
      const before = await writes();
      const outcomes = await Promise.all(
        ids.map((id) => {
          const decision = decideShareLease(
            { action: 'acquire', proposedLeaseId: id, generatedLeaseId: id, duration: 15 },
            read.lease,
            read.readAt,
          );
          if (isShareLeaseRejection(decision)) throw new Error(decision.reason);
          const context = { ...SYSTEM_CALLER, tenant: ACCOUNT, now: new Date() };
          return shares.record(context, read, decision.events).then(
            () => 'committed',
            (e) => (e instanceof ConcurrencyError ? 'conflict' : `error ${e}`),
          );
        }),
      );
      expect(outcomes).toEqual(['committed', ...Array(15).fill('conflict')]);
      expect((await writes()) - before).toBe(1);
    } finally {
      await dataSource.destroy();
    }
    expect(await shareRow(share.name)).toMatchObject({
      lease_status: 'leased',
      lease_id: 'dddddddd-dddd-4ddd-8ddd-000000000000',
    });
    await expectReplayMatches(share.name);
  });

  it('a break period runs out into Broken; a later, shorter break shortens it; a longer one does not', async () => {
    const share = await newShare();
    await leaseOf(share, A).acquireLease(-1);
    const first = await attempt(() => breakWith(leaseOf(share), 30));
    expect(first).toMatchObject({ status: 202, leaseId: A, leaseTime: 30 });
    expect(await attempt(() => breakWith(leaseOf(share), 45))).toMatchObject({ status: 202, leaseTime: 30 });
    const shortened = await attempt(() => breakWith(leaseOf(share), 1));
    expect(shortened).toMatchObject({ status: 202, leaseTime: 1 });
    expect(shortened.epoch).toBe(first.epoch); // shortening a break is not another break
    const events = await shareEvents(share.name);
    const brokenAt = Date.parse(events[events.length - 1].data.brokenAt);
    expect((await share.getProperties()).leaseState).toBe('breaking');
    expect(await attempt(() => leaseOf(share, B).acquireLease(15))).toMatchObject({
      status: 409,
      code: 'LeaseAlreadyPresent',
    });
    await untilDbClock(brokenAt);
    expect((await share.getProperties()).leaseState).toBe('broken');
    expect(await attempt(() => leaseOf(share, B).acquireLease(15))).toMatchObject({ status: 201, leaseId: B });
    expect(events.filter((e) => e.type === 'ShareLeaseBroken').map((e) => e.data.fromState)).toEqual([
      'leased',
      'breaking',
    ]);
    await expectReplayMatches(share.name);
  });

  it('a fixed lease broken without a period breaks when it would have expired: x-ms-lease-time is the time it has left', async () => {
    const share = await newShare();
    await leaseOf(share, A).acquireLease(60);
    const broken = await attempt(() => breakWith(leaseOf(share)));
    expect(broken.status).toBe(202);
    expect(broken.leaseTime).toBeGreaterThan(55);
    expect(broken.leaseTime).toBeLessThanOrEqual(60);
    const [acquired, broke] = (await shareEvents(share.name)).slice(1);
    expect(broke.data.brokenAt).toBe(acquired.data.expiresAt);
  });

  it('acquire records the expiry instant: the decision time plus the duration, on the database clock', async () => {
    const share = await newShare();
    const before = await dbNow();
    await leaseOf(share, A).acquireLease(45);
    const after = await dbNow();
    const expiresAt = Date.parse((await shareEvents(share.name))[1].data.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 45_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 45_000);
    const props = await share.getProperties();
    expect(props).toMatchObject({ leaseState: 'leased', leaseStatus: 'locked', leaseDuration: 'fixed' });
  });

  it('Get Share Properties: infinite leases say so; no duration unless leased', async () => {
    const share = await newShare();
    expect(await share.getProperties()).toMatchObject({
      leaseState: 'available',
      leaseStatus: 'unlocked',
      leaseDuration: undefined,
    });
    await leaseOf(share, A).acquireLease(-1);
    expect(await share.getProperties()).toMatchObject({
      leaseState: 'leased',
      leaseStatus: 'locked',
      leaseDuration: 'infinite',
    });
    await breakWith(leaseOf(share), 60);
    expect(await share.getProperties()).toMatchObject({
      leaseState: 'breaking',
      leaseStatus: 'locked',
      leaseDuration: undefined,
    });
  });
});

describe('Delete Share under a share lease', () => {
  const del = (share: ShareClient, leaseId?: string) =>
    attempt(() => share.delete(leaseId ? { leaseAccessConditions: { leaseId } } : {}));

  it.each<[string, 'leased' | 'breaking' | 'broken' | 'none']>([
    ['leased', 'leased'],
    ['breaking', 'breaking'],
  ])('a %s share needs its lease id: 412 without it or with another', async (_label, state) => {
    const share = await newShare();
    await leaseOf(share, A).acquireLease(-1);
    if (state === 'breaking') await breakWith(leaseOf(share), 60);
    expect(await del(share)).toMatchObject({ status: 412, code: 'LeaseIdMissing' });
    expect(await del(share, B)).toMatchObject({ status: 412, code: 'LeaseIdMismatchWithShareOperation' });
    expect((await share.getProperties()).leaseState).toBe(state);
    expect(await del(share, A)).toMatchObject({ status: 202 });
    expect(await share.exists()).toBe(false);
  });

  it('a lease id where no lease is active: 412 LeaseNotPresentWithShareOperation; broken and unleased shares delete without one', async () => {
    const unleased = await newShare();
    expect(await del(unleased, A)).toMatchObject({ status: 412, code: 'LeaseNotPresentWithShareOperation' });
    expect(await del(unleased)).toMatchObject({ status: 202 });
    const broken = await newShare();
    await leaseOf(broken, A).acquireLease(-1);
    await breakWith(leaseOf(broken), 0);
    expect(await del(broken, A)).toMatchObject({ status: 412, code: 'LeaseNotPresentWithShareOperation' });
    expect(await del(broken)).toMatchObject({ status: 202 });
  });
});

describe('bad input changes nothing', () => {
  const raw = (share: ShareClient, headers: Record<string, string>, query = 'restype=share&comp=lease') => {
    const url = new URL(share.url);
    return sendRaw(url.origin, {
      method: 'PUT',
      path: url.pathname,
      query,
      headers,
      signer: { account: ACCOUNT, key: DEVELOPMENT_KEY },
    });
  };

  it.each<[string, Record<string, string>, number, string, string?]>([
    ['no action → 400 MissingRequiredHeader', {}, 400, 'MissingRequiredHeader', 'x-ms-lease-action'],
    [
      'an unknown action → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'steal' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-action',
    ],
    [
      'acquire without a duration → 400 MissingRequiredHeader',
      { 'x-ms-lease-action': 'acquire' },
      400,
      'MissingRequiredHeader',
      'x-ms-lease-duration',
    ],
    [
      'a duration of 14 s → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '14' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-duration',
    ],
    [
      'a duration of 61 s → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '61' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-duration',
    ],
    [
      'a duration of 0 → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '0' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-duration',
    ],
    [
      'a duration that is not a number → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '15s' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-duration',
    ],
    [
      'a malformed proposed id → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '15', 'x-ms-proposed-lease-id': 'nope' },
      400,
      'InvalidHeaderValue',
      'x-ms-proposed-lease-id',
    ],
    [
      'a duration on break → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'break', 'x-ms-lease-duration': '15' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-duration',
    ],
    [
      'a break period of 61 s → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'break', 'x-ms-lease-break-period': '61' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-break-period',
    ],
    [
      'a negative break period → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'break', 'x-ms-lease-break-period': '-1' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-break-period',
    ],
    [
      'a break period on renew → 400 InvalidHeaderValue',
      { 'x-ms-lease-action': 'renew', 'x-ms-lease-id': A, 'x-ms-lease-break-period': '5' },
      400,
      'InvalidHeaderValue',
      'x-ms-lease-break-period',
    ],
    [
      'renew without an id → 400 MissingRequiredHeader',
      { 'x-ms-lease-action': 'renew' },
      400,
      'MissingRequiredHeader',
      'x-ms-lease-id',
    ],
    [
      'change without a proposed id → 400 MissingRequiredHeader',
      { 'x-ms-lease-action': 'change', 'x-ms-lease-id': A },
      400,
      'MissingRequiredHeader',
      'x-ms-proposed-lease-id',
    ],
  ])('%s', async (_label, headers, status, code, headerName) => {
    const share = await newShare();
    await leaseOf(share, A).acquireLease(-1);
    const before = await shareEvents(share.name);
    const response = await raw(share, headers);
    expect(response.status).toBe(status);
    expect(response.header('x-ms-error-code')).toBe(code);
    if (headerName) expect(response.body).toContain(`<HeaderName>${headerName}</HeaderName>`);
    expect(await shareEvents(share.name)).toEqual(before);
  });

  it('a share that does not exist: 404 ShareNotFound; a snapshot’s lease is its own, not the share’s', async () => {
    const missing = service.serviceClient().getShareClient(uniqueShare('none'));
    expect(await attempt(() => leaseOf(missing, A).acquireLease(15))).toMatchObject({
      status: 404,
      code: 'ShareNotFound',
    });
    const share = await newShare();
    const snapshot = share.withSnapshot((await share.createSnapshot()).snapshot!);
    expect(await attempt(() => leaseOf(snapshot, A).acquireLease(15))).toMatchObject({ status: 201 });
    expect((await share.getProperties()).leaseState).toBe('available');
  });

  it('only the account owner: a SAS, even with every permission, is refused', async () => {
    const share = await newShare();
    const sasUrl = share.generateSasUrl({
      permissions: ShareSASPermissions.parse('rcwdl'),
      expiresOn: new Date(Date.now() + 3600_000),
    });
    const viaSas = new ShareClient(sasUrl, undefined, { retryOptions: { maxTries: 1 } });
    expect(await attempt(() => leaseOf(viaSas, A).acquireLease(15))).toMatchObject({
      status: 403,
      code: 'AuthorizationFailure',
    });
    expect((await share.getProperties()).leaseState).toBe('available');
  });
});
