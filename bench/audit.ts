import {
  API_NODE_ARGS,
  BENCH_SERVICE_ENV,
  children,
  DIST,
  emitRow,
  envInteger,
  peakRssMiB,
  peakRssWindow,
  ROOT,
  runToEnd,
  sql,
  startReady,
  stop,
  withPath,
} from './common';
import { Logger } from '@nestjs/common';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '@leasehold/accounts';
import {
  AsyncProjector,
  AuditRepository,
  auditProjection,
  BATCH_BYTES,
  BATCH_EVENTS,
  LeaseHistoryHandler,
  LeaseHistoryQuery,
} from '@leasehold/audit';
import { createDataSource, EventStore } from '@leasehold/event-store';
import { pathKey, SYSTEM_CALLER } from '@leasehold/domain';
import { ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import type { LoadSpec, Scenario, ScenarioResult, Target } from './audit-load';
import { seedAuditEvents, SeedResult, validateSeed } from './audit-seed';

/**
 * `npm run bench:audit`: a log of 5,000,000 events over many tenants and paths, seeded with SQL;
 * then, in one run, the rebuild rate of all projections (`projections:rebuild`) beside the rate at
 * which a plain SELECT streams the same events, the audit projector's catch-up rate, and the
 * latency of a one-file lease history and of a directory-prefix query over HTTP (and the same
 * statements straight through pg). Loopback only. See bench/README.md.
 */

const env = process.env;
const CONFIG = {
  events: envInteger('BENCH_AUDIT_EVENTS', 5_000_000, 50_000, 100_000_000),
  tenants: envInteger('BENCH_AUDIT_TENANTS', 50, 1, 99),
  shares: envInteger('BENCH_AUDIT_SHARES', 2, 1, 20),
  requests: envInteger('BENCH_AUDIT_REQUESTS', 1000, 10, 1_000_000),
  // Both Node processes (the API and the load process, new for each row) run well below their
  // steady pace until V8 has compiled their hot paths: bench/README.md, audit, "Warm-up".
  warmup: envInteger('BENCH_AUDIT_WARMUP', 2000, 0, 100_000),
  concurrency: envInteger('BENCH_AUDIT_CONCURRENCY', 8, 2, 64),
  validate: envInteger('BENCH_AUDIT_VALIDATE', 500, 0, 100_000),
  rounds: envInteger('BENCH_AUDIT_ROUNDS', 2, 1, 10),
  pgUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432',
  database: env.BENCH_AUDIT_DB ?? 'leasehold_bench_audit',
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keepDatabase: env.BENCH_AUDIT_KEEP_DB === '1',
};
if (!/^[a-z_][a-z0-9_]*$/.test(CONFIG.database)) throw new Error('BENCH_AUDIT_DB: a plain lowercase identifier');
const ACCOUNT = DEVELOPMENT_ACCOUNT;
// The projector logs through Nest; its 'leading' line would only interleave with the progress line.
Logger.overrideLogger(['error', 'warn']);
const SEED = 0.42;
const BATCH_LABEL = `batches of up to ${BATCH_EVENTS} events and ${BATCH_BYTES / 2 ** 20} MiB`;

const databaseUrl = withPath(CONFIG.pgUrl, `/${CONFIG.database}`);
const adminUrl = withPath(CONFIG.pgUrl, '/postgres');

const lines: string[] = [];
/** 1-minute load average as each phase starts: how busy the shared machine was. */
const loads: Record<string, number> = {};
const say = (line: string) => process.stdout.write(`bench: ${line}\n`);
const report = (line = '') => {
  lines.push(line);
  process.stdout.write(`${line}\n`);
};
const n0 = (v: number) => Math.round(v).toLocaleString('en');
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mib = (bytes: number) => `${(bytes / 2 ** 20).toLocaleString('en', { maximumFractionDigits: 0 })} MiB`;

const serviceEnv = () => ({
  DATABASE_URL: databaseUrl,
  REDIS_URL: CONFIG.redisUrl,
  ...BENCH_SERVICE_ENV,
});

// ---- CPU: wall time on a shared 2-core machine moves with whatever else runs; CPU seconds per
// event (client process + PostgreSQL backends of the bench database) much less so ----

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function ticksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return undefined; // gone
  }
}

