// Helpers for the queued force-close job tests: an isolated database and queue per test file,
// the signed job and handle extension requests, and seeding handles.
import { ShareClient } from '@azure/storage-file-share';
import { Job as BullJob, JobType, Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { Client, Pool } from 'pg';
import { migrateDatabase } from '../../libs/event-store/src/database';
import { ChunkJobData, closeQueue, FORCE_CLOSE_QUEUE, redisConnection } from '../../libs/jobs/src/queue';
export { closeQueue };
import { seedOpenHandles } from '../../bench/force-close-seed';
import { Job, JobXml, toJob } from '../../apps/cli/jobs';
export type { Job };
import { RawResponse, sendRaw } from './signed-request';
import { testDatabaseUrl } from './service';

export type Signer = { account: string; key: string };

/**
 * A database of the test file's own. The worker's reconciler queues every unfinished job it finds
 * in its database, so workers of two test files sharing the per-run database (jest runs files in
 * parallel) would run each other's jobs.
 */
export async function createIsolatedDatabase(tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${url.pathname.slice(1)}_${tag}_${randomBytes(3).toString('hex')}`.slice(0, 64);
  await migrateDatabase(url.toString());
  const drop = async () => {
    const name = url.pathname.slice(1);
    const admin = new URL(url.toString());
    admin.pathname = '/postgres';
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  };
  return { url: url.toString(), drop };
}

/** A BullMQ prefix no other test run uses: its queue entries are invisible to every other worker. */
export const uniqueQueuePrefix = (tag: string) => `lh-test-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;

/** Removes every Redis key of the queue under `prefix`. */
export async function removeQueue(prefix: string): Promise<void> {
  const queue = new Queue(FORCE_CLOSE_QUEUE, {
    connection: redisConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
    prefix,
  });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await closeQueue(queue);
  }
}

/** The queue under `prefix`, to look at the entries the workers ran. Close it with closeQueue. */
export const openQueue = (prefix: string) =>
  new Queue(FORCE_CLOSE_QUEUE, {
    connection: redisConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
    prefix,
  });

/** The queue entries under `prefix` of these jobs that are in one of these BullMQ states. */
export async function queueEntries(
  prefix: string,
  jobIds: string[],
  states: JobType[],
): Promise<BullJob<ChunkJobData>[]> {
  const queue = openQueue(prefix);
  try {
    return (await queue.getJobs(states, 0, -1)).filter((entry) => jobIds.includes(entry.data.jobId));
  } finally {
    await closeQueue(queue);
  }
}

/** The queue entries of one job that are active (held by a worker's lock), by chunk. */
export const activeChunks = async (prefix: string, jobId: string): Promise<number[]> =>
  (await queueEntries(prefix, [jobId], ['active'])).map((entry) => entry.data.chunk);

// Thousands of opens over fresh connections would leave thousands of sockets in TIME_WAIT.
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });
export const closeAgent = () => keepAlive.destroy();

/** A Shared Key signed request over keep-alive connections. */
export const sendSigned = (
  baseUrl: string,
  signer: Signer,
  o: { method: string; path: string; query: string; headers?: Record<string, string | undefined> },
): Promise<RawResponse> => sendRaw(baseUrl, { ...o, signer, agent: keepAlive });

/** The wire path of a share-relative path ('' is the share root). */
export const wirePath = (account: string, share: string, path = '') =>
  `/${account}/${share}${path ? '/' + path.split('/').map(encodeURIComponent).join('/') : ''}`;

let ip = 0;
/** Opens a handle through the extension operation (what a client would do); returns its id. */
export async function openHandle(baseUrl: string, signer: Signer, share: string, path: string): Promise<string> {
  const n = ip++;
  const res = await sendSigned(baseUrl, signer, {
    method: 'PUT',
    path: wirePath(signer.account, share, path),
    query: 'comp=openhandle',
    headers: {
      'x-leasehold-client-ip': `10.9.${(n >> 8) & 255}.${n & 255}:445`,
      'x-leasehold-client-name': `job-test-${n}`,
      'x-leasehold-access': 'Read',
    },
  });
  if (res.status !== 201) throw new Error(`open on ${path} answered ${res.status}: ${res.body}`);
  return res.header('x-leasehold-handle-id')!;
}

