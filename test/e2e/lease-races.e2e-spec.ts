// Lease File under contention, across TWO API processes (the compiled main.js, as production runs
// it) sharing one database: no two holders, no lost or phantom events, and every outcome one that
// some serial order of the same calls, run through the tables of docs/lease-file.md, would give.
import { RestError, ShareClient, ShareFileClient } from '@azure/storage-file-share';
import { isDeepStrictEqual } from 'node:util';
import { Pool } from 'pg';
import {
  decideFileAccess,
  decideLease,
  DomainError,
  evolveLease,
  initialLeaseState,
  isLeaseError,
  LeaseCommand,
  LeaseDecision,
  LeaseError,
  LeaseEvent,
  LeaseState,
} from '../../libs/domain/src';
import { azureErrorOf } from '../../libs/wire/src';

/** The status the wire answers a refusal with. */
const statusOf = (refusal: LeaseError) => azureErrorOf(new DomainError(refusal.error)).status;
import {
  ApiBuild,
  ApiProcess,
  buildApi,
  ensureDevelopmentAccount,
  serviceClientAt,
  startApiProcess,
} from '../support/processes';
import { testDatabaseUrl, uniqueShare } from '../support/service';

const ACCOUNT = 'devstoreaccount1';
const EPOCH_HEADER = 'x-leasehold-lease-epoch';
const LEASE_EVENTS = ['LeaseAcquired', 'LeaseChanged', 'LeaseReleased', 'LeaseBroken', 'BrokenLeaseCleared'];
const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** What one call got back. */
interface Answer {
  status: number;
  code?: string;
  leaseId?: string;
  requestId?: string;
}

async function answer(
  call: Promise<{ _response: { status: number; headers: { get(n: string): string | undefined } }; leaseId?: string }>,
): Promise<Answer> {
  try {
    const r = await call;
    return { status: r._response.status, leaseId: r.leaseId, requestId: r._response.headers.get('x-ms-request-id') };
  } catch (error) {
    if (!(error instanceof RestError) || error.statusCode === undefined) throw error;
    return { status: error.statusCode, code: error.code };
  }
}

/** A lease call as the test fires it and as the model (the pure decider) sees it. */
interface Call {
  command: LeaseCommand;
  run: (file: ShareFileClient) => Promise<Answer>;
}
const acquire = (leaseId: string): Call => ({
  // Every acquire here proposes its id, so the model never needs to generate one.
  command: { action: 'acquire', proposedLeaseId: leaseId, generatedLeaseId: 'never-used' },
  run: (file) => answer(file.getShareLeaseClient(leaseId).acquireLease()),
});
const breakIt = (): Call => ({
  command: { action: 'break' },
  run: (file) => answer(file.getShareLeaseClient().breakLease()),
});
const change = (from: string, to: string): Call => ({
  command: { action: 'change', leaseId: from, proposedLeaseId: to },
  run: (file) => answer(file.getShareLeaseClient(from).changeLease(to)),
});
const release = (leaseId: string): Call => ({
  command: { action: 'release', leaseId },
  run: (file) => answer(file.getShareLeaseClient(leaseId).releaseLease()),
});

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
  );
}

/**
 * Linearisability against the tables of docs/lease-file.md: is there a serial order of the calls in which the
 * decider gives every call the answer it got (status class, error code, returned id) and appends
 * exactly the events the store holds? Returns the state that order ends in.
 */
function explain(
  initial: LeaseState,
  calls: Call[],
  answers: Answer[],
  appended: LeaseEvent[],
): LeaseState | undefined {
  for (const order of permutations(calls.length)) {
    let state = initial;
    const events: LeaseEvent[] = [];
    const fits = order.every((i) => {
      const decision = decideLease(calls[i].command, state);
      const got = answers[i];
      if (isLeaseError(decision)) return got.status === statusOf(decision) && got.code === decision.error;
      if (got.status >= 300) return false;
      const { action } = calls[i].command;
      if ((action === 'acquire' || action === 'change') && got.leaseId !== decision.leaseId) return false;
      events.push(...decision.events);
      state = decision.events.reduce(evolveLease, state);
      return true;
    });
    if (fits && isDeepStrictEqual(events, appended)) return state;
  }
  return undefined;
}