const BACKEND_TITLE = new RegExp(` ${CONFIG.database} (\\d|\\[local\\])`);
/** Backends connected to the bench database: their process title names it. */
function backendPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      // "postgres: 15/main: <user> <database> <host>(<port>) <state>": client backends only, not autovacuum.
      if (BACKEND_TITLE.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

interface Cpu {
  /** CPU seconds of the client: the runner itself or the child whose pid was given. */
  client: number;
  /** CPU seconds of the bench database's backends (parallel workers are not counted). */
  server: number;
  /** Peak RSS of the client over the window (VmHWM, sampled with the CPU), MiB. */
  peakRssMiB?: number;
}

/** Samples every 100 ms; a process first seen after the start counts in full (it was born inside the window). */
class CpuMeter {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private self = process.cpuUsage();
  private clientPid?: number;
  private clientFirst = 0;
  private clientLast = 0;
  private clientPeak?: number;
  private peak: () => number | undefined = () => undefined;

  start(): this {
    this.self = process.cpuUsage();
    this.peak = peakRssWindow(process.pid);
    for (const pid of backendPids()) this.first.set(pid, ticksOf(pid) ?? 0);
    this.timer = setInterval(() => this.sample(), 100);
    return this;
  }

  /** From now on the client is this child, not the runner. */
  client(pid: number): void {
    this.clientPid = pid;
    this.clientFirst = 0;
    this.clientLast = ticksOf(pid) ?? 0;
    // A child's VmHWM is its whole life's, which began inside the window; it is gone once the child exits.
    this.peak = () => this.clientPeak;
  }

  private sample(): void {
    for (const pid of backendPids()) {
      const ticks = ticksOf(pid);
      if (ticks === undefined) continue;
      if (!this.first.has(pid)) this.first.set(pid, 0);
      this.last.set(pid, ticks);
    }
    if (this.clientPid !== undefined) {
      this.clientLast = ticksOf(this.clientPid) ?? this.clientLast;
      this.clientPeak = Math.max(this.clientPeak ?? 0, peakRssMiB(this.clientPid) ?? 0) || undefined;
    }
  }

  stop(): Cpu {
    this.sample();
    clearInterval(this.timer);
    let server = 0;
    for (const [pid, ticks] of this.last) server += ticks - (this.first.get(pid) ?? 0);
    const self = process.cpuUsage(this.self);
    const client =
      this.clientPid === undefined ? (self.user + self.system) / 1e6 : (this.clientLast - this.clientFirst) / CLK_TCK;
    return { client, server: server / CLK_TCK, peakRssMiB: this.peak() };
  }
}

// ---- database ----

async function connect(): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  return client;
}

async function freshDatabase(): Promise<void> {
  await sql(adminUrl, `DROP DATABASE IF EXISTS ${CONFIG.database} WITH (FORCE)`);
  // Migrations and the development account (the queried tenant, with its keys), as `npm run migrate` does them.
  await runToEnd(process.execPath, [join(DIST, 'apps/cli/main.js'), 'migrate'], serviceEnv());
}

