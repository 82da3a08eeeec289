// Queued force-close jobs end to end: the API in this process, the worker as real `node main.js`
// processes (killed with SIGKILL where the test says so), PostgreSQL and Redis. Every assertion is
// on recorded state: the jobs row, the job's event stream, the handle streams and the handles table.
import { Pool } from 'pg';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { chunkJobId } from '../../libs/jobs/src/queue';
import { ApiBuild, buildApi, startWorkerProcess, WorkerProcess } from '../support/processes';
import { startTestService, TestService, uniqueShare } from '../support/service';
import {
  activeChunks,
  cancelJob,
  closeAgent,
  closeQueue,
  closeRecord,
  createIsolatedDatabase,
  createTree,
  getJob,
  inParallel,
  isEnded,
  Job,
  jobStreamEvents,
  listJobs,
  openHandle,
  openHandleIds,
  openQueue,
  parseJob,
  parseJobList,
  pause,
  pollJob,
  queueEntries,
  removeQueue,
  seedHandlesSql,
  Signer,
  submitJob,
  submitOk,
  uniqueQueuePrefix,
} from '../support/jobs';

const OWNER: Signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };

let database: { url: string; drop(): Promise<void> };
let prefix: string;
let build: ApiBuild;
let service: TestService;
let db: Pool;
const workers: WorkerProcess[] = [];

async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(build, database.url, { QUEUE_PREFIX: prefix, ...env });
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  database = await createIsolatedDatabase('jobs');
  prefix = uniqueQueuePrefix('jobs');
  build = await buildApi();
  service = await startTestService({ DATABASE_URL: database.url, QUEUE_PREFIX: prefix });
  db = new Pool({ connectionString: database.url, max: 4 });
}, 120_000);

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

afterAll(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  closeAgent();
  await db?.end();
  await service?.stop();
  await removeQueue(prefix);
  build?.remove();
  await database?.drop();
}, 60_000);

/** Every job in the database has ended: none is left for a later test's worker to pick up. */
async function expectNoUnfinishedJobs(): Promise<void> {
  const { rows } = await db.query(`SELECT job_id, state FROM jobs WHERE state IN ('queued', 'running')`);
  expect(rows).toEqual([]);
}

/** The job's stream, checked event by event: Submitted, ChunkCompleted 1..n with their counts, then `last`. */
async function expectJobStream(
  tenant: string,
  job: Job,
  last: 'ForceCloseJobCompleted' | 'ForceCloseJobCancelled',
  chunkSize: number,
) {
  const events = await jobStreamEvents(db, tenant, job.jobId);
  expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1));
  expect(events[0].type).toBe('ForceCloseJobSubmitted');
  expect(events[events.length - 1].type).toBe(last);
  const chunks = events.filter((e) => e.type === 'ForceCloseChunkCompleted');
  expect(chunks.map((e) => e.data.chunk)).toEqual(chunks.map((_, i) => i + 1));
  // Every chunk but the last closes a full chunk; the counts add up to the job's total.
  chunks.slice(0, -1).forEach((e) => expect(e.data.closed).toBe(chunkSize));
  expect(chunks.reduce((sum, e) => sum + e.data.closed, 0)).toBe(job.handlesClosed);
  // No `failed` count: closing a handle cannot fail (one closed meanwhile is simply gone), so the figure is not recorded.
  expect(chunks.every((e) => !('failed' in e.data))).toBe(true);
  // Every event of the job names the job and who asked for it.
  expect(events.slice(1).every((e) => e.metadata.principal === tenant)).toBe(true);
  return { events, chunks };
}

/** A new share holding tree `t`, with `perFile` handles open on each of its files; their ids. */
async function treeWithHandles(
  tag: string,
  t: { directories: string[]; files: string[] },
  perFile: number,
): Promise<{ share: string; opened: string[] }> {
  const share = uniqueShare(tag);
  const client = service.serviceClient().getShareClient(share);
  await client.create();
  await createTree(client, t.directories, t.files);
  await seedHandlesSql(db, DEVELOPMENT_ACCOUNT, share, t.files, perFile);
  return { share, opened: await openHandleIds(db, DEVELOPMENT_ACCOUNT, share) };
}

/** Every handle in `opened` was opened, then closed exactly once; none is open. */
async function expectClosedOnce(opened: string[]): Promise<void> {
  expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, opened)).toEqual({
    open: 0,
    closedOnce: opened.length,
    closedTwiceOrMore: 0,
    neither: 0,
  });
}

/**
 * Each chunk continued from the marker the chunk before it recorded: the handles a chunk closed
 * (its HandlesForceClosed event names the chunk) all sort after the previous chunk's marker and no
 * later than its own.
 */
