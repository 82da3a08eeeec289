import { ClientHttp2Stream, connect, constants } from 'node:http2';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { azureRequest, Signer } from './azure';
import { frame, varintField } from './etcd-grpc';
import { LatencySummary, summarize } from './load';

/**
 * The heartbeat load process: `leases` live 15-second leases, each renewed every 5 s, the renewals
 * spread evenly over the period and over a pool of `connections` keep-alive connections — against
 * Leasehold (one share lease per share `${prefix}${i}`, `x-ms-lease-action: renew`) or against etcd
 * (one etcd lease per key, LeaseKeepAlive on `connections` bidirectional gRPC streams). Prints one
 * JSON line (HeartbeatResult).
 *
 * Usage: node heartbeat.js '<HeartbeatSpec as JSON>'
 */

export interface HeartbeatSpec {
  target: 'leasehold' | 'etcd';
  url: string;
  leases: number;
  connections: number;
  durationMs: number;
  /** Leasehold only. */
  account?: string;
  keyBase64?: string;
  sharePrefix?: string;
}

export interface HeartbeatResult {
  target: string;
  leases: number;
  seconds: number;
  renewals: number;
  renewalsPerSec: number;
  latency: LatencySummary;
  /** Renewals that were refused or failed, by status or message. */
  failed: Record<string, number>;
  /** How far behind schedule renewals left, at worst (ms): the load process keeping up, or not. */
  maxLagMs: number;
  /** etcd: keep-alive answers with TTL 0 (the lease had expired). Leasehold counts lapses from the log instead. */
  lost?: number;
}

const TTL_S = 15;
const PERIOD_MS = 5000;

/** A lease id per share, fixed so that the runner can release them afterwards. */
export const heartbeatLeaseId = (i: number) =>
  `00000000-0000-4000-8000-${(0xbeef00000000 + i).toString(16).padStart(12, '0')}`;

/**
 * Runs `renew(i)` for every lease every PERIOD_MS, lease i at offset i/N of the period, over
 * `connections` sequential workers; returns the latencies and outcomes of the renewals.
 */
