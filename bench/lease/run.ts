import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '@leasehold/accounts';
import { API_NODE_ARGS, BENCH_SERVICE_ENV, emitRow, envInteger, peakRssWindow, serviceCode, sql } from '../common';
import { azureRequest, Signer } from './azure';
import { HeartbeatResult, HeartbeatSpec } from './heartbeat';
import { LatencySummary, LoadResult, LoadSpec, summarize } from './load';
import { captureLeaseStatements, PGBENCH_LEASE_ID, pgbenchScript } from './pgbench-script';
import { waitForReady } from '@leasehold/observability';
import {
  CpuSampler,
  freePort,
  killAllNow,
  pidsByName,
  postgresPids,
  run,
  sleep,
  start,
  stop,
  stopAll,
  trackTempDir,
} from './processes';

/**
 * `npm run bench:lease`: Lease File throughput and latency of Leasehold, with three baselines in the
 * same run on the same machine: (a) pgbench executing the service's own SQL for a lease operation,
 * (b) a single-node etcd doing the equivalent compare-and-put / compare-and-delete, (c) the
 * service's Lease File handler behind bare node:http (bare-server.ts), which separates what the wire
 * layer costs from what the capability, the pg client and Node's HTTP cost.
 * Loopback only. See bench/README.md for what each number means.
 */

const ROOT = resolve(__dirname, '..', '..', '..'); // dist/bench/lease → repository root
const DIST = resolve(__dirname, '..', '..');

const env = process.env;
const flag = (name: string) => env[name] !== '0';
const CONFIG = {
  durationMs: envInteger('BENCH_DURATION_S', 10, 1) * 1000,
  warmupMs: envInteger('BENCH_WARMUP_S', 2, 0) * 1000,
  clients: (env.BENCH_CLIENTS ?? '1,64').split(',').map(Number),
  modes: (env.BENCH_MODES ?? 'distinct,hot').split(',') as Array<'distinct' | 'hot'>,
  pgUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432',
  database: env.BENCH_DB ?? 'leasehold_bench',
  pgbench: flag('BENCH_PGBENCH'),
  pgbenchExtended: flag('BENCH_PGBENCH_EXTENDED'),
  etcd: flag('BENCH_ETCD'),
  bare: flag('BENCH_BARE'),
  roundTrips: flag('BENCH_ROUNDTRIPS'),
  heartbeatLeases: (env.BENCH_HEARTBEAT ?? '1000,10000')
    .split(',')
    .map(Number)
    .filter((n) => n > 0),
  heartbeatMs: envInteger('BENCH_HEARTBEAT_S', 30, 6) * 1000,
  heartbeatConnections: envInteger('BENCH_HEARTBEAT_CONNECTIONS', 64, 1),
};
if (CONFIG.heartbeatLeases.some((n) => !Number.isInteger(n) || n > 100_000))
  throw new Error('BENCH_HEARTBEAT: lease counts up to 100,000, or 0 to skip');
if (CONFIG.clients.some((c) => !Number.isInteger(c) || c < 1 || c > 500))
  throw new Error('BENCH_CLIENTS: integers from 1 to 500');
if (CONFIG.modes.some((m) => m !== 'distinct' && m !== 'hot')) throw new Error('BENCH_MODES: distinct and/or hot');
if (!/^[a-z_][a-z0-9_]*$/.test(CONFIG.database)) throw new Error('BENCH_DB: a plain lowercase identifier');

const SHARE = 'bench';
const HOT_FILE = '0';
// The development account and its published key, which `migrate` creates outside production.
const ACCOUNT = DEVELOPMENT_ACCOUNT;
const ACCOUNT_KEY = DEVELOPMENT_KEY;
const signer: Signer = { account: ACCOUNT, key: Buffer.from(ACCOUNT_KEY, 'base64') };

const databaseUrl = (() => {
  const url = new URL(CONFIG.pgUrl);
  url.pathname = `/${CONFIG.database}`;
  return url.toString();
})();
const adminUrl = (() => {
  const url = new URL(CONFIG.pgUrl);
  url.pathname = '/postgres';
  return url.toString();
})();

const say = (line: string) => process.stdout.write(`bench: ${line}\n`);

// ---- database and API ----

async function freshDatabase(): Promise<void> {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${CONFIG.database} WITH (FORCE)`);
  await sql(adminUrl, `CREATE DATABASE ${CONFIG.database}`);
  const serviceEnv = { ...env, DATABASE_URL: databaseUrl, NODE_ENV: 'development' };
  const { stdout } = await run(process.execPath, [join(DIST, 'apps/cli/main.js'), 'migrate'], {
    env: serviceEnv,
    cwd: ROOT,
  });
  stdout
    .trim()
    .split('\n')
    .forEach((l) => say(l));
}

interface Api {
  url: URL;
  stop(): Promise<void>;
  pid: number;
  /** Why the API is gone, with the end of its output, when it exited on its own; else undefined. */
  death(): string | undefined;
}

async function startApi(): Promise<Api> {
  const port = await freePort();
  const child = start(process.execPath, [...API_NODE_ARGS, join(DIST, 'apps/api/src/main.js')], {
    // The rate limiter runs, and its cost is measured, but it never refuses: the bench measures leases, not the limit.
    env: {
      ...env,
      DATABASE_URL: databaseUrl,
      ...BENCH_SERVICE_ENV,
      PORT: String(port),
      RATE_LIMIT_PER_SECOND: '1000000',
    },
    cwd: ROOT,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(url, child);
  // Keep the end of its output: if the API dies mid-run, that is what explains it.
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', (d: Buffer) => {
    keep(d);
    if (!stopping) process.stderr.write(`api: ${d.toString()}`);
  });
  let stopped = false;
  let exit: string | undefined;
  child.on('exit', (code, signal) => (exit = `exit code ${code}, signal ${signal}`));
  return {
    url: new URL(url),
    pid: child.pid!,
    stop: () => {
      stopped = true;
      return stop(child);
    },
    death: () => (exit && !stopped ? `the API (pid ${child.pid}) died: ${exit}; its last output:\n${tail}` : undefined),
  };
}

/** Baseline (c): the Lease File handler behind bare node:http (bare-server.ts), on the same database. */
async function startBare(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = start(process.execPath, [join(__dirname, 'bare-server.js')], {
    env: { ...env, DATABASE_URL: databaseUrl, ...BENCH_SERVICE_ENV, PORT: String(port) },
    cwd: ROOT,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(url, child);
  return { url, pid: child.pid!, stop: () => stop(child) };
}

async function createFiles(api: Api, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true });
  try {
    const share = await azureRequest(api.url, agent, signer, 'PUT', `/${ACCOUNT}/${SHARE}`, { restype: 'share' }, {});
    if (share.status !== 201) throw new Error(`Create Share: ${share.status} ${share.errorCode}`);
    // File names are numbers so that pgbench, which has no string functions, can address them.
    for (let i = 0; i <= count; i++) {
      const file = await azureRequest(
        api.url,
        agent,
        signer,
        'PUT',
        `/${ACCOUNT}/${SHARE}/${i}`,
        {},
        { 'x-ms-type': 'file', 'x-ms-content-length': '0' },
      );
      if (file.status !== 201) throw new Error(`Create File ${i}: ${file.status} ${file.errorCode}`);
    }
  } finally {
    agent.destroy();
  }
}

/** Ends, through the API, any lease pgbench left held when its time ran out. */
async function releasePgbenchLeases(api: Api): Promise<number> {
  const rows = await sql<{ path: string }>(
    databaseUrl,
    `SELECT path FROM nodes WHERE lease_state = 'leased' AND lease_id = $1`,
    [PGBENCH_LEASE_ID],
  );
  const agent = new Agent({ keepAlive: true });
  try {
    for (const { path } of rows) {
      const res = await azureRequest(
        api.url,
        agent,
        signer,
        'PUT',
        `/${ACCOUNT}/${SHARE}/${path}`,
        { comp: 'lease' },
        {
          'x-ms-lease-action': 'release',
          'x-ms-lease-id': PGBENCH_LEASE_ID,
        },
      );
      if (res.status !== 200) throw new Error(`releasing pgbench's lease on ${path}: ${res.status} ${res.errorCode}`);
    }
  } finally {
    agent.destroy();
  }
  return rows.length;
}