describe('Lease File races across two API processes', () => {
  let build: ApiBuild | undefined;
  const processes: ApiProcess[] = [];
  let db: Pool;
  let shares: ShareClient[];

  beforeAll(async () => {
    db = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
    const [built] = await Promise.all([buildApi(), ensureDevelopmentAccount(testDatabaseUrl())]);
    build = built;
    // Pushed one by one, so afterAll stops whatever did start even if the second one fails.
    for (let i = 0; i < 2; i++) processes.push(await startApiProcess(build, testDatabaseUrl()));
    const name = uniqueShare('race');
    shares = processes.map((p) => serviceClientAt(p.url).getShareClient(name));
    await shares[0].create();
  }, 180_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    build?.remove();
    await db?.end();
  });

  it('runs two separate processes against one database', () => {
    expect(processes).toHaveLength(2);
    expect(processes[0].pid).not.toBe(processes[1].pid);
    expect(processes[0].pid).not.toBe(process.pid);
    expect(processes[0].url).not.toBe(processes[1].url);
  });

  let files = 0;
  /** One file, as seen through each process. */
  async function newFile(): Promise<{ via: ShareFileClient[]; stream: string }> {
    const name = `race-${files++}.bin`;
    const via = shares.map((s) => s.rootDirectoryClient.getFileClient(name));
    const created = await via[0].create(8);
    return { via, stream: `node-${created.fileId}` };
  }

  async function leaseEvents(stream: string): Promise<Array<LeaseEvent & { requestId: string }>> {
    const { rows } = await db.query(
      `SELECT type, data, metadata->>'requestId' AS "requestId" FROM events
       WHERE tenant = $1 AND stream_id = $2 AND type = ANY($3) ORDER BY stream_version`,
      [ACCOUNT, stream, LEASE_EVENTS],
    );
    return rows;
  }

  const replay = (events: LeaseEvent[]) => events.reduce(evolveLease, initialLeaseState);
  const bare = (events: Array<LeaseEvent & { requestId: string }>): LeaseEvent[] =>
    events.map(({ type, data }) => ({ type, data }) as LeaseEvent);

  /**
   * The service's view of the lease must be the replayed one, through both processes: state,
   * status, duration and fencing epoch from Get File Properties, the holder by reading with its id
   * (and a stranger's id refused), and the projected row.
   */
  async function expectServiceAgrees(
    file: { via: ShareFileClient[]; stream: string },
    state: LeaseState,
  ): Promise<void> {
    for (const via of file.via) {
      const props = await via.getProperties();
      expect({
        state: props.leaseState,
        status: props.leaseStatus,
        duration: props.leaseDuration,
        epoch: Number(props._response.headers.get(EPOCH_HEADER)),
      }).toEqual({
        state: state.status,
        status: state.status === 'leased' ? 'locked' : 'unlocked',
        duration: state.status === 'leased' ? 'infinite' : undefined,
        epoch: state.epoch,
      });
      if (state.status === 'leased') {
        expect((await answer(via.getProperties({ leaseAccessConditions: { leaseId: state.leaseId } }))).status).toBe(
          200,
        );
        expect(await answer(via.getProperties({ leaseAccessConditions: { leaseId: id(0xdead) } }))).toMatchObject({
          status: 409,
        });
      }
    }
    const { rows } = await db.query(`SELECT lease_state, lease_id, lease_epoch FROM nodes WHERE file_id = $1`, [
      file.stream.slice('node-'.length),
    ]);
    expect(rows).toEqual([
      {
        lease_state: state.status,
        lease_id: state.status === 'available' ? null : state.leaseId,
        lease_epoch: String(state.epoch),
      },
    ]);
  }

  describe('64 concurrent acquires of one file with different proposed ids, 32 through each process', () => {
    const ROUNDS = 4;
    it.each(Array.from({ length: ROUNDS }, (_, r) => r + 1))(
      'round %i: exactly one wins, 63 get 409 LeaseAlreadyPresent, one event',
      async (round) => {
        const file = await newFile();
        // Open the connections first, so the acquires leave together instead of queueing on handshakes.
        await Promise.all(file.via.flatMap((via) => Array.from({ length: 32 }, () => via.getProperties())));
        const ids = Array.from({ length: 64 }, (_, i) => id(round * 1000 + i));
        const answers = await Promise.all(
          ids.map((leaseId, i) => answer(file.via[i % 2].getShareLeaseClient(leaseId).acquireLease())),
        );

        const winners = answers.flatMap((a, i) => (a.status === 201 ? [i] : []));
        expect(winners).toHaveLength(1);
        const winner = winners[0];
        expect(answers[winner].leaseId).toBe(ids[winner]);
        expect(answers.filter((a) => a.status === 409 && a.code === 'LeaseAlreadyPresent')).toHaveLength(63);

        const events = await leaseEvents(file.stream);
        expect(bare(events)).toEqual([
          { type: 'LeaseAcquired', data: { leaseId: ids[winner], epoch: 1, previousState: 'available' } },
        ]);
        expect(events[0].requestId).toBe(answers[winner].requestId);
        await expectServiceAgrees(file, replay(bare(events)));
      },
    );
  });

  /**
   * Sets the file up in `initial` through the service, fires `calls` at once (alternating
   * processes, starting with `first`), and checks the outcome against the tables and the stream.
   */
  async function race(initial: 'available' | 'leased' | 'broken', calls: Call[], first: 0 | 1): Promise<void> {
    const file = await newFile();
    if (initial !== 'available') await file.via[0].getShareLeaseClient(A).acquireLease();
    if (initial === 'broken') await file.via[1].getShareLeaseClient().breakLease();
    const before = await leaseEvents(file.stream);
    const start = replay(bare(before));

    const answers = await Promise.all(calls.map((call, i) => call.run(file.via[(first + i) % 2])));

    const all = await leaseEvents(file.stream);
    const appended = all.slice(before.length);
    // Every recorded event was caused by a call that was told it succeeded.
    const succeeded = new Set(answers.filter((a) => a.status < 300).map((a) => a.requestId));
    for (const event of appended) expect(succeeded).toContain(event.requestId);

    const explained = explain(start, calls, answers, bare(appended));
    if (!explained) {
      throw new Error(
        `no serial order explains this outcome: ${JSON.stringify({ initial, calls: calls.map((c) => c.command), answers, appended: bare(appended) }, null, 1)}`,
      );
    }
    // The stream replays to the state the explaining order ends in, and the service reports it.
    expect(replay(bare(all))).toEqual(explained);
    await expectServiceAgrees(file, explained);
  }

  /** Rounds in batches of six independent files at a time, so the database sees contention on several rows at once. */
  async function rounds(count: number, round: (i: number) => Promise<void>): Promise<void> {
    for (let batch = 0; batch < count; batch += 6) {
      await Promise.all(Array.from({ length: Math.min(6, count - batch) }, (_, k) => round(batch + k)));
    }
  }

  const STATES = ['available', 'leased', 'broken'] as const;

  it('acquire racing break: always an outcome the tables allow, and the stream replays to it', async () => {
    await rounds(36, (i) => race(STATES[i % 3], [acquire(B), breakIt(), acquire(C), breakIt()], (i % 2) as 0 | 1));
  });

  it('acquire (A) of its own lease racing break', async () => {
    await rounds(24, (i) => race(STATES[i % 3], [acquire(A), breakIt()], (i % 2) as 0 | 1));
  });

  it('change racing release: always an outcome the tables allow, and the stream replays to it', async () => {
    await rounds(36, (i) =>
      race(i % 3 === 2 ? 'broken' : 'leased', [change(A, B), release(A), change(A, C), release(B)], (i % 2) as 0 | 1),
    );
  });

  it('every kind of call at once', async () => {
    await rounds(30, (i) =>
      race(STATES[i % 3], [acquire(B), change(A, C), release(A), breakIt(), release(B)], (i % 2) as 0 | 1),
    );
  });

  it('writes racing change, break and acquire: every write lands under the lease it was allowed by', async () => {
    type Racer = {
      name: string;
      write: boolean;
      decide(state: LeaseState): LeaseDecision;
      run(file: ShareFileClient): Promise<Answer>;
    };
    const write = (leaseId?: string): Racer => ({
      name: `write with ${leaseId ?? 'no lease id'}`,
      write: true,
      decide: (state) => decideFileAccess({ kind: 'write', leaseId }, state),
      run: (file) =>
        answer(
          file.setMetadata({ by: 'racer' }, { leaseAccessConditions: leaseId === undefined ? undefined : { leaseId } }),
        ),
    });
    const lease = (call: Call): Racer => ({
      name: call.command.action,
      write: false,
      decide: (state) => decideLease(call.command, state),
      run: call.run,
    });

    for (let round = 0; round < 12; round++) {
      const file = await newFile();
      await file.via[round % 2].getShareLeaseClient(A).acquireLease();
      const start = replay(bare(await leaseEvents(file.stream)));
      const {
        rows: [{ version }],
      } = await db.query(`SELECT count(*)::int AS version FROM events WHERE stream_id = $1`, [file.stream]);
      const racers = [
        ...[A, A, A, A, A, A, B, B, B, B, undefined, undefined, undefined, undefined].map(write),
        lease(change(A, B)),
        lease(breakIt()),
        lease(acquire(C)),
      ];
      const answers = await Promise.all(racers.map((racer, i) => racer.run(file.via[(round + i) % 2])));

      // Replay the stream request by request, re-deciding each against the state it found: the store
      // must hold a serial history the tables allow, in which no call appears twice and no refused
      // call appears at all.
      const { rows } = await db.query(
        `SELECT type, data, metadata->>'requestId' AS "requestId" FROM events
         WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version`,
        [file.stream, version],
      );
      const byRequest = new Map(answers.flatMap((a, i) => (a.status < 300 ? [[a.requestId, i] as const] : [])));
      let state = start;
      const history = [state];
      const applied = new Set<number>();
      for (let at = 0; at < rows.length;) {
        let end = at;
        while (end < rows.length && rows[end].requestId === rows[at].requestId) end++;
        const group = rows.slice(at, end);
        at = end;
        const i = byRequest.get(group[0].requestId);
        if (i === undefined || applied.has(i))
          throw new Error(`events of an unknown, refused or repeated request: ${JSON.stringify(group)}`);
        applied.add(i);
        const decision = racers[i].decide(state);
        if (isLeaseError(decision))
          throw new Error(
            `${racers[i].name} succeeded on ${JSON.stringify(state)}, where the tables say ${decision.error}`,
          );
        const leaseGroup = group.filter((e) => LEASE_EVENTS.includes(e.type));
        expect(bare(leaseGroup)).toEqual(decision.events);
        expect(group.slice(leaseGroup.length).map((e) => e.type)).toEqual(racers[i].write ? ['FileMetadataSet'] : []);
        state = decision.events.reduce(evolveLease, state);
        history.push(state);
      }
      answers.forEach((a, i) => {
        // Writes always record an event; a lease call may succeed idempotently and record none.
        if (a.status < 300) return racers[i].write && expect(applied.has(i)).toBe(true);
        // A refusal must be what the tables say in some state the file passed through.
        const possible = history.some((h) => {
          const d = racers[i].decide(h);
          return isLeaseError(d) && statusOf(d) === a.status && d.error === a.code;
        });
        expect([racers[i].name, a.status, a.code, possible]).toEqual([racers[i].name, a.status, a.code, true]);
      });
      expect(replay(bare(await leaseEvents(file.stream)))).toEqual(state);
      await expectServiceAgrees(file, state);
    }
  });

  it('a process answers from the file as it is now, not from the state it remembers writing', async () => {
    const file = await newFile();
    const [p0, p1] = file.via;
    // p0 acquires with A, and so remembers the file leased by A; p1 then releases A and B acquires.
    expect(await answer(p0.getShareLeaseClient(A).acquireLease())).toMatchObject({ status: 201, leaseId: A });
    expect(await answer(p1.getShareLeaseClient(A).releaseLease())).toMatchObject({ status: 200 });
    expect(await answer(p1.getShareLeaseClient(B).acquireLease())).toMatchObject({ status: 201, leaseId: B });
    // On p0's memory, acquiring with A again is an idempotent success with nothing to write; it must be refused.
    expect(await answer(p0.getShareLeaseClient(A).acquireLease())).toMatchObject({
      status: 409,
      code: 'LeaseAlreadyPresent',
    });
    // p1 releases B; p0 last saw B holding it: its refusal on memory is decided again, and C gets the lease.
    expect(await answer(p1.getShareLeaseClient(B).releaseLease())).toMatchObject({ status: 200 });
    expect(await answer(p0.getShareLeaseClient(C).acquireLease())).toMatchObject({ status: 201, leaseId: C });
    // p1 remembers the file available; changing C's lease there is decided on the file as it is.
    expect(await answer(p1.getShareLeaseClient(C).changeLease(A))).toMatchObject({ status: 200, leaseId: A });
    // On p0's memory (C holds it), releasing with C would write; the version guard stops it, and the current state refuses it.
    expect(await answer(p0.getShareLeaseClient(C).releaseLease())).toMatchObject({
      status: 409,
      code: 'LeaseIdMismatchWithLeaseOperation',
    });
    // A break on p0's memory is guarded the same way, and breaks A's lease, not C's.
    expect(await answer(p0.getShareLeaseClient().breakLease())).toMatchObject({ status: 202 });

    const events = bare(await leaseEvents(file.stream));
    expect(events).toEqual([
      { type: 'LeaseAcquired', data: { leaseId: A, epoch: 1, previousState: 'available' } },
      { type: 'LeaseReleased', data: { leaseId: A, fromState: 'leased' } },
      { type: 'LeaseAcquired', data: { leaseId: B, epoch: 2, previousState: 'available' } },
      { type: 'LeaseReleased', data: { leaseId: B, fromState: 'leased' } },
      { type: 'LeaseAcquired', data: { leaseId: C, epoch: 3, previousState: 'available' } },
      { type: 'LeaseChanged', data: { fromLeaseId: C, toLeaseId: A, epoch: 4 } },
      { type: 'LeaseBroken', data: { leaseId: A, epoch: 5 } },
    ]);
    await expectServiceAgrees(file, replay(events));
  });

  it('the epoch never goes backwards and the row never disagrees with the stream under a long mixed run on one file', async () => {
    const file = await newFile();
    const ids = [A, B, C];
    let previousEpoch = 0;
    for (let r = 0; r < 20; r++) {
      const calls = [
        acquire(ids[r % 3]),
        change(ids[r % 3], ids[(r + 1) % 3]),
        breakIt(),
        release(ids[(r + 2) % 3]),
        acquire(ids[(r + 1) % 3]),
      ];
      const before = await leaseEvents(file.stream);
      const answers = await Promise.all(calls.map((call, i) => call.run(file.via[(r + i) % 2])));
      const all = await leaseEvents(file.stream);
      const explained = explain(replay(bare(before)), calls, answers, bare(all.slice(before.length)));
      expect(explained).toBeDefined();
      expect(replay(bare(all))).toEqual(explained);
      expect(explained!.epoch).toBeGreaterThanOrEqual(previousEpoch);
      previousEpoch = explained!.epoch;
      await expectServiceAgrees(file, explained!);
    }
  });
});
