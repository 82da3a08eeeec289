import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { azureRequest, Signer } from './azure';
import { acquireTxn, EtcdConnection, releaseTxn } from './etcd-grpc';

/**
 * The load process: `clients` concurrent clients, each running acquire+release cycles back to back
 * (a cycle is one acquire attempt, plus a release when the acquire succeeded) against Leasehold
 * over keep-alive HTTP/1.1, or against etcd over gRPC, with the same loop and the same bookkeeping.
 * Ops completing inside the measured window (after the warm-up) count. Prints one JSON line.
 *
 * Usage: node load.js '<LoadSpec as JSON>'
 */

export interface LoadSpec {
  target: 'leasehold' | 'etcd';
  url: string;
  clients: number;
  /** The file (Leasehold) or key suffix (etcd) of each client: all the same for the hot-file scenario. */
  files: string[];
  warmupMs: number;
  durationMs: number;
  /** Leasehold only. */
  account?: string;
  keyBase64?: string;
  share?: string;
  /** etcd only: keys are `${etcdPrefix}${file}`. */
  etcdPrefix?: string;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  /** With the maximum, what shows a stall that a p99 over many requests hides. */
  p999: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  target: string;
  clients: number;
  seconds: number;
  ops: number;
  opsPerSec: number;
  cyclesPerSec: number;
  /** Acquire attempts that got the lease (201 / txn succeeded), and those refused (409 / txn failed). */
  acquired: number;
  refused: number;
  released: number;
  /** Any other outcome, by status or error message: these mean the run is not valid. */
  unexpected: Record<string, number>;
  /** Milliseconds per operation (acquire attempt or release), and per kind. */
  latency: LatencySummary;
  acquireLatency: LatencySummary;
  refusedLatency: LatencySummary;
  releaseLatency: LatencySummary;
}

/** Nearest-rank percentile over a sorted copy. */
export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

type Known = 'acquired' | 'refused' | 'released';
/** A known outcome, or the error code of a refusal. */
type Outcome = string;
const isKnown = (outcome: Outcome): outcome is Known =>
  outcome === 'acquired' || outcome === 'refused' || outcome === 'released';

interface Target {
  acquire(client: number): Promise<Outcome>;
  release(client: number): Promise<Outcome>;
  close(): void;
}

function leaseholdTarget(spec: LoadSpec): Target {
  const base = new URL(spec.url);
  // One socket per client at most: like `clients` separate HTTP/1.1 clients, each with a kept-alive connection.
  const agent = new Agent({ keepAlive: true, maxSockets: spec.clients, maxFreeSockets: spec.clients });
  const signer: Signer = { account: spec.account!, key: Buffer.from(spec.keyBase64!, 'base64') };
  const leaseIds = spec.files.map(() => randomUUID());
  const path = (client: number) => `/${spec.account}/${spec.share}/${spec.files[client]}`;
  const lease = (client: number, headers: Record<string, string>) =>
    azureRequest(base, agent, signer, 'PUT', path(client), { comp: 'lease' }, headers);
  return {
    async acquire(client) {
      const res = await lease(client, {
        'x-ms-lease-action': 'acquire',
        'x-ms-lease-duration': '-1',
        'x-ms-proposed-lease-id': leaseIds[client],
      });
      if (res.status === 201) return 'acquired';
      if (res.status === 409 && res.errorCode === 'LeaseAlreadyPresent') return 'refused';
      return `acquire ${res.status} ${res.errorCode ?? ''}`;
    },
    async release(client) {
      const res = await lease(client, { 'x-ms-lease-action': 'release', 'x-ms-lease-id': leaseIds[client] });
      return res.status === 200 ? 'released' : `release ${res.status} ${res.errorCode ?? ''}`;
    },
    close: () => agent.destroy(),
  };
}