// ---- load process ----

interface Measured<T> {
  result: T;
  cpu: Record<string, number>;
  top?: string;
}

function filesFor(clients: number, mode: 'distinct' | 'hot'): string[] {
  return Array.from({ length: clients }, (_, i) => (mode === 'hot' ? HOT_FILE : String(i + 1)));
}

async function runLoadProcess(
  spec: LoadSpec,
  groups: () => Record<string, number[]>,
  wantTop: boolean,
): Promise<Measured<LoadResult>> {
  const child = start(process.execPath, [join(__dirname, 'load.js'), JSON.stringify(spec)], { cwd: ROOT });
  const sampler = new CpuSampler(() => ({ ...groups(), load: child.pid ? [child.pid] : [] }));
  let stdout = '';
  let stderr = '';
  let cpu: Record<string, number> = {};
  let top: string | undefined;
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => {
    stderr += d;
    if (/WINDOW start/.test(d.toString())) {
      sampler.start();
      // A snapshot of top halfway through the window, for the record.
      if (wantTop) {
        setTimeout(() => {
          try {
            // Two frames 0.5 s apart: top's first frame has no CPU interval to go by.
            const frames = execFileSync('top', ['-b', '-n2', '-d0.5', '-w', '160'])
              .toString()
              .split(/^(?=top - )/m);
            top = frames[frames.length - 1].split('\n').slice(0, 17).join('\n');
          } catch {
            top = undefined;
          }
        }, spec.durationMs / 2).unref();
      }
    }
    if (/WINDOW end/.test(d.toString())) cpu = sampler.stop();
  });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (sampler.running) cpu = sampler.stop(); // never leave its interval running
  if (code !== 0) throw new Error(`load process failed (${code}): ${stderr.replace(/WINDOW \w+\n/g, '')}`);
  return { result: JSON.parse(stdout) as LoadResult, cpu, top };
}

// ---- baseline (a): pgbench ----

interface PgbenchResult {
  mode: string;
  tps: number;
  latencyAvg: number;
  p50: number;
  p99: number;
  failed: number;
  acquired: number;
  released: number;
}

const pgArgs = () => {
  const url = new URL(databaseUrl);
  return [
    '-h',
    url.hostname,
    '-p',
    url.port || '5432',
    '-U',
    decodeURIComponent(url.username || 'postgres'),
    CONFIG.database,
  ];
};

/**
 * PostgreSQL is shared (max_connections) with whatever else runs here, and the idle API pool holds
 * up to 20 connections until its 10 s idle timeout: wait, boundedly, until pgbench's fit.
 */
async function waitForConnections(needed: number): Promise<void> {
  const query = `SELECT current_setting('max_connections')::int - count(*)::int AS free FROM pg_stat_activity WHERE backend_type = 'client backend'`;
  let free = 0;
  for (let attempt = 0; attempt < 60; attempt++) {
    [{ free }] = await sql<{ free: number }>(adminUrl, query);
    if (free >= needed) return;
    await sleep(500);
  }
  throw new Error(`only ${free} of PostgreSQL's connections free after 30 s, pgbench needs ${needed}`);
}

