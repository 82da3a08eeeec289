import {
  API_NODE_ARGS,
  BENCH_SERVICE_ENV,
  children,
  DIST,
  emitRow,
  envInteger,
  peakRssMiB,
  ROOT,
  runToEnd,
  sql,
  startReady,
  stop,
  withPath,
} from './common';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '@leasehold/accounts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { azureRequest, Signer } from './lease/azure';
import { summarize } from './lease/load';
import { windowEvents, type WatchLoadResult, type WatchLoadSpec } from './watch-load';

/**
 * `npm run bench:watch`: N Server-Sent Events watchers on one API process (each on a file of its
 * own by default), held by a separate load process, while that process changes leases at a fixed
 * rate; the delivery latency from each event's recorded_at to its arrival at the watcher (p50,
 * p99), every delivery counted against the log, and the API's CPU and RSS over the window.
 * Loopback only. See bench/README.md.
 */

const env = process.env;
const CONFIG = {
  watchers: envInteger('BENCH_WATCHERS', 1000, 1, 100_000),
  files: envInteger('BENCH_WATCH_FILES', 0, 0, 100_000),
  rate: envInteger('BENCH_WATCH_RATE', 1000, 1, 100_000),
  inFlight: envInteger('BENCH_WATCH_IN_FLIGHT', 64, 1, 1024),
  baselineMs: envInteger('BENCH_WATCH_BASELINE_S', 5, 1, 600) * 1000,
  warmupMs: envInteger('BENCH_WARMUP_S', 3, 0, 600) * 1000,
  durationMs: envInteger('BENCH_DURATION_S', 20, 1, 3600) * 1000,
  pgUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432',
  database: env.BENCH_WATCH_DB ?? 'leasehold_bench_watch',
  redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};
const FILES = CONFIG.files || CONFIG.watchers;
if (CONFIG.watchers % FILES !== 0) throw new Error('BENCH_WATCHERS must be a multiple of BENCH_WATCH_FILES');
if (!/^[a-z_][a-z0-9_]*$/.test(CONFIG.database)) throw new Error('BENCH_WATCH_DB: a plain lowercase identifier');
const SHARE = 'bench';
const signer: Signer = { account: DEVELOPMENT_ACCOUNT, key: Buffer.from(DEVELOPMENT_KEY, 'base64') };

const databaseUrl = withPath(CONFIG.pgUrl, `/${CONFIG.database}`);
const serviceEnv = () => ({
  DATABASE_URL: databaseUrl,
  REDIS_URL: CONFIG.redisUrl,
  ...BENCH_SERVICE_ENV,
  PORT: '0',
  RATE_LIMIT_PER_SECOND: '0',
  WATCH_LIMIT_PER_TENANT: String(CONFIG.watchers),
});
const say = (line: string) => process.stdout.write(`bench: ${line}\n`);
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

