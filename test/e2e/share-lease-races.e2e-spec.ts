// Lease Share under contention across TWO API processes (the compiled main.js) sharing one
// database, one of them with its process clock 10 minutes ahead, and a worker whose clock is ahead
// too: decisions use PostgreSQL's clock, so the skew must change nothing. Exactly one holder at a
// time, every success in the log, and the log replayed always equals the projected lease.
import { LeaseOperationResponse, RestError, ShareClient } from '@azure/storage-file-share';
import { Pool } from 'pg';
import { evolveShareLease, initialShareLeaseState, ShareLeaseEvent, ShareLeaseState } from '../../libs/domain/src';
import {
  ApiBuild,
  ApiProcess,
  buildApi,
  ensureDevelopmentAccount,
  serviceClientAt,
  skewedClock,
  startApiProcess,
  startWorkerProcess,
  WorkerProcess,
} from '../support/processes';
import { DECIDED_WITHIN_MS } from '../../libs/filesystem/src';
import { removeQueue, uniqueQueuePrefix } from '../support/jobs';
import { testDatabaseUrl, uniqueShare } from '../support/service';
import {
  breakShareLease,
  dbNow,
  RecordedShareEvent,
  renewShareLease as renew,
  replayedAndProjected,
  shareEvents,
  untilDbClock,
} from '../support/share-lease';

const ACCOUNT = 'devstoreaccount1';
const SKEW_MS = 10 * 60_000; // inside Shared Key's 15-minute window, far beyond any lease
const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

interface Answer {
  status: number;
  code?: string;
  leaseId?: string;
}

async function answer(call: Promise<LeaseOperationResponse>): Promise<Answer> {
  try {
    const r = await call;
    return { status: r._response.status, leaseId: r.leaseId };
  } catch (error) {
    if (!(error instanceof RestError) || error.statusCode === undefined) throw error;
    return { status: error.statusCode, code: error.code };
  }
}