async function runPgbench(
  api: Api,
  scriptFile: string,
  constants: Record<string, string>,
  clients: number,
  protocol: 'prepared' | 'extended',
): Promise<Measured<PgbenchResult>> {
  // The script tells available from leased by the version's parity (see pgbench-script.ts).
  const [broken] = await sql(
    databaseUrl,
    `SELECT count(*)::int AS n FROM nodes WHERE kind = 'file' AND (version % 2 = 1) <> (lease_state = 'available')`,
  );
  if (broken.n !== 0) throw new Error(`pgbench: ${broken.n} files break "odd version = available"`);
  await waitForConnections(clients + 2);
  const logDir = trackTempDir(mkdtempSync(join(tmpdir(), 'leasehold-bench-pgbench-')));
  const common = [
    '-n',
    '-M',
    protocol,
    '-c',
    String(clients),
    '-j',
    String(Math.min(2, clients)),
    '-f',
    scriptFile,
    '-D',
    'holding=0',
    '-D',
    'ready=0',
    ...Object.entries(constants).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
  ];
  const pgEnv = { ...env, PGPASSWORD: decodeURIComponent(new URL(databaseUrl).password || '') };
  if (CONFIG.warmupMs > 0) {
    await run('pgbench', [...common, '-T', String(Math.max(1, Math.round(CONFIG.warmupMs / 1000))), ...pgArgs()], {
      env: pgEnv,
    });
    await releasePgbenchLeases(api);
  }
  const [{ p: before }] = await sql(databaseUrl, `SELECT coalesce(max(position), 0)::text AS p FROM events`);
  const sampler = new CpuSampler(() => ({ ...postgresPids(CONFIG.database), pgbench: pidsByName('pgbench') }));
  sampler.start();
  const { stdout } = await run(
    'pgbench',
    [...common, '-T', String(CONFIG.durationMs / 1000), '-l', '--log-prefix', join(logDir, 'log'), ...pgArgs()],
    { env: pgEnv },
  );
  const cpu = sampler.stop();
  const [counts] = await sql(
    databaseUrl,
    `SELECT count(*) FILTER (WHERE type = 'LeaseAcquired')::int AS acquired, count(*) FILTER (WHERE type = 'LeaseReleased')::int AS released
     FROM events WHERE position > $1`,
    [before],
  );
  await releasePgbenchLeases(api);
  // Per-transaction log lines: client_id transaction_no time_us script_no epoch epoch_us.
  const latencies: number[] = [];
  for (const file of readdirSync(logDir)) {
    for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      const fields = line.split(' ');
      if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
    }
  }
  const number = (pattern: RegExp) => Number(stdout.match(pattern)?.[1] ?? NaN);
  const summary = summarize(latencies);
  return {
    result: {
      mode: protocol,
      tps: number(/tps = ([\d.]+) \(without initial connection time\)/),
      latencyAvg: number(/latency average = ([\d.]+) ms/),
      p50: summary.p50,
      p99: summary.p99,
      failed: number(/number of failed transactions: (\d+)/) || 0,
      acquired: counts.acquired,
      released: counts.released,
    },
    cpu,
  };
}

// ---- baseline (b): etcd ----

interface Etcd {
  url: string;
  pid: number;
  version: string;
  stop(): Promise<void>;
}

