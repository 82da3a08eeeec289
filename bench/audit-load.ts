import { sharedKeyStringsToSign } from '../libs/wire/src/auth/shared-key';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * The load process of `bench:audit`: runs audit queries back to back and prints one JSON line of
 * latencies per scenario. Over HTTP (`mode: 'http'`) every request is Shared Key signed and goes
 * to the running API over kept-alive connections; over SQL (`mode: 'sql'`) the service's own
 * AuditRepository runs the same statements through a pg pool, so the gap between the two is what
 * HTTP, auth, routing and JSON cost. A separate process, so the runner's work never shares its
 * event loop. Usage: node audit-load.js <file holding the LoadSpec as JSON>
 */

export interface Target {
  /** Another tenant than the spec's (SQL mode only: the load process has one account key). */
  account?: string;
  share: string;
  /** Case-preserved path below the share, '/'-separated; '' is the share root. */
  path: string;
}

export interface Scenario {
  name: string;
  /** history: `comp=leasehistory` of a file; prefix: `comp=auditevents&recursive=true&maxresults=100` of a directory. */
  kind: 'history' | 'prefix';
  targets: Target[];
  requests: number;
  warmup: number;
  concurrency: number;
  /** Each target at most once, in random order (first-touch latency); no warm-up. */
  distinct?: boolean;
}

export interface LoadSpec {
  mode: 'http' | 'sql';
  url?: string;
  databaseUrl?: string;
  account: string;
  keyBase64?: string;
  /** PRNG seed: the same seed picks the same targets in both modes. */
  seed: number;
  scenarios: Scenario[];
}

export interface ScenarioResult {
  name: string;
  mode: string;
  concurrency: number;
  count: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  /** Entries in the answer: timeline entries (history) or events (prefix). */
  returnedMean: number;
  /** Rows read from audit_log per query (SQL mode only: the whole history of the path). */
  fetchedMean?: number;
  errors: Record<string, number>;
}

/** mulberry32: small, seedable, good enough to pick targets. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nearest rank. */
function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

type Query = (scenario: Scenario, target: Target) => Promise<{ returned: number; fetched?: number }>;

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

