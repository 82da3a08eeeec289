// The chunk runner in this process, against PostgreSQL, with no queue consumer at all: BullMQ
// delivers at least once, so two runners of the same chunk must be safe. Row locks taken by the
// test make the runners' transactions interleave exactly where the test needs them to.
import { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { loadConfig } from '../../libs/config/src';
import { createDataSource, EventStore } from '../../libs/event-store/src';
import { HandleRepository } from '../../libs/handles/src';
import { ChunkOutcome, ForceCloseRunner, JobRepository } from '../../libs/jobs/src';
import {
  cancelJob,
  closeAgent,
  closeRecord,
  createIsolatedDatabase,
  createTree,
  jobStreamEvents,
  openHandleIds,
  pause,
  removeQueue,
  seedHandlesSql,
  Signer,
  submitOk,
  uniqueQueuePrefix,
} from '../support/jobs';
import { startTestService, TestService, uniqueShare } from '../support/service';

const OWNER: Signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
const CHUNK = 100;

let database: { url: string; drop(): Promise<void> };
let prefix: string;
let service: TestService;
let db: Pool;
let dataSource: DataSource;
let runner: ForceCloseRunner;

beforeAll(async () => {
  database = await createIsolatedDatabase('runner');
  // The API queues chunk 1 of every job it accepts; nothing consumes this queue.
  prefix = uniqueQueuePrefix('runner');
  service = await startTestService({ DATABASE_URL: database.url, QUEUE_PREFIX: prefix });
  db = new Pool({ connectionString: database.url, max: 4 });
  dataSource = await createDataSource(database.url, 8).initialize();
  const store = new EventStore(dataSource);
  const config = loadConfig({ DATABASE_URL: database.url, NODE_ENV: 'test', FORCE_CLOSE_CHUNK_SIZE: String(CHUNK) });
  runner = new ForceCloseRunner(store, new JobRepository(store), new HandleRepository(store), config);
}, 60_000);

afterAll(async () => {
  closeAgent();
  await dataSource?.destroy();
  await db?.end();
  await service?.stop();
  await removeQueue(prefix);
  await database?.drop();
});

/** A job over 1,000 handles on ten files under `dir` (ten chunks of 100), submitted through the API. */
async function submittedJob() {
  const share = uniqueShare('runner');
  const client = service.serviceClient().getShareClient(share);
  await client.create();
  const files = Array.from({ length: 10 }, (_, i) => `dir/f${i}`);
  await createTree(client, ['dir'], files);
  await seedHandlesSql(db, DEVELOPMENT_ACCOUNT, share, files, 100);
  const opened = await openHandleIds(db, DEVELOPMENT_ACCOUNT, share, 'dir');
  const job = await submitOk(service.url, OWNER, share, 'dir', { recursive: true });
  return {
    share,
    opened,
    jobId: job.jobId,
    chunk: (n: number) => ({ tenant: DEVELOPMENT_ACCOUNT, jobId: job.jobId, chunk: n }),
  };
}

/** Waits (a bounded number of looks) until `n` other sessions of this database wait for a lock. */
async function untilWaitingForLocks(n: number): Promise<void> {
  for (let look = 0; look < 2000; look++) {
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock'`,
    );
    if (rows[0].n >= n) return;
    await pause(5);
  }
  throw new Error(`${n} sessions never came to wait for a lock`);
}

/** Holds row locks in a transaction of its own until release(). */
async function holdLocks(sql: string, params: unknown[]): Promise<{ release(): Promise<void> }> {
  const client: PoolClient = await db.connect();
  await client.query('BEGIN');
  const { rowCount } = await client.query(sql, params);
  if (!rowCount) throw new Error('locked nothing');
  return {
    release: async () => {
      await client.query('COMMIT');
      client.release();
    },
  };
}

async function jobRow(jobId: string) {
  const { rows } = await db.query(
    `SELECT state, chunks_done, closed::int, cancel_requested, version FROM jobs WHERE job_id = $1`,
    [jobId],
  );
  return rows[0];
}