async function createFiles(url: URL): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const share = await azureRequest(
    url,
    agent,
    signer,
    'PUT',
    `/${DEVELOPMENT_ACCOUNT}/${SHARE}`,
    { restype: 'share' },
    {},
  );
  if (share.status !== 201) throw new Error(`Create Share: ${share.status} ${share.errorCode}`);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < FILES; i = next++) {
      const res = await azureRequest(
        url,
        agent,
        signer,
        'PUT',
        `/${DEVELOPMENT_ACCOUNT}/${SHARE}/f${i}`,
        {},
        { 'x-ms-type': 'file', 'x-ms-content-length': '0' },
      );
      if (res.status !== 201) throw new Error(`Create File f${i}: ${res.status} ${res.errorCode}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
}

async function main(): Promise<void> {
  say(
    `building done; ${CONFIG.watchers} watchers on ${FILES} files, ${CONFIG.rate} lease changes/s for ${CONFIG.durationMs / 1000} s after ${CONFIG.warmupMs / 1000} s warm-up`,
  );
  await sql(withPath(CONFIG.pgUrl, '/postgres'), `DROP DATABASE IF EXISTS ${CONFIG.database} WITH (FORCE)`);
  await runToEnd(process.execPath, [join(DIST, 'apps/cli/main.js'), 'migrate'], serviceEnv());
  const { child: api, url } = await startReady('apps/api/src/main.js', 'PORT', serviceEnv(), 'the API', API_NODE_ARGS);
  say(`API pid ${api.pid} on ${url}`);
  await createFiles(new URL(url));
  say(`created share ${SHARE} with ${FILES} files`);

  const spec: WatchLoadSpec = {
    url,
    account: DEVELOPMENT_ACCOUNT,
    keyBase64: DEVELOPMENT_KEY,
    share: SHARE,
    files: FILES,
    watchers: CONFIG.watchers,
    rate: CONFIG.rate,
    inFlight: CONFIG.inFlight,
    baselineMs: CONFIG.baselineMs,
    warmupMs: CONFIG.warmupMs,
    durationMs: CONFIG.durationMs,
    apiPid: api.pid!,
    databaseUrl,
  };
  // How long the oldest transaction holding an xid in the bench's database has been open (since its
  // start, which may be before it took its xid): a watch, like every readAll reader, delivers
  // nothing committed after that xid until the transaction ends (events_horizon()).
  const horizon: Array<{ at: number; ms: number }> = [];
  const sampler = setInterval(() => {
    sql(
      databaseUrl,
      `SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)) * 1000, 0)::float AS ms FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname = current_database()`,
    )
      .then(([row]) => horizon.push({ at: Date.now(), ms: row.ms }))
      .catch(() => undefined);
  }, 100);
  const load = JSON.parse(
    (await runToEnd(process.execPath, [join(DIST, 'bench/watch-load.js'), JSON.stringify(spec)]))
      .trim()
      .split('\n')
      .pop()!,
  ) as WatchLoadResult;
  clearInterval(sampler);
  const held = summarize(horizon.filter((h) => h.at >= load.windowStart && h.at < load.windowEnd).map((h) => h.ms));
  const events = await windowEvents(databaseUrl, load.windowStart, load.windowEnd);
  const apiPeakRssMiB = peakRssMiB(api.pid!);
  await stop(api);

  const seconds = (load.windowEnd - load.windowStart) / 1000;
  const expected = events * (CONFIG.watchers / FILES);
  const lines = [
    `# bench:watch — ${new Date().toISOString()}`,
    '',
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0].toFixed(2)} at the end (shared with other work)`,
    `watchers: ${load.watchers} SSE streams on one API process (${CONFIG.watchers / FILES} per file, ${FILES} files), opened in ${load.connectSeconds.toFixed(1)} s`,
    `the same lease changes with no watcher open, just before: ${load.baselineRate.toFixed(0)}/s committed`,
    `lease changes: asked ${CONFIG.rate}/s; ${events} committed in the ${seconds.toFixed(1)} s window [${new Date(load.windowStart).toISOString()}, ${new Date(load.windowEnd).toISOString()}) = ${(events / seconds).toFixed(0)}/s; failed: ${JSON.stringify(load.failedChanges)}`,
    `deliveries: ${load.delivered} of ${expected} expected (${expected - load.delivered} missing), ${load.duplicates} duplicates, ${load.resumes} resume signals`,
    `latency from the event's insert (recorded_at, before its commit) to the watcher: p50 ${ms(load.latency.p50)} ms, p99 ${ms(load.latency.p99)} ms, mean ${ms(load.latency.mean)} ms (${load.latency.count} samples)`,
    `latency from the writer's answer (after the commit) to the watcher: p50 ${ms(load.latencyAfterAnswer.p50)} ms, p99 ${ms(load.latencyAfterAnswer.p99)} ms (${load.latencyAfterAnswer.count} samples; negative: the watcher was first)`,
    `age of the oldest xid-holding transaction in the database, an upper bound on how long the horizon was held (sampled every 100 ms): p50 ${ms(held.p50)} ms, p99 ${ms(held.p99)} ms`,
    `API process: CPU ${load.apiCpuPercent.toFixed(0)} % of one core; RSS ${load.apiRssMiB.start.toFixed(0)} MiB at the window's start, ${load.apiRssMiB.end.toFixed(0)} MiB at its end, ${load.apiRssMiB.max.toFixed(0)} MiB max`,
    `load process: CPU ${load.loadCpuPercent.toFixed(0)} % of one core`,
  ];
  for (const line of lines) process.stdout.write(`${line}\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, `bench/results/watch-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  say(`report written to ${file}`);
  // The summary of `npm run bench`: one op is one lease change committed in the window.
  emitRow({
    bench: 'watch',
    scenario: `${CONFIG.watchers.toLocaleString('en')} watchers, ${CONFIG.rate.toLocaleString('en')} changes/s asked (latency: recorded_at to watcher)`,
    throughput: events / seconds,
    unit: 'changes/s',
    p50Ms: load.latency.p50,
    p99Ms: load.latency.p99,
    baselines: [{ name: 'same changes, no watcher open', throughput: load.baselineRate }],
    cpuMsPerOp: events ? ((load.apiCpuPercent / 100) * seconds * 1000) / events : undefined,
    cpuProcess: 'API',
    peakRssMiB: apiPeakRssMiB,
    notes: `delivered ${load.delivered} of ${expected}, ${load.duplicates} duplicates, ${load.resumes} resume signals`,
  });
}

const cleanup = async () => {
  for (const child of [...children]) await stop(child);
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
main()
  .catch(async (error) => {
    process.stderr.write(`bench:watch failed: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
