import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { DIST, ROOT, serviceCode } from './common';
import { parseRows, renderTable, replaceSection } from './summary';

/**
 * `npm run bench`: every benchmark in turn, each its own process (the build is done once, by the
 * npm script), each appending its result rows (emitRow) to one JSON-lines file; then one table of
 * them all, printed and written to bench/results/, and into bench/README.md when every bench ran
 * and succeeded. BENCH_QUICK=1 sets small sizes; any variable already set wins. See bench/README.md.
 */

interface Bench {
  name: string;
  entry: string;
  /** Sizes of the issue's targets where the bench's own default is smaller. */
  full: Record<string, string>;
  /** BENCH_QUICK=1: a few minutes each. */
  quick: Record<string, string>;
}

const BENCHES: Bench[] = [
  {
    name: 'lease',
    entry: 'bench/lease/run.js',
    full: {},
    quick: {
      BENCH_DURATION_S: '3',
      BENCH_WARMUP_S: '1',
      BENCH_PGBENCH_EXTENDED: '0',
      BENCH_ROUNDTRIPS: '0',
      BENCH_HEARTBEAT: '1000',
      BENCH_HEARTBEAT_S: '6',
    },
  },
  {
    name: 'force-close',
    entry: 'bench/force-close.js',
    full: {},
    quick: { BENCH_FC_FILES: '50', BENCH_FC_HANDLES_PER_FILE: '1000' },
  },
  {
    name: 'audit',
    entry: 'bench/audit.js',
    full: {},
    quick: {
      BENCH_AUDIT_EVENTS: '200000',
      BENCH_AUDIT_ROUNDS: '1',
      BENCH_AUDIT_REQUESTS: '200',
      BENCH_AUDIT_WARMUP: '20',
      BENCH_AUDIT_VALIDATE: '100',
    },
  },
  {
    name: 'watch',
    entry: 'bench/watch.js',
    full: { BENCH_WATCHERS: '10000' },
    quick: {
      BENCH_WATCHERS: '500',
      BENCH_WATCH_RATE: '200',
      BENCH_WATCH_BASELINE_S: '2',
      BENCH_WARMUP_S: '1',
      BENCH_DURATION_S: '5',
    },
  },
  {
    name: 'costs',
    entry: 'bench/costs.js',
    full: {},
    quick: { BENCH_COSTS_LEASE_CYCLES: '1000', BENCH_COSTS_HANDLES: '20000' },
  },
];

const env = process.env;
const quick = env.BENCH_QUICK === '1';
const only = (env.BENCH_ONLY ?? BENCHES.map((b) => b.name).join(',')).split(',').map((n) => n.trim());
const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
if (unknown.length)
  throw new Error(`BENCH_ONLY: unknown ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})`);
const selected = BENCHES.filter((b) => only.includes(b.name));

const say = (line: string) => process.stdout.write(`bench: ${line}\n`);
const load1 = () => loadavg()[0].toFixed(2);

interface Ran {
  bench: Bench;
  /** The preset values that applied (not already set in the environment). */
  settings: Record<string, string>;
  seconds: number;
  load: [string, string];
  outcome: string;
  ok: boolean;
}

let current: ChildProcess | undefined;
let interrupted = false;

function runBench(bench: Bench, rowsFile: string): Promise<Ran> {
  const preset = quick ? bench.quick : bench.full;
  const settings = Object.fromEntries(Object.entries(preset).filter(([k]) => env[k] === undefined));
  say(
    `${bench.name}: node dist/${bench.entry}${Object.entries(settings)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('')}`,
  );
  const started = Date.now();
  const loadBefore = load1();
  const child = spawn(process.execPath, [join(DIST, bench.entry)], {
    cwd: ROOT,
    env: { ...env, ...settings, BENCH_ROWS: rowsFile },
    stdio: 'inherit',
  });
  current = child;
  return new Promise((done) => {
    const finish = (outcome: string, ok: boolean) => {
      current = undefined;
      done({
        bench,
        settings,
        seconds: (Date.now() - started) / 1000,
        load: [loadBefore, load1()],
        outcome,
        ok,
      });
    };
    child.on('error', (error) => finish(`did not start: ${error.message}`, false));
    child.on('exit', (code, signal) => finish(code === 0 ? 'ok' : `failed (${signal ?? `exit ${code}`})`, code === 0));
  });
}