function etcdTarget(spec: LoadSpec): Target {
  // One HTTP/2 connection per client, as `clients` separate etcd clients would have.
  const connections = spec.files.map(() => new EtcdConnection(spec.url));
  const leaseIds = spec.files.map(() => randomUUID());
  const key = (client: number) => `${spec.etcdPrefix ?? ''}${spec.files[client]}`;
  return {
    async acquire(client) {
      return (await connections[client].txn(acquireTxn(key(client), leaseIds[client]))) ? 'acquired' : 'refused';
    },
    async release(client) {
      return (await connections[client].txn(releaseTxn(key(client), leaseIds[client])))
        ? 'released'
        : 'release refused';
    },
    close: () => connections.forEach((c) => c.close()),
  };
}

export async function runLoad(
  spec: LoadSpec,
  onWindow: (event: 'start' | 'end') => void = () => undefined,
): Promise<LoadResult> {
  const target = spec.target === 'etcd' ? etcdTarget(spec) : leaseholdTarget(spec);
  const started = performance.now();
  const windowStart = started + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  const all: number[] = [];
  const byOutcome: Record<Known, number[]> = { acquired: [], refused: [], released: [] };
  const unexpected: Record<string, number> = {};
  let cycles = 0;
  let failures = 0;

  const timed = async (op: () => Promise<Outcome>): Promise<Outcome> => {
    const t0 = performance.now();
    let outcome: Outcome;
    try {
      outcome = await op();
    } catch (error) {
      outcome = `error ${(error as Error).message}`;
    }
    const t1 = performance.now();
    const known = isKnown(outcome);
    // A 503 (the service's per-tenant rate limit, or contention) is an answer, counted below; any
    // other failure repeated this often means the run is broken (refused connection, bad signature).
    if (!known && !/ 503 /.test(outcome) && ++failures > 1000)
      throw new Error(`giving up after 1000 failed operations; last: ${outcome}`);
    if (t1 >= windowStart && t1 <= windowEnd) {
      all.push(t1 - t0);
      if (isKnown(outcome)) byOutcome[outcome].push(t1 - t0);
      else unexpected[outcome] = (unexpected[outcome] ?? 0) + 1;
    }
    return outcome;
  };

  const client = async (i: number) => {
    // Bounded by time; a cycle begun before the end is finished, so no lease is left held.
    while (performance.now() < windowEnd) {
      const outcome = await timed(() => target.acquire(i));
      if (outcome === 'acquired') await timed(() => target.release(i));
      if (performance.now() >= windowStart && performance.now() <= windowEnd) cycles++;
    }
  };

  // Each marker exactly once: the clients may finish before the end timer has fired.
  const marked = new Set<'start' | 'end'>();
  const mark = (event: 'start' | 'end') => {
    if (marked.has(event)) return;
    marked.add(event);
    onWindow(event);
  };
  const windowTimers = [
    setTimeout(() => mark('start'), spec.warmupMs),
    setTimeout(() => mark('end'), spec.warmupMs + spec.durationMs),
  ];
  try {
    await Promise.all(spec.files.map((_, i) => client(i)));
  } finally {
    windowTimers.forEach(clearTimeout);
    mark('start');
    mark('end');
    target.close();
  }
  const seconds = spec.durationMs / 1000;
  return {
    target: spec.target,
    clients: spec.clients,
    seconds,
    ops: all.length,
    opsPerSec: all.length / seconds,
    cyclesPerSec: cycles / seconds,
    acquired: byOutcome.acquired.length,
    refused: byOutcome.refused.length,
    released: byOutcome.released.length,
    unexpected,
    latency: summarize(all),
    acquireLatency: summarize(byOutcome.acquired),
    refusedLatency: summarize(byOutcome.refused),
    releaseLatency: summarize(byOutcome.released),
  };
}

if (require.main === module) {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  // Window markers go to stderr so the parent can sample CPU over exactly the measured window.
  runLoad(spec, (event) => process.stderr.write(`WINDOW ${event}\n`))
    .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((error) => {
      process.stderr.write(`load: ${(error as Error).stack ?? error}\n`);
      process.exit(1);
    });
}