/** Runs `work` over `items` with at most `width` in flight. */
export async function inParallel<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]);
      }
    }),
  );
  return results;
}

/** Creates directories (parents first) and empty files through the SDK. */
export async function createTree(share: ShareClient, directories: string[], files: string[]): Promise<void> {
  const byDepth = [...directories].sort((a, b) => a.split('/').length - b.split('/').length);
  for (const depth of new Set(byDepth.map((d) => d.split('/').length))) {
    await inParallel(
      byDepth.filter((d) => d.split('/').length === depth),
      16,
      (d) => share.getDirectoryClient(d).create(),
    );
  }
  await inParallel(files, 16, (f) => {
    const slash = f.lastIndexOf('/');
    return share
      .getDirectoryClient(f.slice(0, slash))
      .getFileClient(f.slice(slash + 1))
      .create(0);
  });
}

/** Opens handles with SQL that writes what OpenHandleHandler writes (see bench/force-close-seed.ts). */
export const seedHandlesSql = (db: Pool, tenant: string, share: string, nodePaths: string[], perNode: number) =>
  seedOpenHandles(db, tenant, share, nodePaths, perNode);

/** A <ForceCloseJob> element, read as the CLI reads it. */
export function parseJob(xml: string): Job {
  const fields: JobXml = {};
  for (const [, name, value] of xml.matchAll(/<(\w+)>([^<]*)<\/\1>/g)) fields[name] = value;
  return toJob(fields);
}

export const parseJobList = (xml: string) => ({
  jobs: [...xml.matchAll(/<ForceCloseJob>.*?<\/ForceCloseJob>/gs)].map((m) => parseJob(m[0])),
  nextMarker: /<NextMarker>([^<]*)<\/NextMarker>/.exec(xml)?.[1] ?? '',
});

export interface SubmitOptions {
  handleId?: string;
  recursive?: boolean;
  idempotencyKey?: string;
  clientRequestId?: string;
}

export function submitJob(
  baseUrl: string,
  signer: Signer,
  share: string,
  path: string,
  o: SubmitOptions = {},
): Promise<RawResponse> {
  return sendSigned(baseUrl, signer, {
    method: 'PUT',
    path: wirePath(signer.account, share, path),
    query: 'comp=forceclosejob',
    headers: {
      'x-ms-handle-id': o.handleId ?? '*',
      'x-ms-recursive': o.recursive === undefined ? undefined : String(o.recursive),
      'x-leasehold-idempotency-key': o.idempotencyKey,
      ...(o.clientRequestId ? { 'x-ms-client-request-id': o.clientRequestId } : {}),
    },
  });
}

/** Submits and expects 202; returns the job as the answer shows it. */
export async function submitOk(
  baseUrl: string,
  signer: Signer,
  share: string,
  path: string,
  o: SubmitOptions = {},
): Promise<Job> {
  const res = await submitJob(baseUrl, signer, share, path, o);
  if (res.status !== 202) throw new Error(`submit on ${share}/${path} answered ${res.status}: ${res.body}`);
  const job = parseJob(res.body);
  if (res.header('x-leasehold-job-id') !== job.jobId)
    throw new Error(`x-leasehold-job-id ${res.header('x-leasehold-job-id')} is not the body's ${job.jobId}`);
  return job;
}

export const getJob = (baseUrl: string, signer: Signer, jobId: string) =>
  sendSigned(baseUrl, signer, {
    method: 'GET',
    path: `/${signer.account}`,
    query: `comp=forceclosejob&jobid=${encodeURIComponent(jobId)}`,
  });

export const cancelJob = (baseUrl: string, signer: Signer, jobId: string) =>
  sendSigned(baseUrl, signer, {
    method: 'DELETE',
    path: `/${signer.account}`,
    query: `comp=forceclosejob&jobid=${encodeURIComponent(jobId)}`,
  });

export const listJobs = (baseUrl: string, signer: Signer, query = '') =>
  sendSigned(baseUrl, signer, {
    method: 'GET',
    path: `/${signer.account}`,
    query: `${query}${query ? '&' : ''}comp=forceclosejobs`,
  });

