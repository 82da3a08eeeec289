import {
  BENCH_SERVICE_ENV,
  children,
  DIST,
  emitRow,
  envInteger,
  holdAuditProjector,
  ROOT,
  runToEnd,
  signedRequest,
  sql,
  startReady,
  startWorker,
  stop,
  withPath,
} from './common';
import { ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '@leasehold/accounts';
import { loadConfig } from '@leasehold/config';
import { closeQueue, FORCE_CLOSE_QUEUE, redisConnection } from '@leasehold/jobs';
import { Queue } from 'bullmq';
import { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { seedOpenHandles } from './force-close-seed';

/**
 * `npm run bench:force-close`: one recursive force-close job over 1,000,000 open handles (500 files
 * × 2,000, three levels deep), run by the real worker process; its rate and the worker's memory as
 * the job goes; then, in the same run on a fresh copy of the same data, the same chunked writes as
 * raw SQL through pgbench, for the ratio. Loopback only. See bench/README.md.
 */

const env = process.env;
const CONFIG = {
  files: envInteger('BENCH_FC_FILES', 500, 50, 100_000),
  perFile: envInteger('BENCH_FC_HANDLES_PER_FILE', 2000, 1, 2000),
  /** The worker's own setting, read and checked as the worker reads it. */
  chunk: loadConfig({ FORCE_CLOSE_CHUNK_SIZE: env.FORCE_CLOSE_CHUNK_SIZE }).forceCloseChunkSize,
  concurrency: envInteger('WORKER_CONCURRENCY', 2, 1, 64),
  pgUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432',
  database: env.BENCH_FC_DB ?? 'leasehold_bench_force_close',
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  baseline: env.BENCH_FC_BASELINE !== '0',
  keepDatabase: env.BENCH_FC_KEEP_DB === '1',
  withProjector: env.BENCH_FC_PROJECTOR === '1',
};
if (!/^[a-z_][a-z0-9_]*$/.test(CONFIG.database)) throw new Error('BENCH_FC_DB: a plain lowercase identifier');
const TOTAL = CONFIG.files * CONFIG.perFile;
const CHUNKS = Math.ceil(TOTAL / CONFIG.chunk);
const SHARE = 'bench';
const ACCOUNT = DEVELOPMENT_ACCOUNT;
const PREFIX = `lh-bench-fc-${process.pid}-${randomBytes(3).toString('hex')}`;

const databaseUrl = withPath(CONFIG.pgUrl, `/${CONFIG.database}`);
const adminUrl = withPath(CONFIG.pgUrl, '/postgres');

const lines: string[] = [];
const say = (line: string) => process.stdout.write(`bench: ${line}\n`);
const report = (line = '') => {
  lines.push(line);
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

const serviceEnv = () => ({
  DATABASE_URL: databaseUrl,
  REDIS_URL: CONFIG.redisUrl,
  QUEUE_PREFIX: PREFIX,
  ...BENCH_SERVICE_ENV,
  FORCE_CLOSE_CHUNK_SIZE: String(CONFIG.chunk),
  WORKER_CONCURRENCY: String(CONFIG.concurrency),
});

async function startApi(): Promise<{ child: ChildProcess; url: string }> {
  return startReady('apps/api/src/main.js', 'PORT', serviceEnv(), 'the API');
}

// ---- database ----

async function freshDatabase(): Promise<void> {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${CONFIG.database} WITH (FORCE)`);
  // Migrations and the development account, as `npm run migrate` does them.
  await runToEnd(process.execPath, [join(DIST, 'apps/cli/main.js'), 'migrate'], serviceEnv());
}

/** 500 files three levels deep: a0…a9 / b0…b4 / f…, the files spread evenly over the 50 leaf directories. */
function tree() {
  const level1 = Array.from({ length: 10 }, (_, i) => `a${i}`);
  const level2 = level1.flatMap((a) => Array.from({ length: 5 }, (_, j) => `${a}/b${j}`));
  const files = Array.from({ length: CONFIG.files }, (_, k) => `${level2[k % level2.length]}/f${k}`);
  return { directories: [...level1, ...level2], files };
}

/** The share and its tree through the API (SDK), then the handles through SQL. */
async function prepareData(apiUrl: string): Promise<void> {
  const service = new ShareServiceClient(
    `${apiUrl}/${ACCOUNT}`,
    new StorageSharedKeyCredential(ACCOUNT, DEVELOPMENT_KEY),
    { retryOptions: { maxTries: 1 } },
  );
  const share = service.getShareClient(SHARE);
  await share.create();
  const { directories, files } = tree();
  for (const depth of [1, 2])
    await Promise.all(
      directories.filter((d) => d.split('/').length === depth).map((d) => share.getDirectoryClient(d).create()),
    );
  for (let i = 0; i < files.length; i += 50) {
    await Promise.all(
      files.slice(i, i + 50).map((f) => {
        const slash = f.lastIndexOf('/');
        return share
          .getDirectoryClient(f.slice(0, slash))
          .getFileClient(f.slice(slash + 1))
          .create(0);
      }),
    );
  }
  await seedAll();
}

/** The million handles, on the tree that exists. */
async function seedAll(): Promise<void> {
  const { files } = tree();
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const started = Date.now();
    let seeded = 0;
    for (let i = 0; i < files.length; i += 25) {
      seeded += await seedOpenHandles(db, ACCOUNT, SHARE, files.slice(i, i + 25), CONFIG.perFile);
      process.stdout.write(`\rbench: seeding handles ${seeded.toLocaleString('en')} / ${TOTAL.toLocaleString('en')}`);
    }
    process.stdout.write('\n');
    say(
      `seeded ${seeded.toLocaleString('en')} handles (and their HandleOpened events) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    // Both measurements start from the same state: statistics current, dirty pages written.
    await db.query('VACUUM ANALYZE handles');
    await db.query('VACUUM ANALYZE events');
    await db.query('VACUUM ANALYZE jobs');
    await db.query('CHECKPOINT');
  } finally {
    await db.end();
  }
}

// ---- the job, through HTTP ----

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

const xmlText = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? '';

interface Memory {
  rssKb: number;
  hwmKb: number;
}
function memoryOf(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

interface JobRun {
  jobId: string;
  seconds: number;
  rate: number;
  idle: Memory;
  marks: { label: string; closed: number; memory: Memory }[];
  peak: Memory;
  chunkMs: { p50: number; p99: number; max: number };
  /** CPU seconds the worker process used between submit and completion. */
  workerCpu: number;
  /** Events the audit projector (in the same worker process) applied between submit and completion. */
  projected?: number;
  load: [number, number];
}

/** Rows in the audit read model, when this schema has one: the projector's progress. */
async function auditRows(): Promise<number | undefined> {
  const [row] = await sql(databaseUrl, `SELECT to_regclass('audit_log') IS NOT NULL AS present`);
  if (!row.present) return undefined;
  return Number((await sql(databaseUrl, `SELECT count(*)::int AS n FROM audit_log`))[0].n);
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
}

/**
 * The audit projector on standby while the job runs, when this schema has one: the job is measured
 * alone, as the raw SQL is; the run with the projector live is BENCH_FC_PROJECTOR=1. The report
 * shows how many events the projector applied during each job, so a renamed lock would show up there.
 */
async function holdProjector(): Promise<{ release(): Promise<void> } | undefined> {
  const [present] = await sql(databaseUrl, `SELECT to_regclass('projection_checkpoints') IS NOT NULL AS yes`);
  return present.yes ? holdAuditProjector(databaseUrl) : undefined;
}

/** Waits until the worker has been idle for 3 s in a row (under 5 % of a CPU): the job starts from a quiet process. */
async function waitForQuiet(pid: number): Promise<number> {
  const started = Date.now();
  let quiet = 0;
  let last = cpuSeconds(pid);
  for (let second = 0; second < 1800 && quiet < 3; second++) {
    await sleep(1000);
    const now = cpuSeconds(pid);
    quiet = now - last < 0.05 ? quiet + 1 : 0;
    last = now;
  }
  return (Date.now() - started) / 1000;
}

/**
 * Waits until the audit projector (in the worker process) has applied every event there is, when
 * this schema has one: the seeded HandleOpened events arrive as one backlog that in service would
 * have been projected as the handles were opened. Its work on the job's own events is measured.
 */
async function waitForProjector(): Promise<number | undefined> {
  const [present] = await sql(databaseUrl, `SELECT to_regclass('projection_checkpoints') IS NOT NULL AS yes`);
  if (!present.yes) return undefined;
  const started = Date.now();
  const [{ total }] = await sql(databaseUrl, `SELECT count(*)::int AS total FROM events`);
  for (let poll = 0; poll < 3600; poll++) {
    const [row] = await sql(
      databaseUrl,
      `SELECT coalesce((SELECT events FROM projection_checkpoints WHERE name = 'audit'), 0)::int AS applied`,
    );
    process.stdout.write(
      `\rbench: audit projector ${row.applied.toLocaleString('en')} / ${total.toLocaleString('en')} events`,
    );
    if (row.applied >= total) break;
    await sleep(1000);
  }
  process.stdout.write('\n');
  return (Date.now() - started) / 1000;
}

async function runJob(apiUrl: string, worker: ChildProcess, projectorLive: boolean): Promise<JobRun> {
  const pid = worker.pid!;
  if (projectorLive) {
    const projector = await waitForProjector();
    if (projector !== undefined) {
      say(`audit projector caught up after ${projector.toFixed(0)} s`);
      // The catch-up dirtied a million audit rows: written out first, so this run starts from the
      // same state as the others (a checkpoint falling inside the job would be the backlog's cost).
      await sql(databaseUrl, 'VACUUM ANALYZE audit_log');
      await sql(databaseUrl, 'CHECKPOINT');
    }
  }
  const waited = await waitForQuiet(pid);
  say(`worker idle after ${waited.toFixed(0)} s more`);
  const idle = memoryOf(pid)!;
  // Memory sampled every 100 ms all along; the marks are the samples at the first read at or past 10/25/50/75/100 %.
  let latest = idle;
  let peak = idle;
  const sampler = setInterval(() => {
    const m = memoryOf(pid);
    if (!m) return;
    latest = m;
    if (m.hwmKb > peak.hwmKb || m.rssKb > peak.rssKb)
      peak = { rssKb: Math.max(peak.rssKb, m.rssKb), hwmKb: Math.max(peak.hwmKb, m.hwmKb) };
  }, 100);
  try {
    const cpuBefore = cpuSeconds(pid);
    const auditBefore = await auditRows();
    const loadBefore = loadavg()[0];
    const submitted = await signedRequest(agent, apiUrl, 'PUT', `/${ACCOUNT}/${SHARE}`, 'comp=forceclosejob', {
      'x-ms-handle-id': '*',
      'x-ms-recursive': 'true',
    });
    if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${submitted.body}`);
    const jobId = String(submitted.headers['x-leasehold-job-id']);
    say(`job ${jobId} submitted: one recursive force-close of the share root, ${CHUNKS} chunks of ${CONFIG.chunk}`);
    const marks: JobRun['marks'] = [];
    const thresholds = [0.1, 0.25, 0.5, 0.75, 1];
    let state = '';
    let closed = 0;
    for (let poll = 0; poll < 100_000 && !['completed', 'failed', 'cancelled'].includes(state); poll++) {
      await sleep(200);
      const res = await signedRequest(agent, apiUrl, 'GET', `/${ACCOUNT}`, `comp=forceclosejob&jobid=${jobId}`);
      if (res.status !== 200) throw new Error(`job read answered ${res.status}: ${res.body}`);
      state = xmlText(res.body, 'State');
      closed = Number(xmlText(res.body, 'HandlesClosed'));
      while (thresholds.length && closed >= thresholds[0] * TOTAL) {
        const label = `${thresholds.shift()! * 100}%`;
        marks.push({ label, closed, memory: memoryOf(pid) ?? latest });
      }
      process.stdout.write(
        `\rbench: ${state} ${closed.toLocaleString('en')} / ${TOTAL.toLocaleString('en')} closed, worker RSS ${mb(latest.rssKb)}   `,
      );
    }
    process.stdout.write('\n');
    const workerCpu = cpuSeconds(pid) - cpuBefore;
    const auditAfter = await auditRows();
    const loadAfter = loadavg()[0];
    if (state !== 'completed') throw new Error(`the job ended ${state}`);
    // The job's own record: from the Submitted event to the Completed event, as PostgreSQL stamped them.
    const [times] = await sql(
      databaseUrl,
      `SELECT extract(epoch FROM max(recorded_at) FILTER (WHERE type = 'ForceCloseJobCompleted') - min(recorded_at) FILTER (WHERE type = 'ForceCloseJobSubmitted'))::float8 AS seconds
       FROM events WHERE tenant = $1 AND stream_id = $2`,
      [ACCOUNT, `job-${jobId}`],
    );
    const [chunks] = await sql(
      databaseUrl,
      `WITH t AS (SELECT extract(epoch FROM recorded_at - lag(recorded_at) OVER (ORDER BY stream_version)) * 1000 AS ms
                  FROM events WHERE tenant = $1 AND stream_id = $2 AND type IN ('ForceCloseJobSubmitted', 'ForceCloseChunkCompleted'))
       SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms)::float8 AS max FROM t WHERE ms IS NOT NULL`,
      [ACCOUNT, `job-${jobId}`],
    );
    return {
      jobId,
      seconds: times.seconds,
      rate: TOTAL / times.seconds,
      idle,
      marks,
      peak: [latest, ...marks.map((m) => m.memory)].reduce(
        (a, m) => ({ rssKb: Math.max(a.rssKb, m.rssKb), hwmKb: Math.max(a.hwmKb, m.hwmKb) }),
        peak,
      ),
      chunkMs: { p50: chunks.p50, p99: chunks.p99, max: chunks.max },
      workerCpu,
      projected: auditBefore === undefined || auditAfter === undefined ? undefined : auditAfter - auditBefore,
      load: [loadBefore, loadAfter],
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Exact totals: the job's record, the handles table, each handle named once by the job's HandlesForceClosed events, one per chunk. */
async function verifyJob(jobId: string): Promise<string> {
  const [row] = await sql(
    databaseUrl,
    `SELECT j.state, j.chunks_done, j.closed::int,
            (SELECT count(*)::int FROM handles) AS open,
            (SELECT count(*)::int FROM events WHERE type = 'ForceCloseChunkCompleted' AND stream_id = 'job-' || j.job_id) AS chunk_events,
            (SELECT count(*)::int FROM events WHERE type = 'HandlesForceClosed' AND metadata->>'jobId' = $1::text) AS closed_events,
            (SELECT count(DISTINCT id)::int FROM events, jsonb_array_elements_text(data->'handleIds') id
             WHERE type = 'HandlesForceClosed' AND metadata->>'jobId' = $1::text) AS closed_handles
     FROM jobs j WHERE j.job_id = $1::uuid`,
    [jobId],
  );
  const ok =
    row.state === 'completed' &&
    row.closed === TOTAL &&
    row.open === 0 &&
    row.chunks_done === CHUNKS &&
    row.chunk_events === CHUNKS &&
    row.closed_events === CHUNKS &&
    row.closed_handles === TOTAL;
  const summary = `state ${row.state}, ${row.chunks_done} chunks (${row.chunk_events} ChunkCompleted events), closed ${row.closed}, handles left ${row.open}, ${row.closed_events} HandlesForceClosed events naming ${row.closed_handles} handles`;
  if (!ok) throw new Error(`the job's totals are not exact: ${summary}`);
  return summary;
}

// ---- the raw SQL baseline, through pgbench ----

/**
 * One pgbench transaction = one chunk, the writes the runner makes in its transaction: the
 * forceCloseChunk statement (EventStore.appendPerRowThen: the chunk and one more row picked by the
 * keyset index, the chunk deleted by ctid with one HandlesForceClosed event listing it, answering the
 * count closed, the chunk's last position and whether the extra row was there), and the job-stream append at the
 * expected version with its jobs-row update (EventStore.append with the JobRepository projection).
 * The marker and the version travel from one transaction to the next in pgbench variables (\gset),
 * as the runner carries them in the job row (pgbench variables cannot be empty, so the node key
 * travels with a 'k' in front). What the raw SQL leaves out is everything else the service does per
 * chunk: reading the job, the queue round trips.
 */
function pgbenchScript(): string {
  const scope = `share_id = :share::bigint AND (node_key = '' OR (true AND starts_with(node_key, ''))) AND (NULL::bigint IS NULL OR handle_id = NULL::bigint)`;
  return `BEGIN;
WITH picked AS (
  SELECT ctid, node_key, handle_id FROM handles WHERE ${scope} AND (node_key, handle_id) > (substr(:pk::text, 2), :hid::bigint)
  ORDER BY node_key, handle_id LIMIT :chunk::int + 1
), chunk AS (SELECT * FROM picked ORDER BY node_key, handle_id LIMIT :chunk::int),
last AS (SELECT node_key, handle_id FROM chunk ORDER BY node_key DESC, handle_id DESC LIMIT 1),
deleted AS (DELETE FROM handles WHERE ctid = ANY (ARRAY(SELECT ctid FROM chunk)) RETURNING handle_id),
projection AS (
  SELECT 'closure-' || uuid_v7() AS stream_id, 1 AS stream_version, 'HandlesForceClosed' AS type,
    jsonb_build_object('shareId', :share::text, 'path', '', 'recursive', true, 'handleIds', jsonb_agg(handle_id::text),
      'last', (SELECT jsonb_build_object('nodeKey', node_key, 'handleId', handle_id::text) FROM last)) AS data
  FROM deleted HAVING count(*) > 0
), appended AS (
  INSERT INTO events (tenant, stream_id, stream_version, event_id, type, schema_version, data, metadata)
  SELECT :tenant::text, p.stream_id, p.stream_version, uuid_v7(), p.type, 1, p.data, :metadata::jsonb FROM projection p
)
SELECT (SELECT count(*)::int FROM deleted) AS n, 'k' || node_key AS pk, handle_id::text AS hid, (SELECT count(*) FROM picked) > :chunk::int AS more
FROM last \\gset
WITH projection AS (
  UPDATE jobs SET state = 'running', cancel_requested = false, chunks_done = :v::int, closed = closed + :n::int,
    marker = CASE WHEN :more::boolean THEN jsonb_build_object('nodeKey', substr(:pk::text, 2), 'handleId', :hid::text) END,
    started_at = coalesce(started_at, now()), ended_at = NULL, error = NULL, version = :v::int + 1
  WHERE tenant = :tenant::text AND job_id = :job::uuid AND version = :v::int RETURNING 1
)
INSERT INTO events (tenant, stream_id, stream_version, event_id, type, schema_version, data, metadata)
SELECT :tenant::text, 'job-' || :job::text, :v::int + 1, gen_random_uuid(), 'ForceCloseChunkCompleted', 1,
  jsonb_build_object('chunk', :v::int, 'closed', :n::int, 'next', CASE WHEN :more::boolean THEN jsonb_build_object('nodeKey', substr(:pk::text, 2), 'handleId', :hid::text) END, 'at', now()),
  :metadata::jsonb
WHERE EXISTS (SELECT 1 FROM projection)
RETURNING stream_version AS v \\gset
COMMIT;
`;
}

async function runBaseline(): Promise<{
  seconds: number;
  rate: number;
  tps: number;
  latencyMs: number;
  summary: string;
  load: [number, number];
}> {
  const jobId = randomUUID();
  const [share] = await sql(databaseUrl, `SELECT share_id::text FROM shares WHERE tenant = $1 AND name = $2`, [
    ACCOUNT,
    SHARE,
  ]);
  // The job as SubmitForceCloseJobHandler records it: the jobs row and ForceCloseJobSubmitted at version 1.
  const now = new Date().toISOString();
  await sql(
    databaseUrl,
    `WITH projection AS (
       INSERT INTO jobs (job_id, tenant, idempotency_key, share_id, share_name, node_key, path, recursive, handle_id, state, requested_by, created_at, version)
       VALUES ($1::uuid, $2::text, $1::text, $3::bigint, $4::text, '', '', true, '*', 'queued', $2::text, $5::timestamptz, 1) RETURNING 1)
     INSERT INTO events (tenant, stream_id, stream_version, event_id, type, schema_version, data, metadata)
     SELECT $2::text, 'job-' || $1::text, 1, gen_random_uuid(), 'ForceCloseJobSubmitted', 1,
       jsonb_build_object('jobId', $1::text, 'idempotencyKey', $1::text, 'shareId', $3::text, 'shareName', $4::text, 'nodeKey', '', 'path', '',
         'recursive', true, 'handleId', '*', 'requestedBy', $2::text, 'at', $5::text),
       jsonb_build_object('requestId', 'bench', 'principal', $2::text, 'authentication', 'SharedKey')
     FROM projection`,
    [jobId, ACCOUNT, share.share_id, SHARE, now],
  );
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-bench-fc-'));
  try {
    const script = join(dir, 'chunk.sql');
    writeFileSync(script, pgbenchScript());
    const metadata = JSON.stringify({
      requestId: `job-${jobId}-chunk`,
      principal: ACCOUNT,
      authentication: 'System',
      jobId,
    });
    const vars = {
      share: share.share_id,
      tenant: ACCOUNT,
      job: jobId,
      chunk: String(CONFIG.chunk),
      pk: 'k',
      hid: '-1',
      v: '1',
      metadata,
    };
    const url = new URL(databaseUrl);
    const loadBefore = loadavg()[0];
    const started = Date.now();
    const out = await runToEnd('pgbench', [
      '-n',
      '-M',
      'extended',
      '-c',
      '1',
      '-t',
      String(CHUNKS),
      '-f',
      script,
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      decodeURIComponent(url.username || 'postgres'),
      ...Object.entries(vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
      CONFIG.database,
    ]);
    const seconds = (Date.now() - started) / 1000;
    const load: [number, number] = [loadBefore, loadavg()[0]];
    const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
    const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? NaN);
    const failed = /number of failed transactions: (\d+)/.exec(out)?.[1];
    if (failed && failed !== '0') throw new Error(`pgbench: ${failed} failed transactions:\n${out}`);
    const [row] = await sql(
      databaseUrl,
      `SELECT j.chunks_done, j.closed::int, j.version, (SELECT count(*)::int FROM handles) AS open,
              (SELECT count(*)::int FROM events, jsonb_array_elements_text(data->'handleIds') id WHERE type = 'HandlesForceClosed') AS closed_events
       FROM jobs j WHERE j.job_id = $1::uuid`,
      [jobId],
    );
    const summary = `${row.chunks_done} chunks, closed ${row.closed}, handles left ${row.open}, handles named by HandlesForceClosed events ${row.closed_events}, job version ${row.version}`;
    if (row.closed !== TOTAL || row.open !== 0 || row.closed_events !== TOTAL || row.chunks_done !== CHUNKS)
      throw new Error(`the raw SQL did not close everything exactly once: ${summary}`);
    // pgbench's tps leaves out connecting; the handles each transaction closed are one chunk.
    return { seconds, rate: tps * (TOTAL / CHUNKS), tps, latencyMs, summary, load };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the run ----

async function removeQueue(): Promise<void> {
  const queue = new Queue(FORCE_CLOSE_QUEUE, { connection: redisConnection(CONFIG.redisUrl), prefix: PREFIX });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await closeQueue(queue);
  }
}

async function main(): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  say(
    `${TOTAL.toLocaleString('en')} handles on ${CONFIG.files} files (${CONFIG.perFile} each), chunks of ${CONFIG.chunk}; database ${CONFIG.database} (dropped and recreated); queue prefix ${PREFIX}`,
  );

  say('preparing: fresh database, API, tree, handles');
  await freshDatabase();
  let api = await startApi();
  await prepareData(api.url);
  const hold = await holdProjector();
  let worker = await startWorker(serviceEnv());
  say(
    `worker pid ${worker.pid}, WORKER_CONCURRENCY=${CONFIG.concurrency}${hold ? ', audit projector held on standby' : ''}`,
  );
  const job = await runJob(api.url, worker, false);
  const verified = await verifyJob(job.jobId);
  say(`verified: ${verified}`);

  await hold?.release();
  await stop(worker);
  await stop(api.child);

  let live: { job: JobRun; verified: string } | undefined;
  if (CONFIG.withProjector && hold) {
    say('again with the audit projector live: fresh database, same tree and handles, projector caught up, one job');
    await freshDatabase();
    api = await startApi();
    await prepareData(api.url);
    worker = await startWorker(serviceEnv());
    const again = await runJob(api.url, worker, true);
    live = { job: again, verified: await verifyJob(again.jobId) };
    say(`verified: ${live.verified}`);
    await stop(worker);
    await stop(api.child);
  }

  let baseline: Awaited<ReturnType<typeof runBaseline>> | undefined;
  if (CONFIG.baseline) {
    say('baseline: fresh database with the same tree and handles, then the same chunked writes through pgbench');
    await freshDatabase();
    api = await startApi();
    await prepareData(api.url);
    await stop(api.child); // nothing but pgbench and PostgreSQL while it runs
    baseline = await runBaseline();
    say(`verified: ${baseline.summary}`);
  }

  const cpu = cpus();
  report(`# Force-close benchmark, ${new Date().toISOString()}`);
  report();
  report(
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; PostgreSQL ${(await sql(adminUrl, 'SHOW server_version'))[0].server_version}, Node ${process.version}.`,
  );
  report(
    `Data: ${TOTAL.toLocaleString('en')} open handles, ${CONFIG.files} files × ${CONFIG.perFile}, three levels deep (a0…a9/b0…b4/f…), seeded by SQL that writes what OpenHandleHandler writes (handles rows + HandleOpened events).`,
  );
  report(
    `Job: one recursive Force Close job on the share root, FORCE_CLOSE_CHUNK_SIZE=${CONFIG.chunk} (${CHUNKS} chunks), WORKER_CONCURRENCY=${CONFIG.concurrency}, one worker process.`,
  );
  const describe = (name: string, run: JobRun) =>
    report(
      `${name}: load average (1 min) ${run.load[0].toFixed(2)} at submit, ${run.load[1].toFixed(2)} at completion; the worker used ${run.workerCpu.toFixed(1)} CPU seconds ` +
        `(${(run.workerCpu / run.seconds).toFixed(2)} cores)` +
        (run.projected === undefined
          ? '.'
          : `; the audit projector in the same process applied ${run.projected.toLocaleString('en')} events meanwhile.`),
    );
  describe('Job', job);
  if (live) describe('Job with the audit projector live', live.job);
  if (baseline)
    report(
      `Raw SQL: load average (1 min) ${baseline.load[0].toFixed(2)} at start, ${baseline.load[1].toFixed(2)} at the end.`,
    );
  report();
  const jobRow = (name: string, run: JobRun) =>
    report(
      `| ${name} | ${run.seconds.toFixed(1)} | ${Math.round(run.rate).toLocaleString('en')} | Submitted → Completed event; chunk every ${run.chunkMs.p50.toFixed(1)} ms (p50), ${run.chunkMs.p99.toFixed(1)} ms (p99), ${run.chunkMs.max.toFixed(1)} ms (max) |`,
    );
  report('| | seconds | handles closed/s | |');
  report('|---|---:|---:|---|');
  jobRow(`Leasehold job (worker process${hold ? ', audit projector on standby' : ''})`, job);
  if (live) jobRow('Leasehold job, audit projector live', live.job);
  if (baseline) {
    report(
      `| raw SQL (pgbench, 1 client) | ${baseline.seconds.toFixed(1)} | ${Math.round(baseline.rate).toLocaleString('en')} | ${baseline.tps.toFixed(1)} chunk transactions/s, ${baseline.latencyMs.toFixed(2)} ms each |`,
    );
    report();
    report(
      `Leasehold reaches **${((job.rate / baseline.rate) * 100).toFixed(0)} %** of the raw SQL rate${live ? ` (${((live.job.rate / baseline.rate) * 100).toFixed(0)} % with the audit projector live)` : ''}.`,
    );
  }
  report();
  report('Worker memory (/proc/<pid>/status, sampled every 100 ms):');
  report();
  report('| point | handles closed | VmRSS | VmHWM (peak so far) |');
  report('|---|---:|---:|---:|');
  report(`| idle, before submit | 0 | ${mb(job.idle.rssKb)} | ${mb(job.idle.hwmKb)} |`);
  for (const mark of job.marks)
    report(
      `| ${mark.label} | ${mark.closed.toLocaleString('en')} | ${mb(mark.memory.rssKb)} | ${mb(mark.memory.hwmKb)} |`,
    );
  report();
  report(`Peak RSS of the worker over the job: ${mb(job.peak.hwmKb)} (VmHWM).`);
  if (live) {
    report();
    report('With the audit projector live (a new worker process):');
    report();
    report('| point | handles closed | VmRSS | VmHWM (peak so far) |');
    report('|---|---:|---:|---:|');
    report(`| idle, before submit | 0 | ${mb(live.job.idle.rssKb)} | ${mb(live.job.idle.hwmKb)} |`);
    for (const mark of live.job.marks)
      report(
        `| ${mark.label} | ${mark.closed.toLocaleString('en')} | ${mb(mark.memory.rssKb)} | ${mb(mark.memory.hwmKb)} |`,
      );
  }
  report();
  report(`Exact totals, job: ${verified}.`);
  if (live) report(`Exact totals, job with the projector live: ${live.verified}.`);
  if (baseline) report(`Exact totals, raw SQL: ${baseline.summary}.`);

  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, `bench/results/force-close-${stamp}.md`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  say(`written to ${file}`);
  // The summary of `npm run bench`: one op is one handle closed; latency is the interval between chunks.
  const runs: [string, JobRun][] = [
    ['job', job],
    ...(live ? [['job, audit projector live', live.job] as [string, JobRun]] : []),
  ];
  for (const [scenario, run] of runs)
    emitRow({
      bench: 'force-close',
      scenario: `${scenario}: ${TOTAL.toLocaleString('en')} handles, chunks of ${CONFIG.chunk} (latency: chunk interval)`,
      throughput: run.rate,
      unit: 'handles/s',
      p50Ms: run.chunkMs.p50,
      p99Ms: run.chunkMs.p99,
      baselines: baseline ? [{ name: 'raw SQL (pgbench, 1 client)', throughput: baseline.rate }] : [],
      cpuMsPerOp: (run.workerCpu * 1000) / TOTAL,
      cpuProcess: 'worker',
      peakRssMiB: run.peak.hwmKb / 1024,
    });
}

let exitCode = 0;
main()
  .catch((error) => {
    process.stdout.write('\n');
    console.error(`bench: failed: ${error?.stack ?? error}`);
    exitCode = 1;
  })
  .finally(async () => {
    await Promise.all([...children].map(stop));
    agent.destroy();
    await removeQueue().catch(() => undefined);
    if (!CONFIG.keepDatabase)
      await sql(adminUrl, `DROP DATABASE IF EXISTS ${CONFIG.database} WITH (FORCE)`).catch(() => undefined);
    process.exit(exitCode);
  });
process.on('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL');
  process.exit(130);
});