async function expectChunksFollowMarkers(tenant: string, jobId: string): Promise<void> {
  const { rows } = await db.query(
    `WITH chunk AS (
       SELECT (data->>'chunk')::int AS n, data->'next' AS next FROM events WHERE tenant = $1 AND stream_id = $2 AND type = 'ForceCloseChunkCompleted'
     ), named AS MATERIALIZED (
       SELECT (regexp_match(c.metadata->>'requestId', '-chunk-(\\d+)$'))[1]::int AS n, id
       FROM events c CROSS JOIN LATERAL jsonb_array_elements_text(c.data->'handleIds') id
       WHERE c.tenant = $1 AND c.type = 'HandlesForceClosed' AND c.metadata->>'jobId' = $3
     ), closed AS MATERIALIZED (
       -- A chunk names its handles by id; their node keys are in their HandleOpened events.
       SELECT x.n, o.data->>'nodeKey' AS node_key, x.id::bigint AS handle_id
       FROM named x JOIN events o ON o.tenant = $1 AND o.stream_id = 'handle-' || x.id AND o.stream_version = 1
     )
     SELECT c.n, count(*)::int AS closed,
            count(*) FILTER (WHERE p.next IS NOT NULL AND (x.node_key, x.handle_id) <= (p.next->>'nodeKey', (p.next->>'handleId')::bigint))::int AS before_previous_marker,
            count(*) FILTER (WHERE c.next IS NOT NULL AND (x.node_key, x.handle_id) > (c.next->>'nodeKey', (c.next->>'handleId')::bigint))::int AS after_own_marker
     FROM chunk c LEFT JOIN chunk p ON p.n = c.n - 1 JOIN closed x ON x.n = c.n
     GROUP BY c.n ORDER BY c.n`,
    [tenant, `job-${jobId}`, jobId],
  );
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows)
    expect({ chunk: row.n, before: row.before_previous_marker, after: row.after_own_marker }).toEqual({
      chunk: row.n,
      before: 0,
      after: 0,
    });
}

/** A tree under `root`: directories `root/dI` and `root/dI/eJ`, files `root/dI/eJ/fK`. */
function tree(root: string, d: number, e: number, f: number) {
  const level1 = Array.from({ length: d }, (_, i) => `${root}/d${i}`);
  const level2 = level1.flatMap((p) => Array.from({ length: e }, (_, j) => `${p}/e${j}`));
  const files = level2.flatMap((p) => Array.from({ length: f }, (_, k) => `${p}/f${k}`));
  return { directories: [root, ...level1, ...level2], level1, level2, files };
}

