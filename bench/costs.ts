import { ShareClient, ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '@leasehold/accounts';
import { loadConfig } from '@leasehold/config';
import { closeQueue, FORCE_CLOSE_QUEUE, redisConnection } from '@leasehold/jobs';
import { Queue } from 'bullmq';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  children,
  DIST,
  emitRow,
  envInteger,
  holdAuditProjector,
  peakRssWindow,
  BENCH_SERVICE_ENV,
  ROOT,
  runToEnd,
  serviceCode,
  signedRequest,
  startReady,
  startWorker,
  stop,
} from './common';
import { seedOpenHandles } from './force-close-seed';
import { CpuSampler } from './lease/processes';
import { OwnService, ownPostgres } from './own-services';
import { walTotals } from './waldump';

/**
 * `npm run bench:costs`: what one lease action, one handle close and one audit event cost in CPU of
 * the Leasehold process doing it (API or worker), CPU of PostgreSQL, and WAL bytes, on a PostgreSQL
 * cluster of the bench's own (WAL is cluster-wide: on the shared server other work would write
 * into the same figure). Measurement only, for docs/scaling.md; see bench/README.md.
 */

const env = process.env;
const CONFIG = {
  cycles: envInteger('BENCH_COSTS_LEASE_CYCLES', 10_000, 10, 10_000_000),
  clients: envInteger('BENCH_COSTS_CLIENTS', 8, 1, 256),
  handles: envInteger('BENCH_COSTS_HANDLES', 200_000, 1000, 2_000_000),
  /** The worker's own setting, read and checked as the worker reads it. */
  chunk: loadConfig({ FORCE_CLOSE_CHUNK_SIZE: env.FORCE_CLOSE_CHUNK_SIZE }).forceCloseChunkSize,
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  /** 1: the cluster flushes WAL at each commit, as deployed (the ops/s then include the flushes). */
  fsync: env.BENCH_COSTS_FSYNC === '1',
};
const PER_FILE = 1000;
const ACCOUNT = DEVELOPMENT_ACCOUNT;
const SHARE = 'costs';
const DATABASE = 'leasehold_costs';
const PREFIX = `lh-bench-costs-${process.pid}-${randomBytes(3).toString('hex')}`;

const say = (line: string) => process.stdout.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const load1 = () => loadavg()[0];

/** The postmaster and every process it forked (backends, WAL writer, checkpointer…): the whole private cluster. */
function clusterPids(postmaster: number): number[] {
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** pg_waldump of the server's major version: on PATH, or where Debian installs it. */
function waldump(major: string): string | undefined {
  for (const candidate of ['pg_waldump', `/usr/lib/postgresql/${major}/bin/pg_waldump`])
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next
    }
  return undefined;
}

interface Cost {
  name: string;
  process: string;
  ops: number;
  unit: string;
  seconds: number;
  /** ops / seconds, unless the body measured its own rate. */
  rate: number;
  serviceCpuS: number;
  postgresCpuS: number;
  walBytes: number;
  /** Of walBytes, full-page images (pg_waldump --stats), when pg_waldump is there. */
  fpiBytes?: number;
  /** Transactions committed in the window (COMMIT records), when pg_waldump is there. */
  commits?: number;
  peakRssMiB?: number;
  load: [number, number];
  notes?: string;
}

interface Context {
  pg: OwnService;
  db: Client;
  dataDirectory: string;
  waldump?: string;
}

/**
 * One measured window: a checkpoint first (each window starts with the same state of full-page
 * writes), then `body`, which answers the ops it did. CPU is sampled every 200 ms from /proc
 * (user + system) for the service process and the whole cluster; WAL is the insert position's move.
 */