export async function readJob(baseUrl: string, signer: Signer, jobId: string): Promise<Job> {
  const res = await getJob(baseUrl, signer, jobId);
  if (res.status !== 200) throw new Error(`get job ${jobId} answered ${res.status}: ${res.body}`);
  return parseJob(res.body);
}

export const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Reads the job until `until` holds. Bounded by a number of polls (not a deadline on speed): the
 * loop ends, and the test fails with the last state, instead of hanging.
 */
export async function pollJob(
  baseUrl: string,
  signer: Signer,
  jobId: string,
  until: (job: Job) => boolean,
  polls = 6000,
  everyMs = 50,
): Promise<Job> {
  let job = await readJob(baseUrl, signer, jobId);
  for (let i = 0; i < polls && !until(job); i++) {
    await pause(everyMs);
    job = await readJob(baseUrl, signer, jobId);
  }
  if (!until(job)) throw new Error(`job ${jobId} never reached the awaited state; last: ${JSON.stringify(job)}`);
  return job;
}

export const isEnded = (job: Job) => ['completed', 'cancelled', 'failed'].includes(job.state);

export interface StoredEvent {
  position: string;
  streamVersion: number;
  type: string;
  data: any;
  metadata: any;
}

/** The events of a job's stream, in order. */
export async function jobStreamEvents(db: Pool, tenant: string, jobId: string): Promise<StoredEvent[]> {
  const { rows } = await db.query(
    `SELECT position::text, stream_version, type, data, metadata FROM events WHERE tenant = $1 AND stream_id = $2 ORDER BY stream_version`,
    [tenant, `job-${jobId}`],
  );
  return rows.map((r) => ({
    position: r.position,
    streamVersion: r.stream_version,
    type: r.type,
    data: r.data,
    metadata: r.metadata,
  }));
}

/**
 * For the handles opened (ids given): how many force closes (HandlesForceClosed events) name each,
 * how many events its own stream has, and which are still in the handles table.
 */
export async function closeRecord(db: Pool, tenant: string, handleIds: string[]) {
  // Set-based (hash joins), so it stays fast however fresh the planner's statistics are.
  const { rows } = await db.query(
    `WITH ids AS (SELECT id FROM unnest($2::text[]) AS h(id)),
     ev AS (
       SELECT substr(e.stream_id, 8) AS id, count(*)::int AS events
       FROM events e WHERE e.tenant = $1 AND e.stream_id IN (SELECT 'handle-' || id FROM ids)
       GROUP BY e.stream_id
     ),
     fc AS (
       SELECT c.id, count(*)::int AS force_closed
       FROM events e, jsonb_array_elements_text(e.data->'handleIds') AS c(id)
       WHERE e.tenant = $1 AND e.type = 'HandlesForceClosed' AND c.id IN (SELECT id FROM ids)
       GROUP BY c.id
     )
     SELECT ids.id, coalesce(fc.force_closed, 0) AS force_closed, coalesce(ev.events, 0) AS events, x.handle_id IS NOT NULL AS open
     FROM ids LEFT JOIN ev ON ev.id = ids.id LEFT JOIN fc ON fc.id = ids.id LEFT JOIN handles x ON x.handle_id = ids.id::bigint`,
    [tenant, handleIds],
  );
  const tally = { open: 0, closedOnce: 0, closedTwiceOrMore: 0, neither: 0 };
  for (const r of rows) {
    if (r.open && r.force_closed === 0 && r.events === 1) tally.open++;
    else if (!r.open && r.force_closed === 1 && r.events === 1) tally.closedOnce++;
    else if (r.force_closed > 1) tally.closedTwiceOrMore++;
    else tally.neither++;
  }
  return tally;
}

/** The handle ids open under a share (optionally below a path, case-insensitive), in the order chunks close them. */
export async function openHandleIds(db: Pool, tenant: string, share: string, under?: string): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT h.handle_id::text AS id FROM handles h JOIN shares s ON s.share_id = h.share_id
     WHERE s.tenant = $1 AND s.name = $2 AND ($3::text IS NULL OR h.node_key = $3 OR starts_with(h.node_key, $3 || '/'))
     ORDER BY h.node_key, h.handle_id`,
    [tenant, share, under?.toLowerCase() ?? null],
  );
  return rows.map((r) => r.id);
}