function summary(ran: Ran[], rowsText: string, startedAt: Date): string {
  const rows = parseRows(rowsText);
  const settingsOf = (r: Ran) =>
    Object.entries(r.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || 'none';
  const set = Object.entries(env)
    .filter(([k]) => /^(BENCH_|FORCE_CLOSE_|WORKER_CONCURRENCY$|RATE_LIMIT_)/.test(k) && k !== 'BENCH_ROWS')
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  return [
    `### \`${quick ? 'BENCH_QUICK=1 ' : ''}npm run bench\`, ${startedAt.toISOString()}`,
    '',
    `${serviceCode(ROOT)} Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}. ${
      quick ? 'Quick preset (BENCH_QUICK=1): small sizes, not the issue targets.' : 'Full sizes.'
    }${set.length ? ` Set in the environment: ${set.join(' ')}.` : ''}`,
    '',
    'The machine is shared with other work (2 cores here, other sessions building, testing and benchmarking): these figures are noisy. Compare a row with its own baselines, measured in the same run, not with other runs; the load average (1 min, as `uptime` prints it) at each bench’s start and end is below.',
    '',
    renderTable(rows),
    '',
    '| bench | outcome | minutes | load average before → after | sizes set by the runner |',
    '| --- | --- | --: | --- | --- |',
    ...ran.map(
      (r) =>
        `| ${r.bench.name} | ${r.outcome} | ${(r.seconds / 60).toFixed(1)} | ${r.load[0]} → ${r.load[1]} | ${settingsOf(r)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const rowsFile = join(dir, `summary-${stamp}.jsonl`);
  writeFileSync(rowsFile, '');
  const ran: Ran[] = [];
  for (const bench of selected) {
    if (interrupted) break;
    const result = await runBench(bench, rowsFile);
    ran.push(result);
    say(`${bench.name}: ${result.outcome} after ${(result.seconds / 60).toFixed(1)} min`);
  }
  // Formatted as `npm run lint` checks bench/README.md (prettier --check).
  const readme = join(ROOT, 'bench/README.md');
  const options = { ...(await resolveConfig(readme)), parser: 'markdown' };
  const markdown = await format(summary(ran, readFileSync(rowsFile, 'utf8'), startedAt), options);
  const file = join(dir, `summary-${stamp}.md`);
  writeFileSync(file, markdown);
  copyFileSync(file, join(dir, 'latest.md'));
  copyFileSync(rowsFile, join(dir, 'latest.jsonl'));
  process.stdout.write(`\n${markdown}\n`);
  say(`written to ${file} and ${rowsFile} (and bench/results/latest.md, latest.jsonl)`);
  const complete = ran.length === BENCHES.length && ran.every((r) => r.ok);
  if (complete) {
    writeFileSync(readme, await format(replaceSection(readFileSync(readme, 'utf8'), markdown), options));
    say('bench/README.md: its summary section now holds this table');
  } else {
    say('bench/README.md left as it was: it keeps only runs of every bench that all succeeded');
  }
  return interrupted ? 130 : ran.every((r) => r.ok) ? 0 : 1;
}

// Ctrl-C reaches the bench too (same process group); a signal sent to the runner alone is passed on.
// Each bench cleans up (its processes, its database) on SIGINT.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    interrupted = true;
    current?.kill('SIGINT');
  });

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: failed: ${(error as Error)?.stack ?? error}\n`);
    process.exit(1);
  },
);