describe('ForceCloseRunner', () => {
  it('stops a second runner of the same chunk with the expected-version conflict: the chunk is recorded once, nothing is closed twice', async () => {
    const job = await submittedJob();
    // The job's row locked: both runners read the job at version 1, close their chunk, and queue
    // up on the row; the first to get it records chunk 1, the other's append finds version 2.
    const lock = await holdLocks(`SELECT 1 FROM jobs WHERE job_id = $1 FOR UPDATE`, [job.jobId]);
    let both: Promise<ChunkOutcome[]>;
    try {
      both = Promise.all([runner.runChunk(job.chunk(1)), runner.runChunk(job.chunk(1))]);
      // One waits for the job row, the other for the first one's handle rows.
      await untilWaitingForLocks(2);
    } finally {
      await lock.release();
    }
    const outcomes = await both;

    expect(outcomes.map((o) => o.recorded).sort()).toEqual([false, true]);
    // The loser read the job again, found chunk 1 recorded, and only points on to chunk 2.
    expect(outcomes.map((o) => o.next?.chunk)).toEqual([2, 2]);
    expect(await jobRow(job.jobId)).toEqual({
      state: 'running',
      chunks_done: 1,
      closed: CHUNK,
      cancel_requested: false,
      version: 2,
    });
    const events = await jobStreamEvents(db, DEVELOPMENT_ACCOUNT, job.jobId);
    expect(events.map((e) => [e.type, e.data.chunk])).toEqual([
      ['ForceCloseJobSubmitted', undefined],
      ['ForceCloseChunkCompleted', 1],
    ]);
    // The loser's closes (the next hundred handles) were rolled back with its append.
    expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, job.opened.slice(0, CHUNK))).toEqual({
      open: 0,
      closedOnce: CHUNK,
      closedTwiceOrMore: 0,
      neither: 0,
    });
    expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, job.opened.slice(CHUNK))).toEqual({
      open: 900,
      closedOnce: 0,
      closedTwiceOrMore: 0,
      neither: 0,
    });

    // The rest of the job with two runners on every chunk, unsynchronised: still exact.
    let n = 2;
    for (; n <= 20; n++) {
      const pair = await Promise.all([runner.runChunk(job.chunk(n)), runner.runChunk(job.chunk(n))]);
      expect(pair.filter((o) => o.recorded).length).toBe(1);
      if (pair.every((o) => !o.next)) break;
    }
    expect(n).toBe(10);
    expect(await jobRow(job.jobId)).toMatchObject({ state: 'completed', chunks_done: 10, closed: 1000 });
    const all = await jobStreamEvents(db, DEVELOPMENT_ACCOUNT, job.jobId);
    expect(all.map((e) => e.type)).toEqual([
      'ForceCloseJobSubmitted',
      ...Array(10).fill('ForceCloseChunkCompleted'),
      'ForceCloseJobCompleted',
    ]);
    expect(all.filter((e) => e.type === 'ForceCloseChunkCompleted').map((e) => e.data.chunk)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, job.opened)).toEqual({
      open: 0,
      closedOnce: 1000,
      closedTwiceOrMore: 0,
      neither: 0,
    });
  });

  it('does nothing for a chunk delivered again after it was recorded (a replay after a crash), and only points on', async () => {
    const job = await submittedJob();
    const first = await runner.runChunk(job.chunk(1));
    expect(first).toMatchObject({ recorded: true, next: job.chunk(2) });
    const replay = await runner.runChunk(job.chunk(1));
    expect(replay).toMatchObject({ recorded: false, next: job.chunk(2) });
    expect(await jobRow(job.jobId)).toMatchObject({ chunks_done: 1, closed: CHUNK, version: 2 });
    expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, job.opened)).toEqual({
      open: 900,
      closedOnce: CHUNK,
      closedTwiceOrMore: 0,
      neither: 0,
    });
  });

  it('ends the job when a cancel request is recorded while a chunk is in hand, instead of leaving it with nothing queued', async () => {
    const job = await submittedJob();
    await runner.runChunk(job.chunk(1));
    // Chunk 2's first handle locked: the runner reads the job (version 2), then waits in its close.
    const lock = await holdLocks(`SELECT 1 FROM handles WHERE handle_id = $1 FOR UPDATE`, [job.opened[CHUNK]]);
    let inHand: Promise<ChunkOutcome>;
    try {
      inHand = runner.runChunk(job.chunk(2));
      await untilWaitingForLocks(1);
      // Meanwhile the owner cancels through the API: the job's stream moves to version 3.
      const cancel = await cancelJob(service.url, OWNER, job.jobId);
      expect(cancel.status).toBe(202);
    } finally {
      await lock.release();
    }
    const outcome = await inHand;

    // Chunk 2's append conflicted and rolled back; read again, the job is cancelled after chunk 1.
    expect(outcome.recorded).toBe(true);
    expect(outcome.next).toBeUndefined();
    expect(await jobRow(job.jobId)).toMatchObject({
      state: 'cancelled',
      chunks_done: 1,
      closed: CHUNK,
      cancel_requested: true,
    });
    const events = await jobStreamEvents(db, DEVELOPMENT_ACCOUNT, job.jobId);
    expect(events.map((e) => e.type)).toEqual([
      'ForceCloseJobSubmitted',
      'ForceCloseChunkCompleted',
      'ForceCloseJobCancelRequested',
      'ForceCloseJobCancelled',
    ]);
    expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, job.opened)).toEqual({
      open: 900,
      closedOnce: CHUNK,
      closedTwiceOrMore: 0,
      neither: 0,
    });
  });
});
