import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { freePort, waitForReady } from '@leasehold/observability';

/** Shared by the benches: paths, child processes, one-off SQL (the lease bench, which has its own process helpers, uses the SQL). */
export const DIST = resolve(__dirname, '..'); // dist/bench → dist
export const ROOT = resolve(DIST, '..');

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