async function heartbeat(
  spec: HeartbeatSpec,
  renew: (lease: number, worker: number) => Promise<string | undefined>,
): Promise<HeartbeatResult> {
  const start = performance.now() + 200;
  const end = start + spec.durationMs;
  const latencies: number[] = [];
  const failed: Record<string, number> = {};
  let maxLagMs = 0;
  await Promise.all(
    Array.from({ length: spec.connections }, async (_, worker) => {
      const mine = Array.from(
        { length: Math.ceil((spec.leases - worker) / spec.connections) },
        (_, k) => worker + k * spec.connections,
      );
      for (let round = 0; ; round++) {
        for (const lease of mine) {
          const due = start + round * PERIOD_MS + (lease / spec.leases) * PERIOD_MS;
          if (due >= end) return;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          else maxLagMs = Math.max(maxLagMs, -wait);
          const sent = performance.now();
          const outcome = await renew(lease, worker);
          latencies.push(performance.now() - sent);
          if (outcome !== undefined) failed[outcome] = (failed[outcome] ?? 0) + 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return {
    target: spec.target,
    leases: spec.leases,
    seconds,
    renewals: latencies.length,
    renewalsPerSec: latencies.length / seconds,
    latency: summarize(latencies),
    failed,
    maxLagMs,
  };
}

async function leasehold(spec: HeartbeatSpec): Promise<HeartbeatResult> {
  const url = new URL(spec.url);
  const signer: Signer = { account: spec.account!, key: Buffer.from(spec.keyBase64!, 'base64') };
  const agents = Array.from({ length: spec.connections }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const lease = (i: number, worker: number, headers: Record<string, string>) =>
    azureRequest(
      url,
      agents[worker],
      signer,
      'PUT',
      `/${spec.account}/${spec.sharePrefix}${i}`,
      { restype: 'share', comp: 'lease' },
      headers,
    );
  try {
    // Acquire every lease first, over the same pool.
    await Promise.all(
      agents.map(async (_, worker) => {
        for (let i = worker; i < spec.leases; i += spec.connections) {
          const res = await lease(i, worker, {
            'x-ms-lease-action': 'acquire',
            'x-ms-lease-duration': String(TTL_S),
            'x-ms-proposed-lease-id': heartbeatLeaseId(i),
          });
          if (res.status !== 201) throw new Error(`acquire on share ${i}: ${res.status} ${res.errorCode}`);
        }
      }),
    );
    return await heartbeat(spec, async (i, worker) => {
      const res = await lease(i, worker, { 'x-ms-lease-action': 'renew', 'x-ms-lease-id': heartbeatLeaseId(i) });
      return res.status === 200 ? undefined : `${res.status} ${res.errorCode ?? ''}`.trim();
    });
  } finally {
    agents.forEach((a) => a.destroy());
  }
}

// ---- etcd: Lease/LeaseGrant (unary) and Lease/LeaseKeepAlive (bidirectional), hand-encoded protobuf ----

/** The varint fields of one protobuf message (nested messages skipped). */
function varints(message: Buffer): Map<number, number> {
  const fields = new Map<number, number>();
  let i = 0;
  const read = () => {
    let result = 0;
    let shift = 1;
    for (;;) {
      const b = message[i++];
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
  };
  while (i < message.length) {
    const tag = read();
    if ((tag & 7) === 0) fields.set(tag >>> 3, read());
    else if ((tag & 7) === 2) {
      const length = read(); // not `i += read()`: that adds to i's value before the read
      i += length;
    } else throw new Error(`etcd: unexpected wire type ${tag & 7}`);
  }
  return fields;
}

/** gRPC messages as they arrive on a stream, one at a time, in order. */
class Messages {
  private buffer = Buffer.alloc(0);
  private readonly waiting: Array<(m: Buffer) => void> = [];
  private readonly ready: Buffer[] = [];

  constructor(stream: ClientHttp2Stream) {
    stream.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 5 && this.buffer.length >= 5 + this.buffer.readUInt32BE(1)) {
        const message = this.buffer.subarray(5, 5 + this.buffer.readUInt32BE(1));
        this.buffer = this.buffer.subarray(5 + message.length);
        const next = this.waiting.shift();
        if (next) next(message);
        else this.ready.push(message);
      }
    });
  }

  next(): Promise<Buffer> {
    const message = this.ready.shift();
    return message ? Promise.resolve(message) : new Promise((r) => this.waiting.push(r));
  }
}

async function etcd(spec: HeartbeatSpec): Promise<HeartbeatResult> {
  const session = connect(spec.url);
  session.on('error', () => undefined);
  const open = (path: string) =>
    session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
  try {
    const streams = Array.from({ length: spec.connections }, () => {
      const stream = open('/etcdserverpb.Lease/LeaseKeepAlive');
      return { stream, messages: new Messages(stream) };
    });
    // LeaseGrant{TTL=1, ID=2}: ids 1..N, granted over the same number of concurrent callers.
    await Promise.all(
      streams.map(async (_, worker) => {
        for (let i = worker; i < spec.leases; i += spec.connections) {
          const call = open('/etcdserverpb.Lease/LeaseGrant');
          const messages = new Messages(call);
          call.end(frame(Buffer.concat([varintField(1, TTL_S), varintField(2, i + 1)])));
          const granted = varints(await messages.next());
          if (granted.get(2) !== i + 1) throw new Error(`etcd: LeaseGrant ${i + 1} gave ${granted.get(2)}`);
        }
      }),
    );
    let lost = 0;
    // LeaseKeepAliveRequest{ID=1} → LeaseKeepAliveResponse{ID=2, TTL=3}; TTL 0: the lease had expired.
    const result = await heartbeat(spec, async (i, worker) => {
      const { stream, messages } = streams[worker];
      stream.write(frame(varintField(1, i + 1)));
      const answer = varints(await messages.next());
      if ((answer.get(3) ?? 0) <= 0) {
        lost++;
        return 'TTL 0';
      }
      return answer.get(2) === i + 1 ? undefined : 'wrong lease';
    });
    streams.forEach(({ stream }) => stream.end());
    return { ...result, lost };
  } finally {
    session.close();
  }
}

if (require.main === module) {
  const spec = JSON.parse(process.argv[2]) as HeartbeatSpec;
  (spec.target === 'etcd' ? etcd(spec) : leasehold(spec))
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    })
    .catch((error) => {
      process.stderr.write(`${(error as Error).stack ?? error}\n`);
      process.exit(1);
    });
}
