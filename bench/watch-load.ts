import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { SseParser } from '../apps/cli/sse';
import { sql } from './common';
import { azureRequest, SERVICE_VERSION, sign, Signer } from './lease/azure';
import { LatencySummary, summarize } from './lease/load';

/**
 * The load process of `npm run bench:watch`: opens `watchers` Server-Sent Events watches (watcher
 * i on file i mod `files`), then changes leases at `rate` per second (acquire and release in turn,
 * round-robin over the files) and measures, for every event a watcher receives, the time from the
 * event's recorded_at (the insert, just before its commit) to its arrival here. It also samples the
 * API process's CPU and RSS over the measured window. Prints one JSON line.
 *
 * Usage: node watch-load.js '<WatchLoadSpec as JSON>'
 */

export interface WatchLoadSpec {
  url: string;
  account: string;
  keyBase64: string;
  share: string;
  files: number;
  watchers: number;
  /** Lease changes per second. */
  rate: number;
  /** Lease changes in flight at most. */
  inFlight: number;
  /** Lease changes with no watcher open, first: the rate this machine commits them at right now. */
  baselineMs: number;
  warmupMs: number;
  durationMs: number;
  apiPid: number;
  /** The service's database: the load waits for every delivery the log says is due. */
  databaseUrl: string;
}

/** The lease changes the log holds for a window [start, end) (epoch ms). */
export async function windowEvents(databaseUrl: string, start: number, end: number): Promise<number> {
  const [{ events }] = await sql(
    databaseUrl,
    `SELECT count(*)::int AS events FROM events WHERE type IN ('LeaseAcquired', 'LeaseReleased')
       AND recorded_at >= to_timestamp($1 / 1000.0) AND recorded_at < to_timestamp($2 / 1000.0)`,
    [start, end],
  );
  return events;
}

export interface WatchLoadResult {
  watchers: number;
  connectSeconds: number;
  /** Changes committed per second with nobody watching (same rate asked, same files). */
  baselineRate: number;
  changesAsked: number;
  changesMade: number;
  failedChanges: Record<string, number>;
  /** The measured window (epoch ms): events recorded inside it count. */
  windowStart: number;
  windowEnd: number;
  /** Deliveries of events recorded inside the window. */
  delivered: number;
  duplicates: number;
  resumes: number;
  latency: LatencySummary;
  latencyAfterAnswer: LatencySummary;
  apiCpuPercent: number;
  apiRssMiB: { start: number; end: number; max: number };
  loadCpuPercent: number;
}