async function measure(
  ctx: Context,
  name: string,
  process: { label: string; pid: number },
  unit: string,
  body: () => Promise<number | { ops: number; rate: number }>,
): Promise<Cost> {
  await ctx.db.query('CHECKPOINT');
  const [{ lsn: before }] = (await ctx.db.query(`SELECT pg_current_wal_insert_lsn()::text AS lsn`)).rows;
  const loadBefore = load1();
  const peak = peakRssWindow(process.pid);
  const sampler = new CpuSampler(() => ({ service: [process.pid], postgres: clusterPids(ctx.pg.pid!) }));
  sampler.start();
  const done = await body();
  const cores = sampler.stop();
  const ops = typeof done === 'number' ? done : done.ops;
  const [{ lsn: after, bytes }] = (
    await ctx.db.query(
      `SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::float8 AS bytes`,
      [before],
    )
  ).rows;
  // Every record up to `after` must be on disk for pg_waldump to read it.
  await ctx.db.query('SELECT pg_switch_wal()');
  let totals: ReturnType<typeof walTotals>;
  if (ctx.waldump) {
    const out = execFileSync(
      ctx.waldump,
      ['--stats=record', '-p', join(ctx.dataDirectory, 'pg_wal'), '-s', before, '-e', after],
      { maxBuffer: 16 * 2 ** 20 },
    ).toString();
    totals = walTotals(out);
  }
  return {
    name,
    process: process.label,
    ops,
    unit,
    seconds: sampler.seconds,
    rate: typeof done === 'number' ? ops / sampler.seconds : done.rate,
    serviceCpuS: cores.service * sampler.seconds,
    postgresCpuS: cores.postgres * sampler.seconds,
    walBytes: bytes,
    fpiBytes: totals?.fpiBytes,
    commits: totals?.commits,
    peakRssMiB: peak(),
    load: [loadBefore, load1()],
  };
}

/** Acquire and release through the SDK, each client on its own file, `cycles` cycles in all; answers the ops (2 a cycle). */
async function leaseCycles(files: ReturnType<ShareClient['getDirectoryClient']>, cycles: number): Promise<number> {
  const perClient = Math.ceil(cycles / CONFIG.clients);
  await Promise.all(
    Array.from({ length: CONFIG.clients }, async (_, i) => {
      const lease = files.getFileClient(`f${i}`).getShareLeaseClient();
      for (let n = 0; n < perClient; n++) {
        await lease.acquireLease(-1);
        await lease.releaseLease();
      }
    }),
  );
  return 2 * perClient * CONFIG.clients;
}