describe('Lease Share races across two API processes, one with its clock 10 minutes ahead', () => {
  let build: ApiBuild | undefined;
  const processes: ApiProcess[] = [];
  let worker: WorkerProcess | undefined;
  let db: Pool;
  const queuePrefix = uniqueQueuePrefix('slrace');

  beforeAll(async () => {
    db = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
    const [built] = await Promise.all([buildApi(), ensureDevelopmentAccount(testDatabaseUrl())]);
    build = built;
    processes.push(await startApiProcess(build, testDatabaseUrl()));
    processes.push(await startApiProcess(build, testDatabaseUrl(), skewedClock(build, SKEW_MS)));
    worker = await startWorkerProcess(build, testDatabaseUrl(), {
      QUEUE_PREFIX: queuePrefix,
      ...skewedClock(build, SKEW_MS),
    });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await worker?.stop();
    build?.remove();
    await db?.end();
    await removeQueue(queuePrefix);
  });

  /** One share, as seen through each process. */
  async function newShare(): Promise<ShareClient[]> {
    const name = uniqueShare('slrace');
    const via = processes.map((p) => serviceClientAt(p.url).getShareClient(name));
    await via[0].create();
    return via;
  }

  const leaseEvents = (share: ShareClient) => shareEvents(db, ACCOUNT, share.name, true);

  /** The log replayed equals the projected lease, and both processes show it alike. */
  async function expectReplayMatches(via: ShareClient[]): Promise<ShareLeaseState> {
    const { replayed, projected } = await replayedAndProjected(db, ACCOUNT, via[0].name);
    expect(projected).toEqual(replayed);
    const [p0, p1] = await Promise.all(via.map((s) => s.getProperties()));
    expect([p1.leaseState, p1.leaseStatus]).toEqual([p0.leaseState, p0.leaseStatus]);
    return replayed;
  }

  it('runs two API processes whose clocks are 10 minutes apart', async () => {
    expect(processes[0].pid).not.toBe(processes[1].pid);
    const via = await newShare();
    const dates = await Promise.all(via.map(async (s) => new Date((await s.getProperties()).date!).getTime()));
    expect(dates[1] - dates[0]).toBeGreaterThan(SKEW_MS - 60_000);
  });

  describe('64 concurrent acquires of one share with different proposed ids, 32 through each process', () => {
    it.each([1, 2, 3])('round %i: exactly one holder, 63 × 409 LeaseAlreadyPresent, one event', async (round) => {
      const via = await newShare();
      // Open the connections first, so the acquires leave together instead of queueing on handshakes.
      await Promise.all(via.flatMap((s) => Array.from({ length: 32 }, () => s.getProperties())));
      const ids = Array.from({ length: 64 }, (_, i) => id(round * 1000 + i));
      const answers = await Promise.all(
        ids.map((leaseId, i) =>
          answer(via[i % 2].getShareLeaseClient(leaseId).acquireLease(i % 3 === 0 ? -1 : 15 + (i % 46))),
        ),
      );
      const winners = answers.flatMap((a, i) => (a.status === 201 ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(answers[winners[0]].leaseId).toBe(ids[winners[0]]);
      expect(answers.filter((a) => a.status === 409 && a.code === 'LeaseAlreadyPresent')).toHaveLength(63);
      const events = await leaseEvents(via[0]);
      expect(events.map((e) => [e.type, e.data.leaseId, e.data.epoch])).toEqual([
        ['ShareLeaseAcquired', ids[winners[0]], 1],
      ]);
      expect(await expectReplayMatches(via)).toMatchObject({ status: 'leased', leaseId: ids[winners[0]] });
    });
  });

  it("concurrent acquires of the share's lease and of two of its snapshots' through both processes: one holder each, every loser 409", async () => {
    const via = await newShare();
    const snapshots = [(await via[0].createSnapshot()).snapshot!, (await via[0].createSnapshot()).snapshot!];
    // The share's own lease (undefined) and each snapshot's: three subjects on one stream.
    const subjects = [undefined, ...snapshots];
    await Promise.all(via.flatMap((s) => Array.from({ length: 32 }, () => s.getProperties())));
    const attempts = subjects.flatMap((snapshot, k) =>
      Array.from({ length: 32 }, (_, i) => ({ snapshot, leaseId: id(50_000 + k * 100 + i), through: via[i % 2] })),
    );
    const answers = await Promise.all(
      attempts.map(({ snapshot, leaseId, through }, i) =>
        answer(
          (snapshot === undefined ? through : through.withSnapshot(snapshot))
            .getShareLeaseClient(leaseId)
            .acquireLease(i % 3 === 0 ? -1 : 15 + (i % 46)),
        ),
      ),
    );
    for (const snapshot of subjects) {
      const mine = attempts.flatMap((a, i) =>
        a.snapshot === snapshot ? [{ proposed: a.leaseId, ...answers[i] }] : [],
      );
      const winners = mine.filter((a) => a.status === 201);
      expect(winners).toHaveLength(1);
      expect(winners[0].leaseId).toBe(winners[0].proposed);
      expect(mine.filter((a) => a.status === 409 && a.code === 'LeaseAlreadyPresent')).toHaveLength(31);
      const events = await shareEvents(db, ACCOUNT, via[0].name, true, snapshot);
      expect(events.map((e) => [e.type, e.data.leaseId, e.data.epoch, e.data.snapshot])).toEqual([
        ['ShareLeaseAcquired', winners[0].leaseId, 1, snapshot],
      ]);
      const { replayed, projected } = await replayedAndProjected(db, ACCOUNT, via[0].name, snapshot);
      expect(projected).toEqual(replayed);
      expect(replayed).toMatchObject({ status: 'leased', leaseId: winners[0].leaseId, epoch: 1 });
    }
  });

  it('the process whose clock is 10 minutes ahead can neither steal a 15 s lease nor stretch one', async () => {
    const via = await newShare();
    await via[0].getShareLeaseClient(A).acquireLease(15);
    expect(await answer(via[1].getShareLeaseClient(id(7)).acquireLease(15))).toMatchObject({
      status: 409,
      code: 'LeaseAlreadyPresent',
    });
    expect(await via[1].getProperties()).toMatchObject({
      leaseState: 'leased',
      leaseStatus: 'locked',
      leaseDuration: 'fixed',
    });
    const before = await dbNow(db);
    expect(await answer(renew(via[1].getShareLeaseClient(A)))).toMatchObject({ status: 200, leaseId: A });
    const after = await dbNow(db);
    const renewed = (await leaseEvents(via[0])).at(-1)!;
    expect(renewed.type).toBe('ShareLeaseRenewed');
    // The new expiry is the database's now + 15 s, not the skewed process's. A renewal of a lease the
    // process remembers decides at its estimate of the database's clock, which may lag it (never lead
    // it) by up to DECIDED_WITHIN_MS: a busy machine's run decided 5 ms before `before`.
    expect(Date.parse(renewed.data.expiresAt)).toBeGreaterThanOrEqual(before + 15_000 - DECIDED_WITHIN_MS);
    expect(Date.parse(renewed.data.expiresAt)).toBeLessThanOrEqual(after + 15_000);
    await expectReplayMatches(via);
  });

  /**
   * Checks a stream against the rules, event by event, at each event's decision instant (for a
   * fixed lease, its expiry minus its duration): a new holder only once the previous lease had
   * expired or was released or broken, the epoch +1 for each, renewals only by the holder of a
   * lease nobody else took, and at most one recorded lapse per lease, at its expiry.
   */
  function expectLawful(recorded: RecordedShareEvent[]): void {
    let state = initialShareLeaseState;
    for (const event of recorded as ShareLeaseEvent[]) {
      if (
        event.type === 'ShareLeaseAcquired' &&
        event.data.previousState !== 'leased' &&
        state.status !== 'available'
      ) {
        expect(event.data.epoch).toBe(state.epoch + 1);
        // A fixed lease was decided at its expiry minus its duration: never before the lease it replaced had expired.
        const previous =
          state.status === 'expired' ? state.expiredAt : state.status === 'leased' ? state.expiresAt : undefined;
        if (previous !== undefined && event.data.expiresAt !== undefined) {
          expect(Date.parse(event.data.expiresAt) - event.data.duration * 1000).toBeGreaterThanOrEqual(previous);
        }
      }
      if (event.type === 'ShareLeaseRenewed') {
        expect(state.status === 'leased' || state.status === 'expired').toBe(true);
        expect((state as { leaseId: string }).leaseId).toBe(event.data.leaseId);
      }
      if (event.type === 'ShareLeaseExpired') {
        expect(state.status).toBe('leased');
        expect(event.data.expiredAt).toBe(new Date((state as { expiresAt: number }).expiresAt).toISOString());
      }
      state = evolveShareLease(state, event);
    }
  }

  describe('on one clock, across the expiry of 15 s leases (the one wait of this file)', () => {
    const RACED = 4;
    let raced: ShareClient[][];
    let swept: ShareClient[];
    let expiresAt = 0;

    const expiryOf = async (via: ShareClient[]) => Date.parse((await leaseEvents(via[0]))[0].data.expiresAt);

    beforeAll(async () => {
      raced = [];
      for (let i = 0; i < RACED; i++) raced.push(await newShare());
      swept = await newShare();
      for (const via of [...raced, swept]) await via[0].getShareLeaseClient(A).acquireLease(15);
      expiresAt = Math.max(...(await Promise.all([...raced, swept].map(expiryOf))));
    });

    it("acquire racing expiry: strangers' acquires and the holder's renewals straddle the instant, through both processes", async () => {
      const expiries = await Promise.all(raced.map(expiryOf));
      await untilDbClock(db, Math.min(...expiries) - 500);
      const start = await dbNow(db);
      const results = await Promise.all(
        raced.map(async (via, s) => {
          // 24 calls per share leaving 30 ms apart from 200 ms before its expiry, alternating
          // processes: strangers acquire throughout, the holder renews only from the expiry on.
          const calls = Array.from({ length: 24 }, (_, i) => async () => {
            await new Promise((r) => setTimeout(r, Math.max(0, expiries[s] - 200 + i * 30 - start)));
            const through = via[(i + s) % 2];
            return i >= 7 && i % 2 === 1
              ? { kind: 'renew', ...(await answer(renew(through.getShareLeaseClient(A)))) }
              : { kind: 'acquire', ...(await answer(through.getShareLeaseClient(id(s * 100 + i)).acquireLease(15))) };
          });
          return { via, answers: await Promise.all(calls.map((c) => c())) };
        }),
      );
      for (const { via, answers } of results) {
        const events = await leaseEvents(via[0]);
        expectLawful(events);
        // Every success is in the log, every refusal is a documented one.
        expect(answers.filter((a) => a.kind === 'acquire' && a.status === 201)).toHaveLength(
          events.filter((e) => e.type === 'ShareLeaseAcquired').length - 1,
        );
        expect(answers.filter((a) => a.kind === 'renew' && a.status === 200)).toHaveLength(
          events.filter((e) => e.type === 'ShareLeaseRenewed').length,
        );
        for (const a of answers.filter((x) => x.status >= 300)) {
          expect(a.status).toBe(409);
          expect(a.kind === 'acquire' ? ['LeaseAlreadyPresent'] : ['LeaseIdMismatchWithLeaseOperation']).toContain(
            a.code,
          );
        }
        // The lapse between A's lease and the next holder is recorded once.
        expect(events.filter((e) => e.type === 'ShareLeaseExpired')).toHaveLength(1);
        // One holder at the end: whoever the log says.
        expect(await expectReplayMatches(via)).toMatchObject({ status: 'leased' });
      }
    });

    it('the worker (clock 10 minutes ahead) records the lapse once, at its instant, not before', async () => {
      await untilDbClock(db, expiresAt);
      const deadline = Date.now() + 30_000;
      let events = await leaseEvents(swept[0]);
      while (!events.some((e) => e.type === 'ShareLeaseExpired') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        events = await leaseEvents(swept[0]);
      }
      const lapses = events.filter((e) => e.type === 'ShareLeaseExpired');
      expect(lapses).toHaveLength(1);
      expect(lapses[0].principal).toBe('system');
      expect(lapses[0].data.expiredAt).toBe(events[0].data.expiresAt);
      expect(lapses[0].recordedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(events[0].data.expiresAt));
      expect((await swept[1].getProperties()).leaseState).toBe('expired');
      await expectReplayMatches(swept);
    });
  });

  describe('renew racing break', () => {
    it.each<[string, number | undefined]>([
      ['break at once (period 0)', 0],
      ['break with a period (Breaking)', 20],
    ])(
      '%s: renewals before the break succeed and are logged before it, those after get 409 LeaseIsBrokenAndCannotBeRenewed',
      async (_label, breakPeriod) => {
        const via = await newShare();
        await via[0].getShareLeaseClient(A).acquireLease(60);
        await Promise.all(via.flatMap((s) => Array.from({ length: 10 }, () => s.getProperties())));
        const renewals = Array.from({ length: 20 }, (_, i) => answer(renew(via[i % 2].getShareLeaseClient(A))));
        const broken = answer(breakShareLease(via[1].getShareLeaseClient(), breakPeriod));
        const more = Array.from({ length: 20 }, (_, i) => answer(renew(via[(i + 1) % 2].getShareLeaseClient(A))));
        const answers = await Promise.all([...renewals, ...more]);
        expect(await broken).toMatchObject({ status: 202, leaseId: A });
        const events = await leaseEvents(via[0]);
        const breakAt = events.findIndex((e) => e.type === 'ShareLeaseBroken');
        expect(events.slice(breakAt + 1).map((e) => e.type)).toEqual([]);
        const renewedBefore = events.slice(0, breakAt).filter((e) => e.type === 'ShareLeaseRenewed').length;
        expect(answers.filter((a) => a.status === 200)).toHaveLength(renewedBefore);
        // 40 writers on one stream: one that loses every one of its retries is told 503 ServerBusy
        // (retryable) and recorded nothing; every other answer is a renewal in the log or a refusal.
        const busy = answers.filter((a) => a.status === 503 && a.code === 'ServerBusy').length;
        expect(answers.filter((a) => a.status === 409 && a.code === 'LeaseIsBrokenAndCannotBeRenewed')).toHaveLength(
          40 - renewedBefore - busy,
        );
        expectLawful(events);
        expect(await expectReplayMatches(via)).toMatchObject({ status: 'broken', leaseId: A, epoch: 2 });
      },
    );
  });
});