describe('queued force-close jobs', () => {
  it('closes a tree of 20,000 handles opened through the API exactly once each, chunk by chunk, with progress on the way', async () => {
    const share = uniqueShare('jobs-big');
    const client = service.serviceClient().getShareClient(share);
    await client.create();
    // 4 × 5 directories, 80 files; 'big2' and the share root are outside the job's scope.
    const t = tree('big', 4, 5, 4);
    await createTree(client, [...t.directories, 'big2'], [...t.files, 'big2/f']);
    // Round by round over the nodes: an open locks its node, so concurrent opens go to different ones.
    const perNode = new Map<string, number>([
      ...t.files.map((f) => [f, 240] as const),
      ...t.level1.map((d) => [d, 100] as const),
      ...t.level2.map((d) => [d, 20] as const),
    ]);
    const targets = Array.from({ length: 240 }, (_, round) =>
      [...perNode].filter(([, n]) => round < n).map(([path]) => path),
    ).flat();
    expect(targets.length).toBe(20_000);
    const opened = await inParallel(targets, 16, (path) => openHandle(service.url, OWNER, share, path));
    const outside = await inParallel(['big2', 'big2/f', '', 'big2', 'big2/f', ''], 6, (path) =>
      openHandle(service.url, OWNER, share, path),
    );

    await startWorker({ FORCE_CLOSE_CHUNK_SIZE: '1000', WORKER_CONCURRENCY: '2' });
    const submitted = await submitOk(service.url, OWNER, share, 'big', { recursive: true });
    expect(submitted).toMatchObject({
      state: 'queued',
      share,
      path: 'big',
      recursive: true,
      handleId: '*',
      chunksDone: 0,
      handlesClosed: 0,
      requestedBy: DEVELOPMENT_ACCOUNT,
    });

    // Progress: every read in between shows whole chunks done, and never goes backwards.
    const seen: Job[] = [];
    const done = await pollJob(service.url, OWNER, submitted.jobId, (job) => (seen.push(job), isEnded(job)), 6000, 20);
    expect(done).toMatchObject({ state: 'completed', chunksDone: 20, handlesClosed: 20_000 });
    expect(Date.parse(done.startedTime)).not.toBeNaN();
    expect(Date.parse(done.endedTime)).not.toBeNaN();
    const running = seen.filter((job) => job.state === 'running');
    for (const job of running) expect(job.handlesClosed).toBe(job.chunksDone * 1000);
    for (let i = 1; i < seen.length; i++) expect(seen[i].chunksDone).toBeGreaterThanOrEqual(seen[i - 1].chunksDone);

    const { chunks } = await expectJobStream(DEVELOPMENT_ACCOUNT, done, 'ForceCloseJobCompleted', 1000);
    expect(chunks).toHaveLength(20);
    const events = await jobStreamEvents(db, DEVELOPMENT_ACCOUNT, done.jobId);
    expect(events.map((e) => e.type)).toEqual([
      'ForceCloseJobSubmitted',
      ...Array(20).fill('ForceCloseChunkCompleted'),
      'ForceCloseJobCompleted',
    ]);
    expect(events[21].data).toMatchObject({ chunks: 20, closed: 20_000 });
    expect(events[21].data).not.toHaveProperty('failed');
    await expectChunksFollowMarkers(DEVELOPMENT_ACCOUNT, done.jobId);

    // Each handle: opened, then force-closed once, by this job; the ones outside the tree untouched.
    await expectClosedOnce(opened);
    expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, outside)).toEqual({
      open: 6,
      closedOnce: 0,
      closedTwiceOrMore: 0,
      neither: 0,
    });
    expect(await openHandleIds(db, DEVELOPMENT_ACCOUNT, share, 'big')).toEqual([]);
    const { rows: audit } = await db.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS handles, count(DISTINCT stream_id)::int AS events,
              bool_and(metadata->>'principal' = $2) AS by_owner
       FROM events, jsonb_array_elements_text(data->'handleIds') id WHERE type = 'HandlesForceClosed' AND metadata->>'jobId' = $1`,
      [done.jobId, DEVELOPMENT_ACCOUNT],
    );
    // One event per chunk, naming each handle once.
    expect(audit[0]).toEqual({ n: 20_000, handles: 20_000, events: 20, by_owner: true });
    // A chunk's list of a thousand ids is stored compressed, with lz4 (migration Lz4Toast).
    const { rows: stored } = await db.query(
      `SELECT DISTINCT pg_column_compression(data) AS method FROM events WHERE type = 'HandlesForceClosed' AND metadata->>'jobId' = $1`,
      [done.jobId],
    );
    expect(stored).toEqual([{ method: 'lz4' }]);

    // BullMQ progress: the queue entry that ran the last chunk carries the final counts.
    const entries = await queueEntries(prefix, [done.jobId], ['completed']);
    const last = entries.filter((e) => (e.progress as { state?: string }).state === 'completed');
    expect(last).toHaveLength(1);
    expect(last[0].progress).toMatchObject({ chunksDone: 20, closed: 20_000 });
    await expectNoUnfinishedJobs();
  }, 300_000);

  it('continues from the last recorded marker after the worker is killed with SIGKILL mid-job, with the same exact totals', async () => {
    const share = uniqueShare('jobs-kill');
    const client = service.serviceClient().getShareClient(share);
    await client.create();
    const t = tree('k', 3, 4, 5);
    await createTree(client, t.directories, t.files);
    await seedHandlesSql(db, DEVELOPMENT_ACCOUNT, share, t.files, 500); // 60 files × 500 = 30,000
    await seedHandlesSql(db, DEVELOPMENT_ACCOUNT, share, t.level2, 50); // + 12 × 50 = 600
    const opened = await openHandleIds(db, DEVELOPMENT_ACCOUNT, share, 'k');
    expect(opened).toHaveLength(30_600);

    // A short lock: the dead worker's entry is taken up again about a second after it stops renewing
    // it. A long delivery: that one entry was running every chunk when the worker died.
    const env = {
      FORCE_CLOSE_CHUNK_SIZE: '300',
      WORKER_CONCURRENCY: '1',
      JOB_LOCK_MS: '1000',
      JOB_DELIVERY_MS: '600000',
    };
    const first = await startWorker(env);
    const submitted = await submitOk(service.url, OWNER, share, 'k', { recursive: true });
    const before = await pollJob(
      service.url,
      OWNER,
      submitted.jobId,
      (job) => job.chunksDone >= 5 || isEnded(job),
      6000,
      5,
    );
    await first.kill();
    // The job row and the handles table in one snapshot: they change in the same transaction.
    const {
      rows: [atKill],
    } = await db.query(
      `SELECT state, chunks_done, closed::int, (SELECT count(*)::int FROM handles h JOIN shares s ON s.share_id = h.share_id WHERE s.name = $2) AS open
       FROM jobs WHERE job_id = $1`,
      [submitted.jobId, share],
    );
    expect(atKill.state).toBe('running');
    expect(atKill.chunks_done).toBeGreaterThanOrEqual(before.chunksDone);
    expect(atKill.chunks_done).toBeLessThan(102);
    expect(atKill.closed).toBe(atKill.chunks_done * 300);
    expect(atKill.open).toBe(30_600 - atKill.closed);

    // A new worker: its reconciler leaves the job to the dead worker's entry, still active until
    // its lock lapses (JOB_LOCK_MS) and a stall check gives it back; run again, the entry finds its
    // chunk recorded and queues the job's next one, which runs the rest from the marker.
    await startWorker(env);
    const done = await pollJob(service.url, OWNER, submitted.jobId, isEnded);
    // 30,600 / 300 = 102 chunks, exactly as an uninterrupted run.
    expect(done).toMatchObject({ state: 'completed', chunksDone: 102, handlesClosed: 30_600 });
    await expectJobStream(DEVELOPMENT_ACCOUNT, done, 'ForceCloseJobCompleted', 300);
    await expectChunksFollowMarkers(DEVELOPMENT_ACCOUNT, done.jobId);
    await expectClosedOnce(opened);
    await expectNoUnfinishedJobs();
    // Two entries in all: the first chunk's, and the one it queued after the last chunk recorded
    // (not one per chunk already done).
    const entries = await queueEntries(prefix, [submitted.jobId], ['completed', 'waiting', 'active', 'failed']);
    expect(entries.map((e) => e.data.chunk).sort((a, b) => a - b)).toEqual([1, atKill.chunks_done + 1]);
    // Nothing of the job is left active, and no handle was closed twice.
    for (let polls = 0; (await activeChunks(prefix, submitted.jobId)).length > 0; polls++) {
      if (polls === 600) throw new Error('the killed worker’s queue entry was never taken back');
      await pause(50);
    }
    expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, opened)).toMatchObject({
      closedOnce: 30_600,
      closedTwiceOrMore: 0,
    });
  }, 300_000);

  it('on SIGTERM, a worker finishes the chunk in hand and gives the next one back to the queue; another finishes the job', async () => {
    const { share, opened } = await treeWithHandles('jobs-term', tree('t', 2, 2, 5), 250); // 5,000

    // A lock far longer than the test: an entry left active by the stopped worker would hold the
    // job up. A delivery as long: the one entry would run every chunk if SIGTERM did not stop it.
    const env = {
      FORCE_CLOSE_CHUNK_SIZE: '10',
      WORKER_CONCURRENCY: '1',
      JOB_LOCK_MS: '600000',
      JOB_DELIVERY_MS: '600000',
    };
    const first = await startWorker(env);
    const submitted = await submitOk(service.url, OWNER, share, 't', { recursive: true });
    await pollJob(service.url, OWNER, submitted.jobId, (job) => job.chunksDone >= 3 || isEnded(job), 6000, 5);
    await first.stop();
    // Nest re-raises the signal once the application has closed: exit by SIGTERM, not by the SIGKILL deadline.
    expect(await first.exited).toBe('SIGTERM');
    expect(first.output()).not.toContain('shutdown deadline passed');

    const {
      rows: [atStop],
    } = await db.query(
      `SELECT state, chunks_done, closed::int, (SELECT count(*)::int FROM handles h JOIN shares s ON s.share_id = h.share_id WHERE s.name = $2) AS open
       FROM jobs WHERE job_id = $1`,
      [submitted.jobId, share],
    );
    expect(atStop.state).toBe('running');
    expect(atStop.closed).toBe(atStop.chunks_done * 10);
    expect(atStop.open).toBe(5_000 - atStop.closed);
    // Nothing of this job is left active (held up until a lock 600 s long lapses).
    expect(await activeChunks(prefix, submitted.jobId)).toEqual([]);
    const queue = openQueue(prefix);
    try {
      const next = await queue.getJob(
        chunkJobId({ tenant: DEVELOPMENT_ACCOUNT, jobId: submitted.jobId, chunk: atStop.chunks_done + 1 }),
      );
      expect(await next?.getState()).toBe('waiting');
    } finally {
      await closeQueue(queue);
    }

    await startWorker(env);
    const done = await pollJob(service.url, OWNER, submitted.jobId, isEnded);
    expect(done).toMatchObject({ state: 'completed', chunksDone: 500, handlesClosed: 5_000 });
    await expectChunksFollowMarkers(DEVELOPMENT_ACCOUNT, done.jobId);
    await expectClosedOnce(opened);
    await expectNoUnfinishedJobs();
  }, 300_000);

  it('stops a cancelled job after the chunk in hand: the rest stay open, the totals match the handles closed', async () => {
    const { share, opened } = await treeWithHandles('jobs-cancel', tree('c', 2, 2, 5), 1000); // 20,000

    await startWorker({ FORCE_CLOSE_CHUNK_SIZE: '200', WORKER_CONCURRENCY: '1' });
    const submitted = await submitOk(service.url, OWNER, share, 'c', { recursive: true });
    await pollJob(service.url, OWNER, submitted.jobId, (job) => job.chunksDone >= 3 || isEnded(job), 6000, 5);
    const cancel = await cancelJob(service.url, OWNER, submitted.jobId);
    expect(cancel.status).toBe(202);
    expect(parseJob(cancel.body).cancelRequested).toBe(true);
    // Asking again changes nothing.
    const again = await cancelJob(service.url, OWNER, submitted.jobId);
    expect(again.status).toBe(202);

    const done = await pollJob(service.url, OWNER, submitted.jobId, isEnded);
    expect(done.state).toBe('cancelled');
    expect(done.handlesClosed).toBeLessThan(20_000);
    expect(done.handlesClosed).toBe(done.chunksDone * 200);
    const { events } = await expectJobStream(DEVELOPMENT_ACCOUNT, done, 'ForceCloseJobCancelled', 200);
    expect(events.filter((e) => e.type === 'ForceCloseJobCancelRequested')).toHaveLength(1);
    // At most the chunk that was in hand when the request was recorded follows it.
    const requestedAt = events.findIndex((e) => e.type === 'ForceCloseJobCancelRequested');
    expect(events.slice(requestedAt).filter((e) => e.type === 'ForceCloseChunkCompleted').length).toBeLessThanOrEqual(
      1,
    );
    expect(events[events.length - 1].data).toMatchObject({ chunks: done.chunksDone, closed: done.handlesClosed });

    expect(await closeRecord(db, DEVELOPMENT_ACCOUNT, opened)).toEqual({
      open: 20_000 - done.handlesClosed,
      closedOnce: done.handlesClosed,
      closedTwiceOrMore: 0,
      neither: 0,
    });
    // A cancelled job stays cancelled; a completed one cannot be cancelled.
    expect((await cancelJob(service.url, OWNER, submitted.jobId)).status).toBe(202);
    const empty = await submitOk(service.url, OWNER, share, 'c/d0/e0/f0');
    await pollJob(service.url, OWNER, empty.jobId, isEnded);
    const late = await cancelJob(service.url, OWNER, empty.jobId);
    expect(late.status).toBe(409);
    expect(late.header('x-ms-error-code')).toBe('JobAlreadyEnded');
    await expectNoUnfinishedJobs();
  }, 300_000);

  it('gives the same job for the same idempotency key or x-ms-client-request-id, even submitted concurrently', async () => {
    const share = uniqueShare('jobs-idem');
    const client = service.serviceClient().getShareClient(share);
    await client.create();
    await createTree(client, ['x'], ['x/f']);
    await seedHandlesSql(db, DEVELOPMENT_ACCOUNT, share, ['x/f'], 10);

    const key = `key-${share}`;
    const byKey = await Promise.all(
      Array.from({ length: 8 }, () =>
        submitOk(service.url, OWNER, share, 'x', { recursive: true, idempotencyKey: key }),
      ),
    );
    expect(new Set(byKey.map((j) => j.jobId)).size).toBe(1);
    const requestId = `rid-${share}`;
    const byRequestId = await Promise.all(
      Array.from({ length: 8 }, () => submitOk(service.url, OWNER, share, 'x/f', { clientRequestId: requestId })),
    );
    expect(new Set(byRequestId.map((j) => j.jobId)).size).toBe(1);
    expect(byRequestId[0].jobId).not.toBe(byKey[0].jobId);
    const other = await submitOk(service.url, OWNER, share, 'x', { recursive: true, idempotencyKey: `${key}-other` });
    expect([byKey[0].jobId, byRequestId[0].jobId]).not.toContain(other.jobId);

    for (const [jobKey, jobId] of [
      [key, byKey[0].jobId],
      [requestId, byRequestId[0].jobId],
    ]) {
      const { rows } = await db.query(`SELECT job_id FROM jobs WHERE tenant = $1 AND idempotency_key = $2`, [
        DEVELOPMENT_ACCOUNT,
        jobKey,
      ]);
      expect(rows.map((r) => r.job_id)).toEqual([jobId]);
      const { rows: submittedEvents } = await db.query(
        `SELECT stream_id FROM events WHERE tenant = $1 AND type = 'ForceCloseJobSubmitted' AND data->>'idempotencyKey' = $2`,
        [DEVELOPMENT_ACCOUNT, jobKey],
      );
      expect(submittedEvents.map((r) => r.stream_id)).toEqual([`job-${jobId}`]);
    }

    // Run them, so the total shows the handles were closed once, by one of the jobs.
    await startWorker({ FORCE_CLOSE_CHUNK_SIZE: '1000', WORKER_CONCURRENCY: '2' });
    const ended = await Promise.all(
      [byKey[0], byRequestId[0], other].map((j) => pollJob(service.url, OWNER, j.jobId, isEnded)),
    );
    expect(ended.map((j) => j.state)).toEqual(['completed', 'completed', 'completed']);
    expect(ended.reduce((sum, j) => sum + j.handlesClosed, 0)).toBe(10);
    // A repeat after completion still answers with the job as it is now.
    const repeat = await submitOk(service.url, OWNER, share, 'x', { recursive: true, idempotencyKey: key });
    expect(repeat).toMatchObject({ jobId: byKey[0].jobId, state: 'completed' });
    await expectNoUnfinishedJobs();
  }, 120_000);

  it('lets two worker processes share the queue: every chunk of every job recorded once, exact totals', async () => {
    const share = uniqueShare('jobs-two');
    const client = service.serviceClient().getShareClient(share);
    await client.create();
    const roots = ['p0', 'p1', 'p2', 'p3'];
    const trees = roots.map((r) => tree(r, 2, 2, 2));
    await createTree(
      client,
      trees.flatMap((t) => t.directories),
      trees.flatMap((t) => t.files),
    );
    for (const t of trees) await seedHandlesSql(db, DEVELOPMENT_ACCOUNT, share, t.files, 625); // 8 × 625 = 5,000 per root
    const opened = await openHandleIds(db, DEVELOPMENT_ACCOUNT, share);
    expect(opened).toHaveLength(20_000);

    // One chunk per entry: 80 entries for the two processes to share.
    const env = { FORCE_CLOSE_CHUNK_SIZE: '250', WORKER_CONCURRENCY: '2', JOB_DELIVERY_MS: '0' };
    const pair = [await startWorker(env), await startWorker(env)];
    const jobs = await Promise.all(roots.map((r) => submitOk(service.url, OWNER, share, r, { recursive: true })));
    const done = await Promise.all(jobs.map((j) => pollJob(service.url, OWNER, j.jobId, isEnded)));
    for (const job of done) {
      expect(job).toMatchObject({ state: 'completed', chunksDone: 20, handlesClosed: 5000 });
      await expectJobStream(DEVELOPMENT_ACCOUNT, job, 'ForceCloseJobCompleted', 250);
      await expectChunksFollowMarkers(DEVELOPMENT_ACCOUNT, job.jobId);
    }
    await expectClosedOnce(opened);

    // Both processes took chunks from the one queue (BullMQ records who ran each entry).
    const entries = await queueEntries(
      prefix,
      jobs.map((j) => j.jobId),
      ['completed'],
    );
    const ranBy = new Set(entries.map((e) => e.processedBy?.split('/')[1]));
    expect([...ranBy].sort()).toEqual(pair.map((w) => String(w.pid)).sort());
    await expectNoUnfinishedJobs();
  }, 300_000);

  it("does not hold back another tenant's small job behind a big one: with JOB_DELIVERY_MS=0 the worker slot is given back after every chunk", async () => {
    // Tenant A: 20,000 handles in chunks of 100 (200 chunks). Tenant B: 10 handles (one chunk).
    const shareA = uniqueShare('jobs-fair-a');
    const clientA = service.serviceClient().getShareClient(shareA);
    await clientA.create();
    const t = tree('a', 2, 2, 5);
    await createTree(clientA, t.directories, t.files);
    await seedHandlesSql(db, DEVELOPMENT_ACCOUNT, shareA, t.files, 1000);

    const tenantB = await service.createAccount(`fair${Date.now().toString(36)}`.slice(0, 24));
    const ownerB: Signer = { account: tenantB.name, key: tenantB.key1 };
    const shareB = uniqueShare('jobs-fair-b');
    const clientB = service.serviceClient(tenantB.name, tenantB.key1).getShareClient(shareB);
    await clientB.create();
    await createTree(clientB, ['b'], ['b/f']);
    await seedHandlesSql(db, tenantB.name, shareB, ['b/f'], 10);

    await startWorker({ FORCE_CLOSE_CHUNK_SIZE: '100', WORKER_CONCURRENCY: '1', JOB_DELIVERY_MS: '0' });
    const jobA = await submitOk(service.url, OWNER, shareA, 'a', { recursive: true });
    await pollJob(service.url, OWNER, jobA.jobId, (job) => job.chunksDone >= 2 || isEnded(job), 6000, 5);
    const jobB = await submitOk(service.url, ownerB, shareB, 'b', { recursive: true });
    const doneB = await pollJob(service.url, ownerB, jobB.jobId, isEnded);
    expect(doneB).toMatchObject({ state: 'completed', chunksDone: 1, handlesClosed: 10 });
    const doneA = await pollJob(service.url, OWNER, jobA.jobId, isEnded);
    expect(doneA).toMatchObject({ state: 'completed', chunksDone: 200, handlesClosed: 20_000 });

    // Order of what was recorded (one worker, one slot: chunk transactions do not overlap, so event
    // positions are their commit order). B completed while A still had most of its chunks ahead.
    const a = await jobStreamEvents(db, DEVELOPMENT_ACCOUNT, jobA.jobId);
    const b = await jobStreamEvents(db, tenantB.name, jobB.jobId);
    const position = (e: { position: string }) => BigInt(e.position);
    const bSubmitted = position(b[0]);
    const bCompleted = position(b.find((e) => e.type === 'ForceCloseJobCompleted')!);
    const aCompleted = position(a.find((e) => e.type === 'ForceCloseJobCompleted')!);
    const aChunks = a.filter((e) => e.type === 'ForceCloseChunkCompleted').map(position);
    expect(bCompleted).toBeLessThan(aCompleted);
    expect(aChunks.filter((p) => p > bCompleted).length).toBeGreaterThan(150);
    // Between B's submission and its completion A got at most the chunk in hand and the one
    // already queued ahead of B's: B's chunk went to the back of the queue, not behind all of A.
    expect(aChunks.filter((p) => p > bSubmitted && p < bCompleted).length).toBeLessThanOrEqual(2);
    await expectNoUnfinishedJobs();
  }, 300_000);

  it("runs a job's chunks one after another in one queue entry while JOB_DELIVERY_MS allows; another worker's reconciler leaves it alone", async () => {
    const { share, opened } = await treeWithHandles('jobs-run', tree('r', 2, 2, 5), 250); // 5,000

    // Chunks of 2: 2,500 of them, so the job is still running when the second worker starts.
    const env = { FORCE_CLOSE_CHUNK_SIZE: '2', WORKER_CONCURRENCY: '1', JOB_DELIVERY_MS: '600000' };
    const first = await startWorker(env);
    const submitted = await submitOk(service.url, OWNER, share, 'r', { recursive: true });
    await pollJob(service.url, OWNER, submitted.jobId, (job) => job.chunksDone >= 3 || isEnded(job), 6000, 5);
    // Its reconciler ran at startup (before it answers ready), while the job was in the first's hands.
    await startWorker(env);
    expect(parseJob((await getJob(service.url, OWNER, submitted.jobId)).body).state).toBe('running');

    const done = await pollJob(service.url, OWNER, submitted.jobId, isEnded);
    expect(done).toMatchObject({ state: 'completed', chunksDone: 2_500, handlesClosed: 5_000 });
    const { chunks } = await expectJobStream(DEVELOPMENT_ACCOUNT, done, 'ForceCloseJobCompleted', 2);
    expect(chunks).toHaveLength(2_500);
    await expectChunksFollowMarkers(DEVELOPMENT_ACCOUNT, done.jobId);
    await expectClosedOnce(opened);

    // One entry, the first chunk's, ran them all, in the first worker; none was queued after it.
    const entries = await queueEntries(prefix, [done.jobId], ['completed', 'waiting', 'active', 'failed']);
    expect(entries.map((e) => e.id)).toEqual([
      chunkJobId({ tenant: DEVELOPMENT_ACCOUNT, jobId: done.jobId, chunk: 1 }),
    ]);
    expect(entries[0].processedBy?.split('/')[1]).toBe(String(first.pid));
    expect(entries[0].progress).toMatchObject({ chunksDone: 2_500, closed: 5_000, state: 'completed' });
    await expectNoUnfinishedJobs();
  }, 300_000);

  it('answers bad input with the right 4xx, and never shows one tenant another tenant’s job', async () => {
    const share = uniqueShare('jobs-bad');
    const client = service.serviceClient().getShareClient(share);
    await client.create();
    await createTree(client, ['dir'], ['dir/file']);
    await startWorker({ FORCE_CLOSE_CHUNK_SIZE: '1000', WORKER_CONCURRENCY: '1' });

    const expectError = (
      res: { status: number; header(n: string): string | undefined; body: string },
      status: number,
      code: string,
    ) => expect({ status: res.status, code: res.header('x-ms-error-code') }).toEqual({ status, code });

    expectError(
      await submitJob(service.url, OWNER, share, 'dir/missing', { recursive: true }),
      404,
      'ResourceNotFound',
    );
    expectError(await submitJob(service.url, OWNER, share, 'nodir/missing'), 404, 'ParentNotFound');
    expectError(await submitJob(service.url, OWNER, `${share}-x`, 'dir'), 404, 'ShareNotFound');
    expectError(await submitJob(service.url, OWNER, share, 'dir/file', { recursive: true }), 400, 'InvalidHeaderValue');
    expectError(await submitJob(service.url, OWNER, share, 'dir', { handleId: 'abc' }), 400, 'InvalidHeaderValue');
    expectError(await submitJob(service.url, OWNER, share, 'dir', { handleId: '-1' }), 400, 'InvalidHeaderValue');
    expectError(await submitJob(service.url, OWNER, share, 'dir', { handleId: '' }), 400, 'MissingRequiredHeader');
    expectError(await getJob(service.url, OWNER, '00000000-0000-4000-8000-000000000000'), 404, 'JobNotFound');
    expectError(await getJob(service.url, OWNER, 'not-a-job'), 404, 'JobNotFound');
    expectError(await cancelJob(service.url, OWNER, '00000000-0000-4000-8000-000000000000'), 404, 'JobNotFound');
    expectError(await listJobs(service.url, OWNER, 'marker=forged'), 400, 'InvalidQueryParameterValue');
    expectError(await listJobs(service.url, OWNER, 'maxresults=0'), 400, 'InvalidQueryParameterValue');
    // No job was recorded for any of these.
    expect(
      (
        await db.query(
          `SELECT count(*)::int AS n FROM jobs j JOIN shares s ON s.share_id = j.share_id WHERE s.name = $1`,
          [share],
        )
      ).rows[0].n,
    ).toBe(0);

    // Another tenant's job: unknown here, for reading and for cancelling, and its data never shown.
    const other = await service.createAccount(`othr${Date.now().toString(36)}`.slice(0, 24));
    const otherOwner: Signer = { account: other.name, key: other.key1 };
    const otherShare = uniqueShare('jobs-secret');
    await service.serviceClient(other.name, other.key1).getShareClient(otherShare).create();
    const theirs = await submitOk(service.url, otherOwner, otherShare, '');
    for (const res of [
      await getJob(service.url, OWNER, theirs.jobId),
      await cancelJob(service.url, OWNER, theirs.jobId),
    ]) {
      expectError(res, 404, 'JobNotFound');
      expect(res.body).not.toContain(otherShare);
      expect(res.body).not.toContain(other.name);
    }
    const mine = parseJobList((await listJobs(service.url, OWNER)).body).jobs;
    expect(mine.map((j) => j.jobId)).not.toContain(theirs.jobId);
    // A marker issued to one tenant is no marker for another.
    const submittedMore = await submitOk(service.url, otherOwner, otherShare, '');
    const theirPage = parseJobList((await listJobs(service.url, otherOwner, 'maxresults=1')).body);
    expect(theirPage.nextMarker).not.toBe('');
    expectError(
      await listJobs(service.url, OWNER, `marker=${encodeURIComponent(theirPage.nextMarker)}`),
      400,
      'InvalidQueryParameterValue',
    );
    await Promise.all([theirs, submittedMore].map((j) => pollJob(service.url, otherOwner, j.jobId, isEnded)));
    await expectNoUnfinishedJobs();
  }, 120_000);

  it("lists a tenant's jobs newest first, page by page with markers, each once", async () => {
    const share = uniqueShare('jobs-list');
    await service.serviceClient().getShareClient(share).create();
    await startWorker({ WORKER_CONCURRENCY: '1' });
    for (let i = 0; i < 5; i++)
      await pollJob(service.url, OWNER, (await submitOk(service.url, OWNER, share, '')).jobId, isEnded);
    const all = parseJobList((await listJobs(service.url, OWNER)).body).jobs;
    expect(all.length).toBeGreaterThanOrEqual(5);
    const { rows } = await db.query(`SELECT job_id FROM jobs WHERE tenant = $1 ORDER BY created_at DESC, job_id DESC`, [
      DEVELOPMENT_ACCOUNT,
    ]);
    expect(all.map((j) => j.jobId)).toEqual(rows.map((r) => r.job_id));
    const paged: string[] = [];
    let marker = '';
    for (let page = 0; page < 100; page++) {
      const res = await listJobs(
        service.url,
        OWNER,
        `maxresults=2${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
      );
      expect(res.status).toBe(200);
      const { jobs, nextMarker } = parseJobList(res.body);
      expect(jobs.length).toBeLessThanOrEqual(2);
      paged.push(...jobs.map((j) => j.jobId));
      marker = nextMarker;
      if (!marker) break;
    }
    expect(marker).toBe('');
    expect(paged).toEqual(all.map((j) => j.jobId));
  });
});