function httpQuery(spec: LoadSpec, concurrency: number): { run: Query; close: () => Promise<void> } {
  const base = new URL(spec.url!);
  const key = Buffer.from(spec.keyBase64!, 'base64');
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const run: Query = (scenario, target) => {
    if (target.account && target.account !== spec.account) throw new Error('HTTP mode queries the spec account only');
    const rawPath = `/${spec.account}/${encodePath(target.share)}${target.path ? `/${encodePath(target.path)}` : ''}`;
    const rawQuery =
      scenario.kind === 'history' ? 'comp=leasehistory' : 'comp=auditevents&recursive=true&maxresults=100';
    const headers: Record<string, string> = {
      'x-ms-date': new Date().toUTCString(),
      'x-ms-version': '2026-04-06',
      'x-ms-client-request-id': randomUUID(),
    };
    const [stringToSign] = sharedKeyStringsToSign({ method: 'GET', rawPath, rawQuery, headers }, spec.account);
    headers['authorization'] =
      `SharedKey ${spec.account}:${createHmac('sha256', key).update(stringToSign, 'utf8').digest('base64')}`;
    return new Promise((resolve, reject) => {
      const req = request(
        { host: base.hostname, port: base.port, method: 'GET', path: `${rawPath}?${rawQuery}`, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200)
              return reject(
                new Error(`${res.statusCode} ${String(res.headers['x-ms-error-code'] ?? body.slice(0, 100))}`),
              );
            const parsed = JSON.parse(body);
            resolve({ returned: scenario.kind === 'history' ? parsed.timeline.length : parsed.events.length });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  };
  return { run, close: async () => agent.destroy() };
}

async function sqlQuery(spec: LoadSpec): Promise<{ run: Query; close: () => Promise<void> }> {
  // Loaded here so the HTTP load process stays small.
  const { Pool } = await import('pg');
  const { AuditRepository, LeaseHistoryHandler, LeaseHistoryQuery } = await import('@leasehold/audit');
  const { pathKey, SYSTEM_CALLER } = await import('@leasehold/domain');
  const { executorOnPool } = await import('@leasehold/event-store');
  // The API's pool size (createDataSource's default), and its named prepared statements.
  const pool = new Pool({ connectionString: spec.databaseUrl, max: 20 });
  const store = { db: executorOnPool(pool) };
  const audit = new AuditRepository(store as never);
  const history = new LeaseHistoryHandler(audit);
  const keyOf = (path: string) => pathKey(path === '' ? [] : path.split('/'));
  const run: Query = async (scenario, target) => {
    const account = target.account ?? spec.account;
    if (scenario.kind === 'history') {
      // The first page of the lease history, through the API's own query handler.
      const context = { ...SYSTEM_CALLER, tenant: account, now: new Date() };
      const { timeline } = await history.execute(
        new LeaseHistoryQuery(context, target.share, keyOf(target.path), undefined, 1000),
      );
      return { returned: timeline.length, fetched: timeline.length };
    }
    const page = await audit.query(
      account,
      { share: target.share, pathKey: keyOf(target.path), recursive: true },
      'desc',
      undefined,
      100,
    );
    return { returned: page.events.length, fetched: page.events.length };
  };
  return { run, close: () => pool.end() };
}

async function runScenario(spec: LoadSpec, scenario: Scenario, index: number): Promise<ScenarioResult> {
  const random = prng(spec.seed + index);
  let pick = () => scenario.targets[Math.floor(random() * scenario.targets.length)];
  if (scenario.distinct) {
    // Fisher-Yates over a copy: every target once.
    const order = [...scenario.targets];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let at = 0;
    pick = () => order[at++ % order.length];
    scenario = { ...scenario, warmup: 0, requests: Math.min(scenario.requests, order.length) };
  }
  const client = spec.mode === 'http' ? httpQuery(spec, scenario.concurrency) : await sqlQuery(spec);
  const latencies = new Float64Array(scenario.requests);
  const errors: Record<string, number> = {};
  let returned = 0;
  let fetched = 0;
  let next = 0;
  let done = 0;
  const worker = async (limit: number, measure: boolean) => {
    while (next < limit) {
      next++;
      const target = pick();
      const started = performance.now();
      try {
        const r = await client.run(scenario, target);
        if (measure) {
          latencies[done++] = performance.now() - started;
          returned += r.returned;
          fetched += r.fetched ?? 0;
        }
      } catch (error) {
        const message = (error as Error).message;
        errors[message] = (errors[message] ?? 0) + 1;
        if (Object.values(errors).reduce((a, b) => a + b, 0) > 20)
          throw new Error(`${scenario.name}: too many errors: ${JSON.stringify(errors)}`);
      }
    }
  };
  const workers = (limit: number, measure: boolean) =>
    Promise.all(Array.from({ length: scenario.concurrency }, () => worker(limit, measure)));
  try {
    await workers(scenario.warmup, false);
    next = 0;
    const started = performance.now();
    await workers(scenario.requests, true);
    const seconds = (performance.now() - started) / 1000;
    const sorted = latencies.slice(0, done).sort();
    const sum = sorted.reduce((a, b) => a + b, 0);
    return {
      name: scenario.name,
      mode: spec.mode,
      concurrency: scenario.concurrency,
      count: done,
      seconds,
      perSecond: done / seconds,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      mean: sum / Math.max(1, done),
      max: sorted[sorted.length - 1] ?? NaN,
      returnedMean: returned / Math.max(1, done),
      ...(spec.mode === 'sql' ? { fetchedMean: fetched / Math.max(1, done) } : {}),
      errors,
    };
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec;
  for (const [index, scenario] of spec.scenarios.entries()) {
    const result = await runScenario(spec, scenario, index);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

main().catch((error) => {
  console.error(`audit-load: ${error?.stack ?? error}`);
  process.exit(1);
});