function which(command: string): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${command}`])
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** Debian's etcd-server, installed on first use when apt is there; otherwise the reason it is unavailable. */
async function ensureEtcd(): Promise<string | { unavailable: string }> {
  const found = which('etcd');
  if (found) return found;
  if (!which('apt-get')) return { unavailable: 'etcd is not installed and apt-get is not available' };
  if (process.getuid?.() !== 0)
    return { unavailable: 'etcd is not installed; run `apt-get install -y etcd-server` as root' };
  say(
    "etcd is not installed: installing Debian's etcd-server with apt-get (apt-get update && apt-get install -y etcd-server)",
  );
  try {
    await run('apt-get', ['update'], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
    await run('apt-get', ['install', '-y', 'etcd-server'], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (error) {
    return { unavailable: `installing etcd-server failed: ${(error as Error).message.split('\n')[0]}` };
  }
  return which('etcd') ?? { unavailable: 'etcd-server installed but no etcd binary on PATH' };
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.setTimeout(1000, () => req.destroy(new Error('timeout')));
  });
}

async function startEtcd(binary: string): Promise<Etcd> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  // Same disk as PostgreSQL's data (not tmpfs here), and etcd's default fsync on commit: same durability.
  const dataDir = trackTempDir(mkdtempSync(join(tmpdir(), 'leasehold-bench-etcd-')));
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = start(binary, [
    '--name',
    'bench',
    '--data-dir',
    join(dataDir, 'data'),
    '--listen-client-urls',
    clientUrl,
    '--advertise-client-urls',
    clientUrl,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--initial-cluster',
    `bench=${peerUrl}`,
    '--initial-cluster-state',
    'new',
    '--logger',
    'zap',
    '--log-level',
    'warn',
  ]);
  const log: string[] = [];
  child.stdout?.on('data', (d) => log.push(d.toString()));
  child.stderr?.on('data', (d) => log.push(d.toString()));
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`etcd exited (${child.exitCode}):\n${log.join('').slice(-2000)}`);
    try {
      if (JSON.parse(await httpGet(`${clientUrl}/health`)).health === 'true') {
        const version = JSON.parse(await httpGet(`${clientUrl}/version`)).etcdserver as string;
        return { url: clientUrl, pid: child.pid!, version, stop: () => stop(child) };
      }
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`etcd did not become healthy:\n${log.join('').slice(-2000)}`);
}

// ---- PostgreSQL's cleanup horizon ----

interface HorizonHolder {
  ageS: number;
  database: string;
  state: string;
}

/**
 * The oldest open transaction or snapshot on the whole cluster. While one is open, PostgreSQL
 * cannot prune row versions created after it began, in any database: every lease op rewrites its
 * file's nodes row, so the hot rows grow long version chains that each lookup walks. A run with
 * such a holder measures a bloated table (Leasehold and pgbench alike).
 */
async function oldestTransaction(): Promise<HorizonHolder | undefined> {
  const [row] = await sql<{ age: number; datname: string; state: string }>(
    adminUrl,
    `SELECT extract(epoch FROM now() - xact_start)::int AS age, coalesce(datname, backend_type) AS datname, state
     FROM pg_stat_activity
     WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)
     ORDER BY xact_start LIMIT 1`,
  );
  return row ? { ageS: row.age, database: row.datname, state: row.state } : undefined;
}

// ---- statements per operation, from PostgreSQL's own counters ----

interface RoundTrips {
  label: string;
  ops: number;
  statements: number;
  perOp: number;
}

/** Each autocommit statement is one transaction; stopping the API makes its backends flush their counters. */
async function countRoundTrips(mode: 'distinct' | 'hot', clients: number): Promise<RoundTrips> {
  const counter = `SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = $1`;
  const [before] = await sql(adminUrl, counter, [CONFIG.database]);
  const api = await startApi();
  let result: LoadResult;
  try {
    const spec: LoadSpec = {
      target: 'leasehold',
      url: api.url.toString(),
      clients,
      files: filesFor(clients, mode),
      warmupMs: 0,
      durationMs: 3000,
      account: ACCOUNT,
      keyBase64: ACCOUNT_KEY,
      share: SHARE,
    };
    result = (await runLoadProcess(spec, () => ({}), false)).result;
  } finally {
    await api.stop();
  }
  await sleep(500);
  const [after] = await sql(adminUrl, counter, [CONFIG.database]);
  const statements = Number(after.n) - Number(before.n);
  return {
    label: `${mode}, ${clients} client${clients > 1 ? 's' : ''}`,
    ops: result.ops,
    statements,
    perOp: statements / result.ops,
  };
}

// ---- heartbeat: many live 15 s leases, each renewed every 5 s ----

const HEARTBEAT_PREFIX = 'hb-';

async function createHeartbeatShares(api: Api, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: CONFIG.heartbeatConnections }, async (_, worker) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = worker; i < count; i += CONFIG.heartbeatConnections) {
          const res = await azureRequest(
            api.url,
            agent,
            signer,
            'PUT',
            `/${ACCOUNT}/${HEARTBEAT_PREFIX}${i}`,
            { restype: 'share' },
            {},
          );
          if (res.status !== 201)
            throw new Error(`Create Share ${HEARTBEAT_PREFIX}${i}: ${res.status} ${res.errorCode}`);
        }
      } finally {
        agent.destroy();
      }
    }),
  );
}

interface Heartbeat {
  leases: number;
  leasehold: Measured<HeartbeatResult>;
  /** The API's peak RSS over the Leasehold run. */
  apiPeakRssMiB?: number;
  etcd?: Measured<HeartbeatResult>;
  /** The same renewals through the Lease Share handler behind bare node:http. */
  bare?: Measured<HeartbeatResult>;
}

async function runHeartbeatProcess(
  spec: HeartbeatSpec,
  groups: () => Record<string, number[]>,
): Promise<Measured<HeartbeatResult>> {
  const child = start(process.execPath, [join(__dirname, 'heartbeat.js'), JSON.stringify(spec)], { cwd: ROOT });
  const sampler = new CpuSampler(() => ({ ...groups(), load: child.pid ? [child.pid] : [] }));
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  sampler.start();
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  const cpu = sampler.stop();
  if (code !== 0) throw new Error(`heartbeat process failed (${code}): ${stderr}`);
  return { result: JSON.parse(stdout) as HeartbeatResult, cpu };
}

/**
 * Leasehold's lost leases are the lapses its log recorded during the run (a renewal that found its
 * lease expired records ShareLeaseExpired first); leases from an earlier run that lapsed in between
 * expired before this run began and are not counted.
 */
async function heartbeatLeasehold(
  server: { url: string; pid: number },
  leases: number,
): Promise<Measured<HeartbeatResult>> {
  const [{ p: before, t: since }] = await sql(
    databaseUrl,
    `SELECT coalesce(max(position), 0)::text AS p, clock_timestamp() AS t FROM events`,
  );
  const measured = await runHeartbeatProcess(
    {
      target: 'leasehold',
      url: server.url,
      leases,
      connections: CONFIG.heartbeatConnections,
      durationMs: CONFIG.heartbeatMs,
      account: ACCOUNT,
      keyBase64: ACCOUNT_KEY,
      sharePrefix: HEARTBEAT_PREFIX,
    },
    () => ({ api: [server.pid], ...postgresPids(CONFIG.database) }),
  );
  const [{ lost }] = await sql(
    databaseUrl,
    `SELECT count(*)::int AS lost FROM events WHERE position > $1 AND type = 'ShareLeaseExpired' AND (data->>'expiredAt')::timestamptz > $2`,
    [before, since],
  );
  return { ...measured, result: { ...measured.result, lost } };
}

// ---- report ----

interface Scenario {
  clients: number;
  mode: 'distinct' | 'hot';
  leasehold: Measured<LoadResult>;
  /** The API's peak RSS over the Leasehold run (warm-up and window). */
  apiPeakRssMiB?: number;
  pgbench?: Measured<PgbenchResult>;
  pgbenchExtended?: Measured<PgbenchResult>;
  etcd?: Measured<LoadResult>;
  /** The same load on the Lease File handler behind bare node:http. */
  bare?: Measured<LoadResult>;
}

// Empty summaries arrive as null (NaN does not survive JSON).
const f0 = (n: number | null | undefined) =>
  n == null || Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en-US');
const f2 = (n: number | null | undefined) => (n == null || Number.isNaN(n) ? '–' : n.toFixed(2));
const ratio = (a: number, b: number | undefined) => (b === undefined || !b ? '–' : `${(a / b).toFixed(2)}×`);
const scenarioName = (s: Scenario) =>
  `${s.clients} client${s.clients > 1 ? 's' : ''}, ${s.mode === 'hot' ? 'one hot file' : 'distinct files'}`;
const cores = (cpu: Record<string, number>, group: string) => (cpu[group] === undefined ? '–' : cpu[group].toFixed(2));
/** Milliseconds of a process group's CPU per op: the window's cores over its ops per second. */
const perOp = (cpu: Record<string, number>, group: string, perSecond: number) =>
  cpu[group] === undefined || !perSecond ? undefined : (cpu[group] * 1000) / perSecond;
const BARE = 'handler on bare node:http';

/** The systems the load processes drove in a scenario or a heartbeat, by their names in the report: those that ran. */
function systemsOf<M>(run: { leasehold?: M; etcd?: M; bare?: M }): Array<[string, M]> {
  const all: Array<[string, M | undefined]> = [
    ['Leasehold', run.leasehold],
    ['etcd', run.etcd],
    [BARE, run.bare],
  ];
  return all.filter((entry): entry is [string, M] => entry[1] !== undefined);
}

/** `name: count; …`, or 0 when there are none. */
const tally = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ') || '0';

function report(
  scenarios: Scenario[],
  heartbeats: Heartbeat[],
  roundTrips: RoundTrips[],
  notes: string[],
  machine: string,
): string {
  const lines: string[] = [];
  lines.push(`# Lease benchmark, ${new Date().toISOString()}`, '', machine, '');
  lines.push(
    `Each scenario: ${CONFIG.warmupMs / 1000} s warm-up, then ${CONFIG.durationMs / 1000} s measured. An op is one lease operation (an acquire attempt or a release; one HTTP request, one pgbench transaction, one etcd txn). Latencies in ms per op.`,
    '',
  );
  lines.push(
    '| scenario | Leasehold ops/s | p50 | p99 | pgbench tps | p50 (avg) | p99 | etcd ops/s | p50 | p99 | Leasehold/pgbench | Leasehold/etcd | pgbench -M extended tps |',
  );
  lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const s of scenarios) {
    const l = s.leasehold.result;
    const p = s.pgbench?.result;
    const e = s.etcd?.result;
    lines.push(
      `| ${scenarioName(s)} | ${f0(l.opsPerSec)} | ${f2(l.latency.p50)} | ${f2(l.latency.p99)} | ${f0(p?.tps)} | ${f2(p?.p50)} (${f2(p?.latencyAvg)}) | ${f2(p?.p99)} | ${f0(e?.opsPerSec)} | ${f2(e?.latency.p50)} | ${f2(e?.latency.p99)} | ${ratio(l.opsPerSec, p?.tps)} | ${ratio(l.opsPerSec, e?.opsPerSec)} | ${f0(s.pgbenchExtended?.result.tps)} |`,
    );
  }
  lines.push('', '## Outcomes per scenario (measured window)', '');
  lines.push(
    '| scenario | system | ops/s | cycles/s | acquired (201) | refused (409) | released (200) | other | p50 acquire / refused / release (ms) |',
  );
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|---|');
  for (const s of scenarios) {
    for (const [name, m] of systemsOf(s)) {
      const r = m.result;
      const other = tally(r.unexpected);
      lines.push(
        `| ${scenarioName(s)} | ${name} | ${f0(r.opsPerSec)} | ${f0(r.cyclesPerSec)} | ${r.acquired} | ${r.refused} | ${r.released} | ${other} | ${f2(r.acquireLatency.p50)} / ${f2(r.refusedLatency.p50)} / ${f2(r.releaseLatency.p50)} |`,
      );
    }
    for (const m of [s.pgbench, s.pgbenchExtended]) {
      if (!m) continue;
      const r = m.result;
      // Every transaction is an acquire attempt or a release; acquires and releases are counted from the events appended.
      const attempts = Math.max(0, Math.round((r.tps * CONFIG.durationMs) / 1000) - r.released);
      lines.push(
        `| ${scenarioName(s)} | pgbench -M ${r.mode} | ${f0(r.tps)} | ${f0(attempts / (CONFIG.durationMs / 1000))} | ${r.acquired} | ~${Math.max(0, attempts - r.acquired)} | ${r.released} | failed: ${r.failed} | – |`,
      );
    }
  }
  lines.push('', '## CPU during the measured window (cores; the machine has ' + cpus().length + ')', '');
  lines.push(
    `Columns: the API process; PostgreSQL backends connected to ${CONFIG.database}; the rest of PostgreSQL (WAL writer, checkpointer, other databases' backends: other work on this machine shows here); the load process or pgbench; etcd; all of the machine.`,
    '',
  );
  lines.push(
    '| scenario | system | API | postgres, bench DB | postgres, rest | load / pgbench | etcd | whole machine |',
  );
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|');
  for (const s of scenarios) {
    const l = s.leasehold.cpu;
    lines.push(
      `| ${scenarioName(s)} | Leasehold | ${cores(l, 'api')} | ${cores(l, 'postgres')} | ${cores(l, 'postgresRest')} | ${cores(l, 'load')} | – | ${cores(l, 'machine')} |`,
    );
    for (const m of [s.pgbench, s.pgbenchExtended]) {
      if (m)
        lines.push(
          `| ${scenarioName(s)} | pgbench -M ${m.result.mode} | – | ${cores(m.cpu, 'postgres')} | ${cores(m.cpu, 'postgresRest')} | ${cores(m.cpu, 'pgbench')} | – | ${cores(m.cpu, 'machine')} |`,
        );
    }
    if (s.etcd)
      lines.push(
        `| ${scenarioName(s)} | etcd | – | ${cores(s.etcd.cpu, 'postgres')} | ${cores(s.etcd.cpu, 'postgresRest')} | ${cores(s.etcd.cpu, 'load')} | ${cores(s.etcd.cpu, 'etcd')} | ${cores(s.etcd.cpu, 'machine')} |`,
      );
    if (s.bare)
      lines.push(
        `| ${scenarioName(s)} | ${BARE} (in "API") | ${cores(s.bare.cpu, 'api')} | ${cores(s.bare.cpu, 'postgres')} | ${cores(s.bare.cpu, 'postgresRest')} | ${cores(s.bare.cpu, 'load')} | – | ${cores(s.bare.cpu, 'machine')} |`,
      );
  }
  const bares = scenarios.filter((s) => s.bare);
  if (bares.length) {
    lines.push(
      '',
      "## The wire layer's share: the same load on the Lease File handler behind bare node:http",
      '',
      "bench/lease/bare-server.ts runs the service's own Lease File handler (decider, cache, repositories, the same statement) behind `node:http`, without Fastify, Nest's request pipeline, Shared Key verification, the access log, metrics, the rate limit or XML. CPU per op is the process's cores in the window over its ops/s (all its threads). The API's CPU per op minus the bare server's is what the wire layer costs per op.",
      '',
      '| scenario | Leasehold ops/s | p50 | p99 | API CPU ms/op | bare ops/s | p50 | p99 | bare CPU ms/op | wire layer ms/op |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const s of bares) {
      const l = s.leasehold.result;
      const b = s.bare!.result;
      const api = perOp(s.leasehold.cpu, 'api', l.opsPerSec);
      const bare = perOp(s.bare!.cpu, 'api', b.opsPerSec);
      lines.push(
        `| ${scenarioName(s)} | ${f0(l.opsPerSec)} | ${f2(l.latency.p50)} | ${f2(l.latency.p99)} | ${f2(api)} | ${f0(b.opsPerSec)} | ${f2(b.latency.p50)} | ${f2(b.latency.p99)} | ${f2(bare)} | ${api === undefined || bare === undefined ? '–' : f2(api - bare)} |`,
      );
    }
  }
  for (const s of scenarios) {
    for (const [name, m] of systemsOf(s)) {
      const other = Object.values(m.result.unexpected).reduce((a, b) => a + b, 0);
      if (other > 0) {
        notes.push(
          `${scenarioName(s)}, ${name}: ${other} unexpected outcomes (see "other"); a 503 ServerBusy is the service's per-tenant rate limit (RATE_LIMIT_PER_SECOND, passed through to the API) or contention.`,
        );
      }
    }
  }
  if (heartbeats.length) {
    lines.push(
      '',
      `## Heartbeat: live 15 s leases, each renewed every 5 s (${CONFIG.heartbeatMs / 1000} s, ${CONFIG.heartbeatConnections} keep-alive connections)`,
      '',
    );
    lines.push(
      'Leasehold: one share lease per share, `x-ms-lease-action: renew` over keep-alive HTTP/1.1 connections. etcd: one lease per id, LeaseKeepAlive on as many bidirectional gRPC streams. Renewals are spread evenly over each 5 s period. **Lost**: a renewal that found its lease expired (Leasehold: the lapses its log recorded; etcd: keep-alive answers with TTL 0). Max lag: how late the latest renewal left (the load process keeping up).',
      '',
    );
    lines.push(
      '| leases | system | renewals/s | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | lost | failed | max lag (ms) | CPU: API / postgres (bench DB) / etcd / load |',
    );
    lines.push('|--:|---|--:|--:|--:|--:|--:|--:|---|--:|---|');
    for (const h of heartbeats) {
      for (const [name, m] of systemsOf(h)) {
        const r = m.result;
        const failed = tally(r.failed);
        lines.push(
          `| ${f0(h.leases)} | ${name} | ${f0(r.renewalsPerSec)} | ${f2(r.latency.p50)} | ${f2(r.latency.p99)} | ${f2(r.latency.p999)} | ${f2(r.latency.max)} | ${r.lost ?? '–'} | ${failed} | ${f0(r.maxLagMs)} | ${cores(m.cpu, 'api')} / ${cores(m.cpu, 'postgres')} / ${cores(m.cpu, 'etcd')} / ${cores(m.cpu, 'load')} |`,
        );
      }
    }
  }
  if (roundTrips.length) {
    lines.push(
      '',
      '## PostgreSQL statements per Leasehold op (pg_stat_database transactions / ops, separate 3 s runs)',
      '',
    );
    lines.push('| run | ops | statements | per op |', '|---|--:|--:|--:|');
    for (const r of roundTrips) lines.push(`| ${r.label} | ${r.ops} | ${r.statements} | ${r.perOp.toFixed(3)} |`);
  }
  if (notes.length) lines.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  const tops = scenarios.filter((s) => s.leasehold.top);
  if (tops.length) {
    lines.push('', '## `top -b` halfway through the Leasehold runs', '');
    for (const s of tops) lines.push(`### ${scenarioName(s)}`, '', '```', s.leasehold.top!, '```', '');
  }
  return lines.join('\n') + '\n';
}