const CLK_TCK = 100;
const ticks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runWatchLoad(spec: WatchLoadSpec): Promise<WatchLoadResult> {
  const base = new URL(spec.url);
  const signer: Signer = { account: spec.account, key: Buffer.from(spec.keyBase64, 'base64') };
  const streamAgent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const writeAgent = new Agent({ keepAlive: true, maxSockets: spec.inFlight });
  const fileOf = (i: number) => `/${spec.account}/${spec.share}/f${i % spec.files}`;

  let measuring = false;
  // Nothing counts until the warm-up ends and the window opens.
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  /**
   * From the writer's answer (the commit acknowledged) to the watcher's receipt, matched by file,
   * lease id and event type; negative when the watcher had the change before the writer had its answer.
   */
  const afterAnswer: number[] = [];
  const answered = new Map<string, number>();
  const received = new Map<string, number>();
  const acknowledged = (key: string, at: number) => {
    const got = received.get(key);
    if (got === undefined) answered.set(key, at);
    else {
      received.delete(key);
      afterAnswer.push(got - at);
    }
  };
  const arrived = (key: string, at: number) => {
    const answer = answered.get(key);
    if (answer === undefined) received.set(key, at);
    else {
      answered.delete(key);
      afterAnswer.push(at - answer);
    }
  };
  let delivered = 0;
  let duplicates = 0;
  let resumes = 0;
  const seen = new Map<number, Set<string>>(); // watcher → cursors seen in the window (duplicate check)

  // ---- lease changes ----
  const leases = new Map<number, string>(); // file → lease id held
  const failed: Record<string, number> = {};
  let asked = 0;
  let made = 0;
  let inFlight = 0;
  let next = 0;
  const change = async (file: number) => {
    const path = `/${spec.account}/${spec.share}/f${file}`;
    const held = leases.get(file);
    const headers: Record<string, string> = held
      ? { 'x-ms-lease-action': 'release', 'x-ms-lease-id': held }
      : { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '-1', 'x-ms-proposed-lease-id': randomUUID() };
    const res = await azureRequest(base, writeAgent, signer, 'PUT', path, { comp: 'lease' }, headers);
    if (res.status === 201 || res.status === 200) {
      // A release carries its acquire's lease id: the type keeps the two apart.
      acknowledged(
        `f${file} ${held ?? headers['x-ms-proposed-lease-id']} ${held ? 'LeaseReleased' : 'LeaseAcquired'}`,
        Date.now(),
      );
      if (held) leases.delete(file);
      else leases.set(file, headers['x-ms-proposed-lease-id']);
      return true;
    }
    failed[`${res.status} ${res.errorCode ?? ''}`] = (failed[`${res.status} ${res.errorCode ?? ''}`] ?? 0) + 1;
    return false;
  };
  const busy = new Set<number>(); // a file with a change in flight is skipped, so its acquire/release alternate
  const intervalMs = 1000 / spec.rate;
  /** Changes leases at the asked rate until `end`, calling `tick` on each turn; then lets those in flight finish. */
  const drive = async (end: number, tick: (now: number) => void = () => undefined) => {
    let due = Date.now();
    while (Date.now() < end) {
      const now = Date.now();
      tick(now);
      if (now < due || inFlight >= spec.inFlight) {
        await sleep(Math.max(1, Math.min(due - now, 5)));
        continue;
      }
      due += intervalMs;
      let file = next++ % spec.files;
      for (let tries = 0; busy.has(file) && tries < spec.files; tries++) file = next++ % spec.files;
      if (busy.has(file)) continue;
      busy.add(file);
      asked++;
      inFlight++;
      change(file)
        .then((ok) => ok && made++)
        .catch((error) => (failed[(error as Error).message] = (failed[(error as Error).message] ?? 0) + 1))
        .finally(() => {
          busy.delete(file);
          inFlight--;
        });
    }
  };
  const settle = async () => {
    while (inFlight > 0) await sleep(5);
  };

  // ---- the same changes with nobody watching: what this machine commits right now ----
  await drive(Date.now() + spec.baselineMs);
  await settle();
  const baselineRate = made / (spec.baselineMs / 1000);
  made = 0;
  asked = 0;

  // ---- watchers ----
  const connectStart = Date.now();
  const opened: Array<Promise<void>> = [];
  for (let w = 0; w < spec.watchers; w++) {
    const path = fileOf(w);
    const query = { comp: 'watch' };
    const headers: Record<string, string> = {
      'x-ms-date': new Date().toUTCString(),
      'x-ms-version': SERVICE_VERSION,
      accept: 'text/event-stream',
    };
    headers['authorization'] = `SharedKey ${signer.account}:${sign(signer, 'GET', path, query, headers)}`;
    opened.push(
      new Promise<void>((resolve, reject) => {
        const req = request(
          { host: base.hostname, port: base.port, path: `${path}?comp=watch`, headers, agent: streamAgent },
          (res) => {
            if (res.statusCode !== 200)
              return reject(new Error(`watch ${path}: ${res.statusCode} ${String(res.headers['x-ms-error-code'])}`));
            res.setEncoding('utf8');
            const parser = new SseParser();
            let first = true;
            res.on('data', (chunk: string) => {
              const now = Date.now();
              for (const block of parser.feed(chunk)) {
                if (first) {
                  first = false; // the stream's opening block: the watch is in place
                  resolve();
                  continue;
                }
                if (block.event === 'resume') resumes++;
                if (block.data === undefined || block.event !== undefined) continue;
                const event = JSON.parse(block.data) as {
                  cursor: string;
                  type: string;
                  time: string;
                  path: string;
                  leaseId: string;
                };
                const at = Date.parse(event.time);
                if (at < windowStart || at >= windowEnd) continue;
                let mine = seen.get(w);
                if (!mine) seen.set(w, (mine = new Set()));
                if (mine.has(event.cursor)) duplicates++;
                mine.add(event.cursor);
                delivered++;
                latencies.push(now - at);
                arrived(`${event.path} ${event.leaseId} ${event.type}`, now);
              }
            });
          },
        );
        req.on('error', reject);
        req.end();
      }),
    );
    // Open in waves so the API's accept queue is not the thing measured.
    if (w % 200 === 199) await Promise.all(opened.slice(w - 199));
  }
  await Promise.all(opened);
  const connectSeconds = (Date.now() - connectStart) / 1000;

  const started = Date.now();
  let sample: { ticks: number; self: NodeJS.CpuUsage; at: number } | undefined;
  const rss: number[] = [];
  const rssTimer = setInterval(() => measuring && rss.push(rssMiB(spec.apiPid)), 250);
  await drive(started + spec.warmupMs + spec.durationMs, (now) => {
    if (!measuring && now >= started + spec.warmupMs) {
      measuring = true;
      windowStart = now;
      sample = { ticks: ticks(spec.apiPid), self: process.cpuUsage(), at: now };
      rss.push(rssMiB(spec.apiPid));
    }
  });
  windowEnd = Date.now();
  const apiTicks = ticks(spec.apiPid) - sample!.ticks;
  const self = process.cpuUsage(sample!.self);
  const windowMs = windowEnd - sample!.at;
  rss.push(rssMiB(spec.apiPid));
  clearInterval(rssTimer);
  await settle();
  // Deliveries still on their way: until every one the log says is due has come (at most 30 s). A
  // transaction held open in the database can hold them all back for a while.
  const due = (await windowEvents(spec.databaseUrl, windowStart, windowEnd)) * (spec.watchers / spec.files);
  for (let i = 0; i < 300 && delivered < due; i++) await sleep(100);

  streamAgent.destroy();
  writeAgent.destroy();
  return {
    watchers: spec.watchers,
    connectSeconds,
    baselineRate,
    changesAsked: asked,
    changesMade: made,
    failedChanges: failed,
    windowStart,
    windowEnd,
    delivered,
    duplicates,
    resumes,
    latency: summarize(latencies),
    latencyAfterAnswer: summarize(afterAnswer),
    apiCpuPercent: (100 * apiTicks) / CLK_TCK / (windowMs / 1000),
    apiRssMiB: { start: rss[0], end: rss[rss.length - 1], max: Math.max(...rss) },
    loadCpuPercent: (100 * (self.user + self.system)) / 1e6 / (windowMs / 1000),
  };
}

if (require.main === module) {
  const spec = JSON.parse(process.argv[2] ?? '') as WatchLoadSpec;
  runWatchLoad(spec)
    .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((error) => {
      process.stderr.write(`watch-load: ${(error as Error).stack ?? error}\n`);
      process.exit(1);
    });
}