async function seed(): Promise<{ result: SeedResult; validation: string }> {
  const db = await connect();
  try {
    const result = await seedAuditEvents(db, {
      events: CONFIG.events,
      tenants: CONFIG.tenants,
      shares: CONFIG.shares,
      queried: ACCOUNT,
      now: new Date(),
      seed: SEED,
      progress: (done, total) => process.stdout.write(`\rbench: seeding ${n0(done)} / ${n0(total)} events   `),
    });
    process.stdout.write('\n');
    say(
      `seeded ${n0(result.events)} events in ${result.seconds.toFixed(0)} s (${n0(result.events / result.seconds)} events/s)`,
    );
    // Every reader below starts from the same state: hint bits set, visibility map and statistics current, dirty pages written.
    const started = Date.now();
    await db.query('VACUUM (ANALYZE) events');
    await db.query('CHECKPOINT');
    say(`VACUUM ANALYZE events + CHECKPOINT: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const validation = CONFIG.validate ? await validateSeed(db, CONFIG.validate) : 'skipped (BENCH_AUDIT_VALIDATE=0)';
    say(`seed checked: ${validation}`);
    return { result, validation };
  } finally {
    await db.end();
  }
}

// ---- rebuild and its baselines ----

const LOG_QUERY = 'SELECT tenant, stream_id, type, data FROM events ORDER BY tenant, stream_id, stream_version';

/** The cursor baseline's FETCH size: the rebuild's when it read through a cursor (it now streams COPY). */
const SELECT_FETCH = 5000;

interface Rate {
  events: number;
  seconds: number;
  rate: number;
  cpu: Cpu;
}

/** What the rebuild did before it streamed COPY, minus the fold: a cursor in a repeatable-read transaction, rows decoded by node-postgres and dropped. */
async function selectBaseline(fetch: number): Promise<Rate> {
  const db = await connect();
  try {
    const meter = new CpuMeter().start();
    const started = process.hrtime.bigint();
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await db.query(`DECLARE log NO SCROLL CURSOR FOR ${LOG_QUERY}`);
    let events = 0;
    for (;;) {
      const { rows } = await db.query(`FETCH ${fetch} FROM log`);
      if (rows.length === 0) break;
      events += rows.length;
    }
    await db.query('CLOSE log');
    await db.query('COMMIT');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { events, seconds, rate: events / seconds, cpu: meter.stop() };
  } finally {
    await db.end();
  }
}

/** The same SELECT inside the server only: COPY to the server's /dev/null (no client, no network, no decoding). */
async function copyBaseline(events: number): Promise<Rate> {
  const url = new URL(databaseUrl);
  const meter = new CpuMeter().start();
  const started = process.hrtime.bigint();
  await runToEnd(
    'psql',
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      decodeURIComponent(url.username || 'postgres'),
      '-d',
      CONFIG.database,
      '-c',
      `COPY (${LOG_QUERY}) TO '/dev/null'`,
    ],
    {},
    (child) => meter.client(child.pid!),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { events, seconds, rate: events / seconds, cpu: meter.stop() };
}

async function rebuild(): Promise<Rate & { wall: number; line: string }> {
  const meter = new CpuMeter().start();
  const started = Date.now();
  const out = await runToEnd(
    process.execPath,
    [join(DIST, 'apps/cli/main.js'), 'projections', 'rebuild'],
    serviceEnv(),
    (child) => meter.client(child.pid!),
  );
  const wall = (Date.now() - started) / 1000;
  const cpu = meter.stop();
  const line = out.split('\n').find((l) => l.startsWith('projections:rebuild:')) ?? '';
  const found = /: (\d+) events, .* ([\d.]+) s \((\d+) events\/s\)/.exec(line);
  if (!found) throw new Error(`cannot read the rebuild's summary:\n${out}`);
  return { events: Number(found[1]), seconds: Number(found[2]), rate: Number(found[3]), wall, line, cpu };
}

/** The current-state tables must be what the seed implies. */
async function checkProjections(s: SeedResult): Promise<string> {
  const [r] = await sql(
    databaseUrl,
    `SELECT (SELECT count(*)::int FROM accounts) AS accounts, (SELECT count(*)::int FROM shares) AS shares,
            (SELECT count(*)::int FROM nodes WHERE kind = 'directory') AS directories, (SELECT count(*)::int FROM nodes WHERE kind = 'file') AS files,
            (SELECT count(*)::int FROM nodes WHERE lease_state = 'leased') AS leased, (SELECT count(*)::int FROM handles) AS handles`,
  );
  const summary = `${r.accounts} accounts, ${r.shares} shares, ${n0(r.directories)} directories, ${n0(r.files)} files (${n0(r.leased)} leased), ${n0(r.handles)} open handles`;
  if (
    r.accounts !== CONFIG.tenants ||
    r.shares !== CONFIG.tenants * CONFIG.shares ||
    r.directories !== s.directories ||
    r.files !== s.files ||
    r.handles !== s.openHandles
  ) {
    throw new Error(`the rebuilt projections do not match the seed: ${summary}`);
  }
  return summary;
}

// ---- the audit projector ----

interface Catchup extends Rate {
  /** Cumulative seconds at each tenth of the log, to show whether applying slows as audit_log grows. */
  tenths: number[];
}

/** The AsyncProjector from dist with the audit projection, as the worker runs it, from an empty read model to caught up. */
async function catchUp(total: number): Promise<Catchup> {
  const dataSource = await createDataSource(databaseUrl, 4).initialize();
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  // AuditProjectorService's: the AsyncProjector defaults.
  const projector = new AsyncProjector(pool, new EventStore(dataSource), auditProjection);
  try {
    if (!(await projector.lead()))
      throw new Error('the audit projector is led elsewhere (is a worker running on the bench database?)');
    const tenths: number[] = [];
    let applied = 0;
    const meter = new CpuMeter().start();
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    for (let batch = 0; batch < total + 10; batch++) {
      const n = await projector.runBatch();
      if (n === 0) break;
      applied += n;
      while (tenths.length < 10 && applied >= ((tenths.length + 1) / 10) * total) tenths.push(elapsed());
      if (batch % 20 === 0)
        process.stdout.write(
          `\rbench: audit projector ${n0(applied)} / ${n0(total)} events, ${n0(applied / elapsed())} events/s   `,
        );
    }
    process.stdout.write('\n');
    const seconds = elapsed();
    return { events: applied, seconds, rate: applied / seconds, tenths, cpu: meter.stop() };
  } finally {
    await projector.resign();
    await pool.end();
    await dataSource.destroy();
  }
}

// ---- latency ----

async function startApi(): Promise<{ child: ChildProcess; url: string }> {
  return startReady('apps/api/src/main.js', 'PORT', serviceEnv(), 'the API', API_NODE_ARGS);
}

interface Targets {
  /** Files and level-1 directories of the other tenants, for first-touch latency. */
  otherFiles: Target[];
  otherLevel1: Target[];
  files: Target[];
  largest: Target & { rows: number };
  level1: Target[];
  level2: Target[];
  roots: Target[];
  /** audit_log rows per file path of the queried tenant: what one history reads. */
  rowsPerFile: { p50: number; p95: number; p99: number; max: number; mean: number };
  rowsPerLevel1: number;
  rowsPerLevel2: number;
}

async function targets(): Promise<Targets> {
  const nodes = await sql<{ share: string; path: string; kind: string }>(
    databaseUrl,
    `SELECT s.name AS share, n.path, n.kind FROM nodes n JOIN shares s ON s.share_id = n.share_id WHERE n.tenant = $1 ORDER BY s.name, n.path_key`,
    [ACCOUNT],
  );
  const depth = (p: string) => p.split('/').length;
  const [sizes] = await sql(
    databaseUrl,
    `WITH per_file AS (
       SELECT a.share, a.path_key, count(*) AS rows FROM audit_log a
       WHERE a.tenant = $1 AND a.path_key IS NOT NULL AND EXISTS (SELECT 1 FROM nodes n JOIN shares s ON s.share_id = n.share_id
         WHERE n.tenant = a.tenant AND s.name = a.share AND n.path_key = a.path_key AND n.kind = 'file')
       GROUP BY a.share, a.path_key)
     SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY rows) AS p50, percentile_disc(0.95) WITHIN GROUP (ORDER BY rows) AS p95,
            percentile_disc(0.99) WITHIN GROUP (ORDER BY rows) AS p99, max(rows) AS max, avg(rows)::float8 AS mean,
            (SELECT share FROM per_file ORDER BY rows DESC, path_key LIMIT 1) AS largest_share,
            (SELECT path_key FROM per_file ORDER BY rows DESC, path_key LIMIT 1) AS largest_key
     FROM per_file`,
    [ACCOUNT],
  );
  // Rows a recursive query on a directory matches, averaged over the directories of each level.
  const [dirs] = await sql(
    databaseUrl,
    `SELECT (SELECT avg(n)::float8 FROM (SELECT count(*) AS n FROM audit_log WHERE tenant = $1 AND path_key <> ''
               GROUP BY share, split_part(path_key, '/', 1)) d) AS level1,
            (SELECT avg(n)::float8 FROM (SELECT count(*) AS n FROM audit_log WHERE tenant = $1 AND path_key LIKE '%/%'
               GROUP BY share, split_part(path_key, '/', 1), split_part(path_key, '/', 2)) d) AS level2`,
    [ACCOUNT],
  );
  const largest = nodes.find((n) => n.share === sizes.largest_share && n.path.toLowerCase() === sizes.largest_key)!;
  const others = await sql<{ account: string; share: string; path: string; kind: string }>(
    databaseUrl,
    `(SELECT n.tenant AS account, s.name AS share, n.path, n.kind FROM nodes n JOIN shares s ON s.share_id = n.share_id
      WHERE n.tenant <> $1 AND n.kind = 'directory' AND n.parent_id = 0)
     UNION ALL
     (SELECT n.tenant, s.name, n.path, n.kind FROM nodes n JOIN shares s ON s.share_id = n.share_id
      WHERE n.tenant <> $1 AND n.kind = 'file' ORDER BY hashint8(n.file_id) LIMIT $2)`,
    [ACCOUNT, CONFIG.requests],
  );
  return {
    otherFiles: others.filter((n) => n.kind === 'file').map(({ account, share, path }) => ({ account, share, path })),
    otherLevel1: others
      .filter((n) => n.kind === 'directory')
      .map(({ account, share, path }) => ({ account, share, path })),
    files: nodes.filter((n) => n.kind === 'file').map(({ share, path }) => ({ share, path })),
    largest: { share: largest.share, path: largest.path, rows: Number(sizes.max) },
    level1: nodes
      .filter((n) => n.kind === 'directory' && depth(n.path) === 1)
      .map(({ share, path }) => ({ share, path })),
    level2: nodes
      .filter((n) => n.kind === 'directory' && depth(n.path) === 2)
      .map(({ share, path }) => ({ share, path })),
    roots: [...new Set(nodes.map((n) => n.share))].map((share) => ({ share, path: '' })),
    rowsPerFile: {
      p50: Number(sizes.p50),
      p95: Number(sizes.p95),
      p99: Number(sizes.p99),
      max: Number(sizes.max),
      mean: sizes.mean,
    },
    rowsPerLevel1: dirs.level1,
    rowsPerLevel2: dirs.level2,
  };
}

/** `sqlOnly`: the other tenants have no keys the load process knows, so those rows are SQL only. */
function scenarios(t: Targets): (Scenario & { sqlOnly?: boolean })[] {
  const base = { requests: CONFIG.requests, warmup: CONFIG.warmup };
  const list: (Scenario & { sqlOnly?: boolean })[] = [
    // First, before anything reads the other tenants' rows: each target once, pages not yet in shared_buffers.
    {
      name: 'history: file of another tenant, each once (first touch)',
      kind: 'history',
      targets: t.otherFiles,
      concurrency: 1,
      distinct: true,
      sqlOnly: true,
      ...base,
    },
    {
      name: 'prefix: level-1 directory of another tenant, each once (first touch)',
      kind: 'prefix',
      targets: t.otherLevel1,
      concurrency: 1,
      distinct: true,
      sqlOnly: true,
      ...base,
    },
  ];
  for (const concurrency of [1, CONFIG.concurrency]) {
    list.push(
      { name: 'history: random file', kind: 'history', targets: t.files, concurrency, ...base },
      {
        name: `history: largest file (${n0(t.largest.rows)} rows)`,
        kind: 'history',
        targets: [t.largest],
        concurrency,
        requests: Math.min(200, CONFIG.requests),
        warmup: Math.min(20, CONFIG.warmup),
      },
      { name: 'prefix: level-1 directory', kind: 'prefix', targets: t.level1, concurrency, ...base },
      { name: 'prefix: level-2 directory', kind: 'prefix', targets: t.level2, concurrency, ...base },
      { name: 'prefix: share root', kind: 'prefix', targets: t.roots, concurrency, ...base },
    );
  }
  return list;
}

async function load(spec: LoadSpec): Promise<ScenarioResult[]> {
  // Thousands of targets: too long for one argument, so the spec goes through a file.
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-bench-audit-'));
  try {
    const file = join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    const out = await runToEnd(process.execPath, [join(DIST, 'bench/audit-load.js'), file]);
    return out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- EXPLAIN of the audit queries, with the statements the repository sends ----

async function capturedStatements(t: Targets): Promise<{ label: string; text: string; params: unknown[] }[]> {
  const captured: { text: string; params: unknown[] }[] = [];
  const recorder = {
    db: { query: async (text: string, params: unknown[] = []) => (captured.push({ text, params }), []) },
  };
  const audit = new AuditRepository(recorder as never);
  const key = (p: string) => pathKey(p === '' ? [] : p.split('/'));
  // A file of median size: the one whose row count is closest to the median.
  const [median] = await sql(
    databaseUrl,
    `SELECT share, path FROM (SELECT share, path_key, min(path) AS path, count(*) AS rows FROM audit_log WHERE tenant = $1 AND stream_id LIKE 'node-%' GROUP BY 1, 2) f
     ORDER BY abs(rows - $2) LIMIT 1`,
    [ACCOUNT, t.rowsPerFile.p50],
  );
  // The first page of a file's lease history, through the API's own query handler.
  const history = new LeaseHistoryHandler(audit);
  const context = { ...SYSTEM_CALLER, tenant: ACCOUNT, now: new Date() };
  const leaseHistoryPage = (share: string, path: string) =>
    history.execute(new LeaseHistoryQuery(context, share, key(path), undefined, 1000));
  const cases: { label: string; run: () => Promise<unknown> }[] = [
    {
      label: `history of a median file (${median.share}/${median.path})`,
      run: () => leaseHistoryPage(median.share, median.path),
    },
    {
      label: `history of the largest file (${t.largest.share}/${t.largest.path})`,
      run: () => leaseHistoryPage(t.largest.share, t.largest.path),
    },
    {
      label: `prefix, level-1 directory (${t.level1[0].share}/${t.level1[0].path})`,
      run: () =>
        audit.query(
          ACCOUNT,
          { share: t.level1[0].share, pathKey: key(t.level1[0].path), recursive: true },
          'desc',
          undefined,
          100,
        ),
    },
    {
      label: `prefix, level-2 directory (${t.level2[0].share}/${t.level2[0].path})`,
      run: () =>
        audit.query(
          ACCOUNT,
          { share: t.level2[0].share, pathKey: key(t.level2[0].path), recursive: true },
          'desc',
          undefined,
          100,
        ),
    },
    {
      label: `prefix, share root (${t.roots[0].share})`,
      run: () =>
        audit.query(ACCOUNT, { share: t.roots[0].share, pathKey: '', recursive: true }, 'desc', undefined, 100),
    },
  ];
  const out: { label: string; text: string; params: unknown[] }[] = [];
  for (const c of cases) {
    captured.length = 0;
    await c.run();
    out.push({ label: c.label, ...captured[0] });
  }
  return out;
}

async function explainAll(
  t: Targets,
): Promise<{ label: string; text: string; params: unknown[]; plan: string; ms: number }[]> {
  const db = await connect();
  try {
    const result = [];
    for (const s of await capturedStatements(t)) {
      await db.query(s.text, s.params); // warm, as the load left it
      // An unnamed statement with parameters, as node-postgres sends the service's queries: planned for these values.
      const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.text}`, s.params);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      result.push({ ...s, plan, ms: Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN) });
    }
    return result;
  } finally {
    await db.end();
  }
}

async function logPlans(): Promise<{ cursor: string; copy: string }> {
  const db = await connect();
  try {
    await db.query('BEGIN');
    const cursor = (await db.query(`EXPLAIN DECLARE log NO SCROLL CURSOR FOR ${LOG_QUERY}`)).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    await db.query('ROLLBACK');
    const copy = (await db.query(`EXPLAIN ${LOG_QUERY}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    return { cursor, copy };
  } finally {
    await db.end();
  }
}

async function sizes(): Promise<Record<string, { table: number; indexes: number }>> {
  const rows = await sql(
    databaseUrl,
    `SELECT relname, pg_table_size(oid) AS t, pg_indexes_size(oid) AS i FROM pg_class WHERE relname IN ('events', 'audit_log', 'audit_streams', 'nodes', 'handles') AND relkind = 'r'`,
  );
  return Object.fromEntries(rows.map((r) => [r.relname, { table: Number(r.t), indexes: Number(r.i) }]));
}

// ---- the run ----

async function main(): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runStarted = Date.now();
  say(
    `${n0(CONFIG.events)} events, ${CONFIG.tenants} tenants × ${CONFIG.shares} shares; database ${CONFIG.database} (dropped and recreated); queried tenant ${ACCOUNT}`,
  );

  await freshDatabase();
  const seeded = await seed();

  loads.throughput = loadavg()[0];
  const fetch = SELECT_FETCH;
  // The machine is shared: SELECT and rebuild alternate (S R S R S …) so that both see the same
  // background load, and the medians are compared. COPY goes first and warms the page cache for all.
  say(
    `throughput: COPY (server only), then SELECT through a cursor (FETCH ${fetch}) and projections:rebuild alternating, ${CONFIG.rounds} rebuild(s)`,
  );
  const copy = await copyBaseline(seeded.result.events);
  say(`COPY (${LOG_QUERY}) TO '/dev/null': ${copy.seconds.toFixed(1)} s, ${n0(copy.rate)} events/s`);
  const selects: Rate[] = [];
  const rebuilds: Awaited<ReturnType<typeof rebuild>>[] = [];
  const selectOnce = async () => {
    selects.push(await selectBaseline(fetch));
    say(
      `SELECT via cursor: ${selects[selects.length - 1].seconds.toFixed(1)} s, ${n0(selects[selects.length - 1].rate)} events/s`,
    );
  };
  await selectOnce();
  for (let round = 0; round < CONFIG.rounds; round++) {
    rebuilds.push(await rebuild());
    say(rebuilds[rebuilds.length - 1].line);
    await selectOnce();
  }
  const projections = await checkProjections(seeded.result);
  say(`projections: ${projections}`);
  const plans = await logPlans();

  loads.projector = loadavg()[0];
  say(`audit projector: catching up from an empty audit_log, ${BATCH_LABEL}`);
  const projector = await catchUp(seeded.result.events);
  say(
    `audit projector: ${n0(projector.events)} events in ${projector.seconds.toFixed(0)} s, ${n0(projector.rate)} events/s`,
  );
  const vacuumStarted = Date.now();
  await sql(databaseUrl, 'VACUUM (ANALYZE) audit_log');
  await sql(databaseUrl, 'ANALYZE audit_streams');
  say(`VACUUM ANALYZE audit_log: ${((Date.now() - vacuumStarted) / 1000).toFixed(0)} s`);

  const t = await targets();
  say(
    `latency: ${t.files.length} files, ${t.level1.length} + ${t.level2.length} directories of ${ACCOUNT}; ${CONFIG.requests} requests per scenario after ${CONFIG.warmup} warm-up`,
  );
  const api = await startApi();
  loads.latency = loadavg()[0];
  // Each scenario over HTTP, then the same over SQL right after (same seed, same targets): the pair sees the same background load.
  const apiPid = api.child.pid!;
  // The API's CPU and peak RSS over each HTTP load (its warm-up requests included).
  const http: (ScenarioResult & { apiCpuMsPerRequest: number; apiPeakRssMiB?: number })[] = [];
  const direct: ScenarioResult[] = [];
  for (const [i, { sqlOnly, ...scenario }] of scenarios(t).entries()) {
    const apiTicks = ticksOf(apiPid)!;
    const apiPeak = peakRssWindow(apiPid);
    const h = sqlOnly
      ? undefined
      : (
          await load({
            mode: 'http',
            url: api.url,
            account: ACCOUNT,
            keyBase64: DEVELOPMENT_KEY,
            seed: 7 + i,
            scenarios: [scenario],
          })
        )[0];
    const apiCpuMs = ((ticksOf(apiPid)! - apiTicks) / CLK_TCK) * 1000;
    const apiPeakRssMiB = apiPeak();
    const [d] = await load({ mode: 'sql', databaseUrl, account: ACCOUNT, seed: 7 + i, scenarios: [scenario] });
    if (h) http.push({ ...h, apiCpuMsPerRequest: apiCpuMs / (scenario.warmup + scenario.requests), apiPeakRssMiB });
    direct.push(d);
    say(
      `${scenario.name}, ${scenario.concurrency} client(s): ${h ? `HTTP p50 ${ms(h.p50)} p95 ${ms(h.p95)} ms; ` : ''}SQL p50 ${ms(d.p50)} p95 ${ms(d.p95)} ms`,
    );
  }
  loads.end = loadavg()[0];
  await stop(api.child);
  const explains = await explainAll(t);
  const size = await sizes();

  // ---- report ----
  const cpu = cpus();
  const [pg] = await sql(adminUrl, 'SHOW server_version');
  const [settings] = await sql(
    adminUrl,
    `SELECT current_setting('shared_buffers') AS sb, current_setting('work_mem') AS wm`,
  );
  const s = seeded.result;
  const selectRate = median(selects.map((r) => r.rate));
  const rebuildRate = median(rebuilds.map((r) => r.rate));
  report(`# Audit benchmark, ${new Date().toISOString()}`);
  report();
  report(
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; PostgreSQL ${pg.server_version} (shared_buffers ${settings.sb}, work_mem ${settings.wm}), Node ${process.version}. 1-minute load average at the start of each phase: ${Object.entries(
      loads,
    )
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ')}. Whole run: ${((Date.now() - runStarted) / 60000).toFixed(0)} min.`,
  );
  report();
  report(
    `Log: **${n0(s.events)} events** (${s.filler} of them extra writes to make the count exact) over ${CONFIG.tenants} tenants × ${CONFIG.shares} shares, ` +
      `${n0(s.directories)} directories (Team0…9/Project0…9 per share), ${n0(s.files)} files (${s.filesPerLeaf} per leaf directory), ` +
      `${n0(s.cycles)} lease cycles of 8 events (handle open, acquire, writes, change, release or break, handle close), ${n0(s.openHandles)} handles left open; 180 days of recorded_at. ` +
      `Seeded by SQL in ${s.seconds.toFixed(0)} s (${n0(s.events / s.seconds)} events/s). Check: ${seeded.validation}.`,
  );
  report(`Projections after the rebuild: ${projections}.`);
  report(
    `Sizes: events ${mib(size.events.table)} + ${mib(size.events.indexes)} indexes; audit_log ${mib(size.audit_log.table)} + ${mib(size.audit_log.indexes)} indexes; audit_streams ${mib(size.audit_streams.table + size.audit_streams.indexes)}.`,
  );
  report();
  report('## Rebuild and the plain-SELECT baseline');
  report();
  const runs = (list: Rate[]) => list.map((r) => `${r.seconds.toFixed(1)} s`).join(', ');
  const perEvent = (r: Rate) => ((r.cpu.client + r.cpu.server) / r.events) * 1e6;
  const cpuRuns = (list: Rate[]) =>
    list.map((r) => `${r.cpu.client.toFixed(1)} + ${r.cpu.server.toFixed(1)} s`).join(', ');
  const selectCpu = median(selects.map(perEvent));
  const row = (label: string, list: Rate[], rate: number, bold = false) => {
    const b = (v: string) => (bold ? `**${v}**` : v);
    const cpu = median(list.map(perEvent));
    report(
      `| ${label} | ${n0(list[0].events)} | ${runs(list)} | ${b(n0(rate))} | ${b(`${((rate / selectRate) * 100).toFixed(0)} %`)} | ${cpuRuns(list)} | ${cpu.toFixed(1)} | ${b(`${((selectCpu / cpu) * 100).toFixed(0)} %`)} |`,
    );
  };
  report(
    '| | events | each run, wall | events/s (median) | rate vs plain SELECT | each run, CPU client + server | CPU µs per event (median) | CPU efficiency vs plain SELECT |',
  );
  report('|---|---:|---|---:|---:|---|---:|---:|');
  row(`plain SELECT, node-pg cursor (FETCH ${fetch}), repeatable read like the rebuild`, selects, selectRate);
  row('**projections:rebuild** (all projections, CLI)', rebuilds, rebuildRate, true);
  row("COPY (same SELECT) TO '/dev/null', server side only (psql)", [copy], copy.rate);
  row(
    `audit projector catch-up (AsyncProjector, ${BATCH_LABEL}, empty audit_log to caught up)`,
    [projector],
    projector.rate,
  );
  report();
  report(
    `Runs in this order: COPY, then SELECT and rebuild alternating (${[...selects.keys()].map((i) => (i < rebuilds.length ? 'S R' : 'S')).join(' ')}), then the projector. ` +
      `Rebuild runs as printed by the CLI: ${rebuilds.map((r) => `${n0(r.rate)}`).join(', ')} events/s (wall time with Node start-up: ${rebuilds.map((r) => `${r.wall.toFixed(1)} s`).join(', ')}); ` +
      `SELECT runs: ${selects.map((r) => n0(r.rate)).join(', ')} events/s. ` +
      `CPU is utime + stime from /proc, sampled every 100 ms: the client process (the CLI, the runner's own cursor or projector, psql) and the backends connected to the bench database; ` +
      `on this shared machine it moves much less than wall time. "CPU efficiency" = plain SELECT's CPU per event / this one's.`,
  );
  const tenthRates = projector.tenths.map((sec, i) => s.events / 10 / (sec - (i ? projector.tenths[i - 1] : 0)));
  report(`Audit projector rate per tenth of the log (events/s): ${tenthRates.map(n0).join(', ')}.`);
  report();
  report('## Audit query latency');
  report();
  report(
    `Tenant ${ACCOUNT}: ${n0(t.files.length)} files, audit_log rows per file p50 ${t.rowsPerFile.p50}, p95 ${t.rowsPerFile.p95}, p99 ${t.rowsPerFile.p99}, max ${t.rowsPerFile.max} (mean ${t.rowsPerFile.mean.toFixed(1)}); ` +
      `~${n0(t.rowsPerLevel1)} rows under a level-1 directory, ~${n0(t.rowsPerLevel2)} under a level-2 directory. Targets picked uniformly at random (same seed for HTTP and SQL). ` +
      `${CONFIG.requests} requests per row (largest file: ${Math.min(200, CONFIG.requests)}), after ${CONFIG.warmup} warm-up requests.`,
  );
  report();
  report(
    '| query | via | clients | requests | p50 ms | p95 ms | p99 ms | mean ms | max ms | req/s | entries per answer |',
  );
  report('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  // Each HTTP row beside the SQL row of the same scenario.
  for (const r of direct
    .flatMap((d) => [http.find((h) => h.name === d.name && h.concurrency === d.concurrency), d])
    .filter((r): r is ScenarioResult => !!r)) {
    const via = r.mode === 'http' ? 'HTTP' : 'SQL (AuditRepository)';
    const entries =
      r.fetchedMean !== undefined && r.fetchedMean !== r.returnedMean
        ? `${r.returnedMean.toFixed(1)} (of ${r.fetchedMean.toFixed(1)} rows read)`
        : r.returnedMean.toFixed(1);
    const errors = Object.keys(r.errors).length ? ` errors: ${JSON.stringify(r.errors)}` : '';
    report(
      `| ${r.name} | ${via} | ${r.concurrency} | ${r.count} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.mean)} | ${ms(r.max)} | ${n0(r.perSecond)} | ${entries}${errors} |`,
    );
  }
  report();
  report(
    `The "first touch" rows run first, through SQL only (the load process has no keys for the other tenants): each file or level-1 directory of the other ${CONFIG.tenants - 1} tenants once, ` +
      `so their rows are not yet in shared_buffers (the OS page cache may hold them: VACUUM read the table). Every other row queries the same tenant again and again: its pages stay cached, as for a tenant being investigated.`,
  );
  report();
  report('## Plans at this size');
  report();
  report('EXPLAIN (ANALYZE, BUFFERS) of the statements AuditRepository sends (captured from it), after the load runs:');
  report();
  for (const e of explains) {
    report(`### ${e.label}: ${e.ms.toFixed(2)} ms`);
    report();
    report('```sql');
    report(`${e.text.replace(/\s+/g, ' ').trim()}`);
    report(`-- ${JSON.stringify(e.params)}`);
    report('```');
    report();
    report('```');
    report(e.plan);
    report('```');
    report();
  }
  report(
    "The cursor baseline's read (EXPLAIN DECLARE … CURSOR, cursor_tuple_fraction applies), and the same SELECT without a cursor (what COPY and each slice of the rebuild run):",
  );
  report();
  report('```');
  report(plans.cursor);
  report('');
  report(plans.copy);
  report('```');

  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, `bench/results/audit-${stamp}.md`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  say(`written to ${file}`);

  // The summary of `npm run bench`: one op is one event (throughput) or one request (latency).
  const msPerEvent = (list: Rate[], side: keyof Omit<Cpu, 'peakRssMiB'>) =>
    median(list.map((r) => (r.cpu[side] / r.events) * 1000));
  const peakOf = (list: Rate[]) => Math.max(...list.map((r) => r.cpu.peakRssMiB ?? NaN));
  const selectBaselineFigure = { name: `plain SELECT, node-pg cursor (FETCH ${fetch})`, throughput: selectRate };
  emitRow({
    bench: 'audit',
    scenario: `projections:rebuild, ${n0(s.events)} events (median of ${rebuilds.length})`,
    throughput: rebuildRate,
    unit: 'events/s',
    baselines: [selectBaselineFigure, { name: "COPY … TO '/dev/null'", throughput: copy.rate }],
    cpuMsPerOp: msPerEvent(rebuilds, 'client'),
    cpuProcess: 'CLI',
    dbCpuMsPerOp: msPerEvent(rebuilds, 'server'),
    peakRssMiB: peakOf(rebuilds),
  });
  emitRow({
    bench: 'audit',
    scenario: `audit projector catch-up, ${n0(projector.events)} events`,
    throughput: projector.rate,
    unit: 'events/s',
    baselines: [selectBaselineFigure],
    cpuMsPerOp: msPerEvent([projector], 'client'),
    cpuProcess: 'bench process',
    dbCpuMsPerOp: msPerEvent([projector], 'server'),
    peakRssMiB: peakOf([projector]),
  });
  for (const h of http) {
    const d = direct.find((r) => r.name === h.name && r.concurrency === h.concurrency)!;
    const errors = Object.entries(h.errors).map(([k, v]) => `${k}: ${v}`);
    emitRow({
      bench: 'audit',
      scenario: `${h.name}, ${h.concurrency} client(s), HTTP`,
      throughput: h.perSecond,
      unit: 'requests/s',
      p50Ms: h.p50,
      p99Ms: h.p99,
      baselines: [{ name: 'the same via AuditRepository (SQL)', throughput: d.perSecond, p50Ms: d.p50, p99Ms: d.p99 }],
      cpuMsPerOp: h.apiCpuMsPerRequest,
      cpuProcess: 'API',
      peakRssMiB: h.apiPeakRssMiB,
      notes: errors.length ? `errors: ${errors.join(', ')}` : undefined,
    });
  }
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
    if (!CONFIG.keepDatabase)
      await sql(adminUrl, `DROP DATABASE IF EXISTS ${CONFIG.database} WITH (FORCE)`).catch(() => undefined);
    process.exit(exitCode);
  });
process.on('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL');
  process.exit(130);
});