async function main(): Promise<number> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const loadAtStart = load1();
  say(
    `starting a private PostgreSQL cluster (initdb into a temp directory); queue prefix ${PREFIX} on the shared Redis`,
  );
  // No checkpoint but the bench's own inside a window: each window's full-page images are its own.
  const pg = (cluster = await ownPostgres({
    checkpoint_timeout: '1h',
    max_wal_size: '64GB',
    ...(CONFIG.fsync ? { fsync: 'on' } : {}),
  }));
  const databaseUrl = `${pg.url}/${DATABASE}`;
  const db = new Client({ connectionString: `${pg.url}/postgres` });
  await db.connect();
  await db.query(`CREATE DATABASE ${DATABASE}`);
  await db.end();
  const serviceEnv = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: CONFIG.redisUrl,
    QUEUE_PREFIX: PREFIX,
    ...BENCH_SERVICE_ENV,
    // The rate limiter runs but never refuses.
    RATE_LIMIT_PER_SECOND: '1000000',
    FORCE_CLOSE_CHUNK_SIZE: String(CONFIG.chunk),
  };
  await runToEnd(process.execPath, [join(DIST, 'apps/cli/main.js'), 'migrate'], serviceEnv);
  const ctx: Context = { pg, db: new Client({ connectionString: databaseUrl }), dataDirectory: '' };
  await ctx.db.connect();
  const [{ data_directory, server_version }] = (
    await ctx.db.query(
      `SELECT current_setting('data_directory') AS data_directory, current_setting('server_version') AS server_version`,
    )
  ).rows;
  ctx.dataDirectory = data_directory;
  ctx.waldump = waldump(String(server_version).split('.')[0]);
  if (!ctx.waldump) say('pg_waldump not found: WAL is given without its full-page images and commits');

  const api = await startReady('apps/api/src/main.js', 'PORT', serviceEnv, 'the API');
  const share = new ShareServiceClient(
    `${api.url}/${ACCOUNT}`,
    new StorageSharedKeyCredential(ACCOUNT, DEVELOPMENT_KEY),
    {
      retryOptions: { maxTries: 1 },
    },
  ).getShareClient(SHARE);
  await share.create();
  const results: Cost[] = [];

  // ---- one lease action ----
  const leaseDir = share.getDirectoryClient('leases');
  await leaseDir.create();
  await Promise.all(Array.from({ length: CONFIG.clients }, (_, i) => leaseDir.getFileClient(`f${i}`).create(0)));
  say(`lease: warm-up, then ${CONFIG.cycles.toLocaleString('en')} acquire+release cycles, ${CONFIG.clients} clients`);
  await leaseCycles(leaseDir, Math.max(CONFIG.clients, Math.floor(CONFIG.cycles / 5)));
  results.push(
    await measure(
      ctx,
      `lease action (acquire or release, JS SDK), ${CONFIG.clients} client${CONFIG.clients === 1 ? '' : 's'} on distinct files`,
      { label: 'API', pid: api.child.pid! },
      'ops',
      () => leaseCycles(leaseDir, CONFIG.cycles),
    ),
  );

  // ---- one handle closed by a recursive force-close job ----
  const files = Array.from({ length: Math.ceil(CONFIG.handles / PER_FILE) }, (_, k) => `h${k % 10}/f${k}`);
  say(`force close: ${files.length} files, ${(files.length * PER_FILE).toLocaleString('en')} handles seeded by SQL`);
  await Promise.all(Array.from({ length: 10 }, (_, d) => share.getDirectoryClient(`h${d}`).create()));
  for (let i = 0; i < files.length; i += 50)
    await Promise.all(
      files.slice(i, i + 50).map((f) => {
        const [dir, name] = f.split('/');
        return share.getDirectoryClient(dir).getFileClient(name).create(0);
      }),
    );
  let seeded = 0;
  for (let i = 0; i < files.length; i += 25)
    seeded += await seedOpenHandles(ctx.db, ACCOUNT, SHARE, files.slice(i, i + 25), PER_FILE);
  await ctx.db.query('VACUUM ANALYZE');
  const hold = await holdAuditProjector(databaseUrl);
  const worker = await startWorker(serviceEnv);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    results.push(
      await measure(
        ctx,
        `handle closed by one recursive force-close job (${seeded.toLocaleString('en')} handles, chunks of ${CONFIG.chunk})`,
        { label: 'worker', pid: worker.pid! },
        'handles',
        async () => {
          const submitted = await signedRequest(agent, api.url, 'PUT', `/${ACCOUNT}/${SHARE}`, 'comp=forceclosejob', {
            'x-ms-handle-id': '*',
            'x-ms-recursive': 'true',
          });
          if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${submitted.body}`);
          const jobId = String(submitted.headers['x-leasehold-job-id']);
          for (;;) {
            const [job] = (await ctx.db.query(`SELECT state, closed::int FROM jobs WHERE job_id = $1`, [jobId])).rows;
            if (job.state === 'completed') return job.closed;
            if (['failed', 'cancelled'].includes(job.state)) throw new Error(`the job ended ${job.state}`);
            await sleep(100);
          }
        },
      ),
    );
  } finally {
    agent.destroy();
  }

  // ---- one audit event applied by the projector catching up ----
  const [{ total, applied }] = (
    await ctx.db.query(
      `SELECT (SELECT count(*) FROM events)::int AS total,
              coalesce((SELECT events FROM projection_checkpoints WHERE name = 'audit'), 0)::int AS applied`,
    )
  ).rows;
  say(`audit: the projector catches up over ${(total - applied).toLocaleString('en')} events`);
  results.push(
    await measure(
      ctx,
      `audit event applied by the projector catching up (${(total - applied).toLocaleString('en')} events)`,
      { label: 'worker', pid: worker.pid! },
      'events',
      // The rate runs from the first batch seen: the projector on standby looks for the lead only
      // every few seconds (STANDBY_POLL_MS in libs/audit/src/audit.module.ts), idle meanwhile.
      async () => {
        await hold.release();
        let first: { at: number; n: number } | undefined;
        for (;;) {
          const [row] = (
            await ctx.db.query(
              `SELECT coalesce((SELECT events FROM projection_checkpoints WHERE name = 'audit'), 0)::int AS n`,
            )
          ).rows;
          if (row.n > applied) first ??= { at: Date.now(), n: row.n };
          if (row.n >= total) {
            const seconds = (Date.now() - first!.at) / 1000;
            return { ops: row.n - applied, rate: seconds > 0 ? (row.n - first!.n) / seconds : NaN };
          }
          await sleep(50);
        }
      },
    ),
  );
  await ctx.db.end();

  // ---- the report ----
  const cpu = cpus();
  const perOp = (n: number, ops: number) => n / ops;
  const figure = (n: number | undefined, digits = 3) =>
    n === undefined ? '–' : n >= 100 ? Math.round(n).toLocaleString('en') : Number(n.toPrecision(digits)).toString();
  const lines = [
    `# Costs benchmark, ${new Date().toISOString()}`,
    '',
    `${serviceCode(ROOT)} Machine: ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, shared with other work; load average (1 min) ${loadAtStart.toFixed(2)} at the start, ${load1().toFixed(2)} at the end. PostgreSQL ${server_version}, a private cluster (fsync ${CONFIG.fsync ? 'on' : 'off'}, checkpoint before each window), Node ${process.version}.`,
    '',
    '| op | ops | seconds | ops/s | CPU ms/op (process) | PostgreSQL CPU ms/op (whole cluster) | WAL bytes/op | of which full-page images | commits/op | load before → after |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --- |',
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.ops.toLocaleString('en')} | ${r.seconds.toFixed(1)} | ${figure(r.rate)} | ${figure(perOp(r.serviceCpuS * 1000, r.ops))} (${r.process}) | ${figure(perOp(r.postgresCpuS * 1000, r.ops))} | ${figure(perOp(r.walBytes, r.ops))} | ${figure(r.fpiBytes === undefined ? undefined : perOp(r.fpiBytes, r.ops))} | ${figure(r.commits === undefined ? undefined : perOp(r.commits, r.ops))} | ${r.load[0].toFixed(2)} → ${r.load[1].toFixed(2)} |`,
    ),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, `bench/results/costs-${stamp}.md`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  say(`written to ${file}`);
  for (const r of results)
    emitRow({
      bench: 'costs',
      scenario: r.name,
      throughput: r.rate,
      unit: `${r.unit}/s`,
      cpuMsPerOp: perOp(r.serviceCpuS * 1000, r.ops),
      cpuProcess: r.process,
      dbCpuMsPerOp: perOp(r.postgresCpuS * 1000, r.ops),
      walBytesPerOp: perOp(r.walBytes, r.ops),
      peakRssMiB: r.peakRssMiB,
      notes: `${r.fpiBytes === undefined ? '' : `full-page images ${figure(perOp(r.fpiBytes, r.ops))} B/op; `}${r.commits === undefined ? '' : `${figure(perOp(r.commits, r.ops))} commits/op; `}load ${r.load[0].toFixed(2)} → ${r.load[1].toFixed(2)}`,
    });
  return 0;
}

let cluster: OwnService | undefined;
let exitCode = 0;
main()
  .catch((error) => {
    console.error(`bench: failed: ${error?.stack ?? error}`);
    exitCode = 1;
  })
  .finally(async () => {
    await Promise.all([...children].map(stop));
    const queue = new Queue(FORCE_CLOSE_QUEUE, { connection: redisConnection(CONFIG.redisUrl), prefix: PREFIX });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await closeQueue(queue).catch(() => undefined);
    await cluster?.remove();
    process.exit(exitCode);
  });
process.on('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL');
  void (cluster?.remove() ?? Promise.resolve()).finally(() => process.exit(130));
});
