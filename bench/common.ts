import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '@leasehold/accounts';
import { freePort, waitForReady } from '@leasehold/observability';
import { WORKER_NODE_ARGS } from '@leasehold/config';
import { sharedKeyStringsToSign } from '../libs/wire/src/auth/shared-key';
import { RowInput, withRatios } from './summary';

/** Shared by the benches: paths, child processes, one-off SQL (the lease bench, which has its own process helpers, uses the SQL). */
export const DIST = resolve(__dirname, '..'); // dist/bench → dist
export const ROOT = resolve(DIST, '..');

/**
 * What every bench gives the service's processes besides their database and ports: development
 * (the development account signs the requests), loopback, and JSON log lines as deployed:
 * development's pretty-printer, a worker thread fed through shared memory, took about 0.7 ms per
 * request (its thread and the hand-off on the main one) in a CPU profile of the audit bench's API.
 */
export const BENCH_SERVICE_ENV = { NODE_ENV: 'development', HOST: '127.0.0.1', LOG_FORMAT: 'json' };

/** Node options for the API process only (`BENCH_API_NODE_ARGS`), e.g. a CPU profile. */
export const API_NODE_ARGS = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Every child is ended by its own pid when the run ends, however it ends. */
export const children = new Set<ChildProcess>();

export function start(command: string, args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts a service entry point (under dist/), with `nodeArgs` before it, on a free port, given to
 * it in `portVariable` (PORT, WORKER_PORT), and resolves once its /_health/ready answers 200;
 * rejects with the end of its output if it exits or does not get ready.
 */
export async function startReady(
  entry: string,
  portVariable: string,
  extraEnv: Record<string, string>,
  what: string,
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = start(process.execPath, [...nodeArgs, resolve(DIST, entry)], {
    ...extraEnv,
    [portVariable]: String(port),
  });
  let text = '';
  const keep = (d: Buffer) => (text = (text + d.toString()).slice(-3000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForReady(url, child);
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}\n${text}`);
  }
  return { child, url };
}

/** The worker process, with the node flags `npm start` gives it. */
export async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  return (await startReady('apps/worker/src/main.js', 'WORKER_PORT', env, 'the worker', [...WORKER_NODE_ARGS])).child;
}

/** Runs a command to its end; resolves with its output, rejects on a non-zero exit. */
export function runToEnd(
  command: string,
  args: string[],
  extraEnv: Record<string, string> = {},
  onStart?: (child: ChildProcess) => void,
): Promise<string> {
  return new Promise((done, fail) => {
    const child = start(command, args, extraEnv);
    onStart?.(child);
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    child.stderr!.on('data', (d) => (text += d));
    child.on('error', fail);
    child.on('exit', (code, signal) =>
      code === 0
        ? done(text)
        : fail(new Error(`${command} ${args.join(' ')} exited (${signal ?? code}):\n${text.slice(-3000)}`)),
    );
  });
}

/** A database (or server) URL with another path: the same server, another database. */
export const withPath = (base: string, path: string) => {
  const url = new URL(base);
  url.pathname = path;
  return url.toString();
};

/** One statement on its own connection. */
export async function sql<T = any>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** An integer setting from the environment, within [min, max]; a bad value stops the run. */
export function envInteger(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

/**
 * The one way a bench reports a figure to `npm run bench` (bench/all.ts): a JSON line appended to
 * the file named by BENCH_ROWS, which the runner sets; a bench run on its own writes none.
 */
export function emitRow(row: RowInput): void {
  const file = process.env.BENCH_ROWS;
  if (file) appendFileSync(file, `${JSON.stringify(withRatios(row))}\n`);
}

/** A process's peak resident set so far (VmHWM), MiB; undefined once it is gone. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/**
 * Opens a peak-RSS window on a process: restarts its VmHWM from its current RSS (Linux
 * `clear_refs` 5) and returns a reader of the peak since (MiB), so that a figure is the peak of
 * what ran in between, not of the process's whole life. The reader gives undefined when the
 * kernel refused the restart or the process is gone.
 */
export function peakRssWindow(pid: number): () => number | undefined {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    return () => undefined;
  }
  return () => peakRssMiB(pid);
}

/** Which service code ran, as a sentence: the commit, and whether the service's sources differed from it. */
export function serviceCode(root: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'apps', 'libs', 'migrations'], { cwd: root })
        .toString()
        .trim() !== '';
    return `Service code: ${commit}${dirty ? ' plus uncommitted changes in apps/, libs/ or migrations/' : ''}.`;
  } catch {
    return 'Service code: not a git checkout.';
  }
}

/**
 * One request signed with the development account's Shared Key, for what the SDK has no call for
 * (Leasehold's force-close jobs); the body is read whole.
 */
export function signedRequest(
  agent: Agent,
  apiUrl: string,
  method: string,
  path: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, any>; body: string }> {
  const all: Record<string, string> = {
    'x-ms-date': new Date().toUTCString(),
    'x-ms-version': '2026-04-06',
    'x-ms-client-request-id': randomUUID(),
    ...(method === 'PUT' ? { 'content-length': '0' } : {}),
    ...headers,
  };
  const [stringToSign] = sharedKeyStringsToSign(
    { method, rawPath: path, rawQuery: query, headers: all },
    DEVELOPMENT_ACCOUNT,
  );
  all['authorization'] =
    `SharedKey ${DEVELOPMENT_ACCOUNT}:${createHmac('sha256', Buffer.from(DEVELOPMENT_KEY, 'base64')).update(stringToSign, 'utf8').digest('base64')}`;
  const url = new URL(apiUrl);
  return new Promise((done, fail) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path: `${path}?${query}`, headers: all, agent },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end();
  });
}

/**
 * Keeps the audit projector (which runs in the worker process) on standby until `release`: it
 * projects only while it holds its advisory lock, `projection:audit`, so that one worker leads.
 */
export async function holdAuditProjector(databaseUrl: string): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`SELECT pg_advisory_lock(hashtext('projection:audit'))`);
  return { release: () => client.end() };
}