function describeMachine(etcdVersion: string | undefined, loadAtStart: number[]): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  const pg = (() => {
    try {
      return execFileSync('pgbench', ['--version']).toString().trim();
    } catch {
      return 'pgbench not found';
    }
  })();
  return [
    serviceCode(ROOT),
    `Machine: ${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${pg}${etcdVersion ? `, etcd ${etcdVersion}` : ''}.`,
    `Load average (1, 5, 15 min) before the run: ${loadAtStart.map((l) => l.toFixed(2)).join(', ')}; after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}.`,
    'A shared, noisy machine: the load generator, the API, PostgreSQL and etcd all compete for the same cores, and other work may run at the same time. Compare numbers within one run, not across runs.',
  ].join(' ');
}

// ---- main ----

async function main(): Promise<void> {
  const notes: string[] = [];
  const loadAtStart = loadavg();
  const maxClients = Math.max(...CONFIG.clients);
  say(`fresh database ${CONFIG.database}, migrations and the development account`);
  await freshDatabase();
  const [settings] = await sql(
    databaseUrl,
    `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, current_setting('max_connections') AS mc`,
  );
  notes.push(
    `PostgreSQL fsync=${settings.fsync}, synchronous_commit=${settings.sc}; etcd runs with its default fsync of every commit, its data directory on the same disk.`,
  );
  if (CONFIG.pgbench && maxClients + 25 > Number(settings.mc)) {
    notes.push(`max_connections=${settings.mc} is tight for pgbench -c ${maxClients} next to the API's pool.`);
  }

  const api = await startApi();
  say(`API (pid ${api.pid}) on ${api.url.origin}; creating share '${SHARE}' and files 0..${maxClients}`);
  await createFiles(api, maxClients);

  let statements: Awaited<ReturnType<typeof captureLeaseStatements>> | undefined;
  const scripts: Record<string, string> = {};
  if (CONFIG.pgbench) {
    if (!which('pgbench')) {
      notes.push('pgbench: not installed, baseline (a) unavailable.');
    } else {
      statements = await captureLeaseStatements(SHARE);
      const dir = trackTempDir(mkdtempSync(join(tmpdir(), 'leasehold-bench-scripts-')));
      for (const mode of CONFIG.modes) {
        scripts[mode] = join(dir, `lease-${mode}.sql`);
        writeFileSync(scripts[mode], pgbenchScript(statements, mode === 'hot' ? HOT_FILE : undefined));
      }
    }
  }

  let etcd: Etcd | undefined;
  if (CONFIG.etcd) {
    const binary = await ensureEtcd();
    if (typeof binary === 'string') {
      try {
        etcd = await startEtcd(binary);
        say(`etcd ${etcd.version} (pid ${etcd.pid}) on ${etcd.url}`);
      } catch (error) {
        notes.push(`etcd baseline unavailable: ${(error as Error).message.split('\n')[0]}`);
        say(notes[notes.length - 1]);
      }
    } else {
      notes.push(`etcd baseline unavailable: ${binary.unavailable}.`);
      say(notes[notes.length - 1]);
    }
  }

  let bare: Awaited<ReturnType<typeof startBare>> | undefined;
  if (CONFIG.bare) {
    try {
      bare = await startBare();
      say(`${BARE} (pid ${bare.pid}) on ${bare.url}`);
    } catch (error) {
      notes.push(`${BARE}: unavailable: ${(error as Error).message.split('\n')[0]}`);
      say(notes[notes.length - 1]);
    }
  }

  const scenarios: Scenario[] = [];
  let horizon: HorizonHolder | undefined;
  const watchHorizon = async () => {
    const oldest = await oldestTransaction();
    if (oldest && (!horizon || oldest.ageS > horizon.ageS)) horizon = oldest;
  };
  for (const clients of CONFIG.clients) {
    for (const mode of CONFIG.modes) {
      await watchHorizon();
      const files = filesFor(clients, mode);
      const name = `${clients} client(s), ${mode}`;
      say(`${name}: Leasehold`);
      // The same signed requests for the API and for baseline (c).
      const leaseLoad = (url: string): LoadSpec => ({
        target: 'leasehold',
        url,
        clients,
        files,
        warmupMs: CONFIG.warmupMs,
        durationMs: CONFIG.durationMs,
        account: ACCOUNT,
        keyBase64: ACCOUNT_KEY,
        share: SHARE,
      });
      const apiPeak = peakRssWindow(api.pid);
      const leasehold = await runLoadProcess(
        leaseLoad(api.url.toString()),
        () => ({ api: [api.pid], ...postgresPids(CONFIG.database) }),
        true,
      ).catch((error) => {
        throw new Error(api.death() ?? (error as Error).message);
      });
      const scenario: Scenario = { clients, mode, leasehold, apiPeakRssMiB: apiPeak() };
      say(
        `  ${f0(leasehold.result.opsPerSec)} ops/s, p50 ${f2(leasehold.result.latency.p50)} ms, p99 ${f2(leasehold.result.latency.p99)} ms`,
      );
      // A baseline that fails is reported as such; the Leasehold numbers still stand.
      const baseline = async <T>(label: string, work: () => Promise<T>): Promise<T | undefined> => {
        say(`${name}: ${label}`);
        try {
          return await work();
        } catch (error) {
          notes.push(
            `${name}, ${label}: failed, not reported: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`,
          );
          say(notes[notes.length - 1]);
          return undefined;
        }
      };
      if (statements) {
        scenario.pgbench = await baseline('pgbench -M prepared', () =>
          runPgbench(api, scripts[mode], statements.constants, clients, 'prepared'),
        );
        if (scenario.pgbench)
          say(
            `  ${f0(scenario.pgbench.result.tps)} tps, p50 ${f2(scenario.pgbench.result.p50)} ms, p99 ${f2(scenario.pgbench.result.p99)} ms`,
          );
        if (CONFIG.pgbenchExtended) {
          scenario.pgbenchExtended = await baseline('pgbench -M extended', () =>
            runPgbench(api, scripts[mode], statements.constants, clients, 'extended'),
          );
          if (scenario.pgbenchExtended) say(`  ${f0(scenario.pgbenchExtended.result.tps)} tps`);
        }
      }
      if (etcd) {
        const current = etcd;
        scenario.etcd = await baseline('etcd', () =>
          runLoadProcess(
            {
              target: 'etcd',
              url: current.url,
              clients,
              files,
              warmupMs: CONFIG.warmupMs,
              durationMs: CONFIG.durationMs,
              etcdPrefix: `/leasehold-bench/${clients}-${mode}/`,
            },
            () => ({ etcd: [current.pid], ...postgresPids(CONFIG.database) }),
            false,
          ),
        );
        if (scenario.etcd)
          say(
            `  ${f0(scenario.etcd.result.opsPerSec)} ops/s, p50 ${f2(scenario.etcd.result.latency.p50)} ms, p99 ${f2(scenario.etcd.result.latency.p99)} ms`,
          );
      }
      if (bare) {
        const current = bare;
        scenario.bare = await baseline(BARE, () =>
          runLoadProcess(
            leaseLoad(current.url),
            () => ({ api: [current.pid], ...postgresPids(CONFIG.database) }),
            false,
          ),
        );
        if (scenario.bare)
          say(
            `  ${f0(scenario.bare.result.opsPerSec)} ops/s, p50 ${f2(scenario.bare.result.latency.p50)} ms, p99 ${f2(scenario.bare.result.latency.p99)} ms`,
          );
      }
      scenarios.push(scenario);
    }
  }
  const heartbeats: Heartbeat[] = [];
  if (CONFIG.heartbeatLeases.length) {
    const most = Math.max(...CONFIG.heartbeatLeases);
    say(`heartbeat: creating shares ${HEARTBEAT_PREFIX}0..${most - 1}`);
    await createHeartbeatShares(api, most);
    for (const leases of CONFIG.heartbeatLeases) {
      say(`heartbeat, ${leases} leases: Leasehold`);
      const apiPeak = peakRssWindow(api.pid);
      const leasehold = await heartbeatLeasehold({ url: api.url.toString(), pid: api.pid }, leases).catch((error) => {
        throw new Error(api.death() ?? (error as Error).message);
      });
      say(
        `  ${f0(leasehold.result.renewalsPerSec)} renewals/s, p50 ${f2(leasehold.result.latency.p50)} ms, p99 ${f2(leasehold.result.latency.p99)} ms, lost ${leasehold.result.lost}`,
      );
      const heartbeat: Heartbeat = { leases, leasehold, apiPeakRssMiB: apiPeak() };
      if (etcd) {
        const current = etcd;
        say(`heartbeat, ${leases} leases: etcd`);
        try {
          heartbeat.etcd = await runHeartbeatProcess(
            {
              target: 'etcd',
              url: current.url,
              leases,
              connections: CONFIG.heartbeatConnections,
              durationMs: CONFIG.heartbeatMs,
            },
            () => ({ etcd: [current.pid], ...postgresPids(CONFIG.database) }),
          );
          say(
            `  ${f0(heartbeat.etcd.result.renewalsPerSec)} renewals/s, p50 ${f2(heartbeat.etcd.result.latency.p50)} ms, p99 ${f2(heartbeat.etcd.result.latency.p99)} ms, lost ${heartbeat.etcd.result.lost}`,
          );
        } catch (error) {
          notes.push(
            `heartbeat, ${leases} leases, etcd: failed, not reported: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`,
          );
        }
      }
      if (bare) {
        say(`heartbeat, ${leases} leases: ${BARE}`);
        try {
          heartbeat.bare = await heartbeatLeasehold(bare, leases);
          say(
            `  ${f0(heartbeat.bare.result.renewalsPerSec)} renewals/s, p50 ${f2(heartbeat.bare.result.latency.p50)} ms, p99 ${f2(heartbeat.bare.result.latency.p99)} ms, lost ${heartbeat.bare.result.lost}`,
          );
        } catch (error) {
          notes.push(
            `heartbeat, ${leases} leases, ${BARE}: failed, not reported: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`,
          );
        }
      }
      heartbeats.push(heartbeat);
    }
  }
  if (bare) await bare.stop();
  if (etcd) await etcd.stop();
  await watchHorizon();
  const [bloat] = await sql(
    databaseUrl,
    `SELECT n_live_tup::int AS live, n_dead_tup::int AS dead, pg_size_pretty(pg_relation_size('nodes')) AS size FROM pg_stat_user_tables WHERE relname = 'nodes'`,
  );
  const bloatText = `nodes table at the end: ${bloat.live} live and ${bloat.dead} dead row versions, ${bloat.size}`;
  if (horizon && horizon.ageS >= 10) {
    notes.push(
      `A transaction ${horizon.ageS} s old (database ${horizon.database}, ${horizon.state}) was open on this PostgreSQL cluster during the run: nothing newer could be pruned, so the hot nodes rows grew long version chains that every lookup walks (${bloatText}). Both Leasehold and pgbench are slowed by it; run again when \`SELECT now() - xact_start FROM pg_stat_activity\` shows no old transactions.`,
    );
  } else {
    notes.push(`No transaction older than 10 s was seen on the cluster during the run; ${bloatText}.`);
  }

  await api.stop(); // also flushes its backends' statistics, which the round-trip count reads
  const roundTrips: RoundTrips[] = [];
  if (CONFIG.roundTrips) {
    say('statements per op (PostgreSQL counters)');
    roundTrips.push(await countRoundTrips('distinct', 1));
    if (maxClients > 1) roundTrips.push(await countRoundTrips('distinct', maxClients));
    roundTrips.push(await countRoundTrips('hot', maxClients));
  }

  if (statements) {
    notes.push(
      `pgbench runs the statements captured from the service's code (bench/lease/pgbench-script.ts), changed only where pgbench cannot build a value per transaction: ${statements.substitutions.join('; ')}.`,
    );
  }
  const markdown = report(scenarios, heartbeats, roundTrips, notes, describeMachine(etcd?.version, loadAtStart));
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `lease-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
  writeFileSync(file, markdown);
  process.stdout.write(`\n${markdown}\nbench: written to ${file}\n`);
  emitRows(scenarios, heartbeats);
}

/** Baseline (c) as a summary baseline, its CPU per op in its name (the summary has no column for a baseline's). */
const bareFigure = (m: Measured<{ latency: LatencySummary }>, perSecond: number) => ({
  name: `${BARE} (${f2(perOp(m.cpu, 'api', perSecond))} ms CPU/op)`,
  throughput: perSecond,
  p50Ms: m.result.latency.p50,
  p99Ms: m.result.latency.p99,
});

/** The summary rows of `npm run bench`: CPU per op is the window's cores over its ops per second. */
function emitRows(scenarios: Scenario[], heartbeats: Heartbeat[]): void {
  for (const s of scenarios) {
    const l = s.leasehold;
    const unexpected = Object.entries(l.result.unexpected).map(([k, v]) => `${k}: ${v}`);
    emitRow({
      bench: 'lease',
      scenario: `acquire+release, ${scenarioName(s)}`,
      throughput: l.result.opsPerSec,
      unit: 'ops/s',
      p50Ms: l.result.latency.p50,
      p99Ms: l.result.latency.p99,
      baselines: [
        ...[s.pgbench, s.pgbenchExtended]
          .filter((m) => m !== undefined)
          .map(({ result: p }) => ({ name: `pgbench -M ${p.mode}`, throughput: p.tps, p50Ms: p.p50, p99Ms: p.p99 })),
        ...(s.etcd
          ? [
              {
                name: 'etcd',
                throughput: s.etcd.result.opsPerSec,
                p50Ms: s.etcd.result.latency.p50,
                p99Ms: s.etcd.result.latency.p99,
              },
            ]
          : []),
        ...(s.bare ? [bareFigure(s.bare, s.bare.result.opsPerSec)] : []),
      ],
      cpuMsPerOp: perOp(l.cpu, 'api', l.result.opsPerSec),
      cpuProcess: 'API',
      dbCpuMsPerOp: perOp(l.cpu, 'postgres', l.result.opsPerSec),
      peakRssMiB: s.apiPeakRssMiB,
      notes: unexpected.length ? `other outcomes: ${unexpected.join(', ')}` : undefined,
    });
  }
  for (const h of heartbeats) {
    const l = h.leasehold;
    const failed = Object.entries(l.result.failed).map(([k, v]) => `${k}: ${v}`);
    emitRow({
      bench: 'lease',
      scenario: `heartbeat, ${f0(h.leases)} leases renewed every 5 s`,
      throughput: l.result.renewalsPerSec,
      unit: 'renewals/s',
      p50Ms: l.result.latency.p50,
      p99Ms: l.result.latency.p99,
      baselines: [
        ...(h.etcd
          ? [
              {
                name: 'etcd',
                throughput: h.etcd.result.renewalsPerSec,
                p50Ms: h.etcd.result.latency.p50,
                p99Ms: h.etcd.result.latency.p99,
              },
            ]
          : []),
        ...(h.bare ? [bareFigure(h.bare, h.bare.result.renewalsPerSec)] : []),
      ],
      cpuMsPerOp: perOp(l.cpu, 'api', l.result.renewalsPerSec),
      cpuProcess: 'API',
      dbCpuMsPerOp: perOp(l.cpu, 'postgres', l.result.renewalsPerSec),
      peakRssMiB: h.apiPeakRssMiB,
      notes: [
        `lost ${l.result.lost ?? '–'}`,
        ...(h.etcd ? [`etcd lost ${h.etcd.result.lost ?? '–'}`] : []),
        ...(h.bare ? [`${BARE} lost ${h.bare.result.lost ?? '–'}`] : []),
        ...failed,
      ].join(', '),
    });
  }
}

let stopping = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping the API, etcd and load processes`);
  void stopAll().finally(() => process.exit(130));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
process.on('exit', killAllNow);

if (!existsSync(join(DIST, 'apps/api/src/main.js'))) {
  say('dist/ is missing: run `npm run build` (npm run bench:lease does)');
  process.exit(1);
}
main()
  .then(() => stopAll())
  .then(() => process.exit(0))
  .catch(async (error) => {
    if (stopping) return; // interrupted: the signal handler cleans up and exits
    process.stderr.write(`bench: failed: ${(error as Error)?.stack ?? error}\n`);
    await stopAll();
    process.exit(1);
  });
