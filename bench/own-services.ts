// PostgreSQL and Redis instances of a test's or a bench's own: for tests that stop and restart
// them, and for the costs bench, which reads cluster-wide figures (WAL) that only a private
// cluster makes ours alone. The machine's shared instances are never touched.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@leasehold/observability';

export interface OwnService {
  url: string;
  /** The server process's pid (PostgreSQL's postmaster, the parent of its backends); undefined while stopped. */
  readonly pid: number | undefined;
  /** Stops it (SIGTERM, the instance's own pid) and waits until it is gone. */
  stop(): Promise<void>;
  /** Stops it as a crash would (PostgreSQL's immediate shutdown, Redis's SIGKILL): nothing is flushed. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data, and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  remove(): Promise<void>;
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `signal`: what stops it at once, closing its clients' connections (PostgreSQL's fast shutdown is SIGINT). */
function managed(
  spawnIt: () => ChildProcess,
  accepting: () => boolean,
  what: string,
  dir: string,
  url: string,
  signal: NodeJS.Signals,
  crashSignal: NodeJS.Signals,
): OwnService {
  let child: ChildProcess | undefined;
  const send = async (name: NodeJS.Signals) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((done) => child!.once('exit', done));
    child.kill(name);
    await gone;
  };
  const stop = () => send(signal);
  const start = async () => {
    child = spawnIt();
    await until(accepting, `${what} accepting connections`);
  };
  return {
    url,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    stop,
    crash: () => send(crashSignal),
    start,
    remove: async () => (await stop(), rmSync(dir, { recursive: true, force: true })),
  };
}

const canRun = (command: string, args: string[]) => {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/**
 * initdb into a temp directory as the postgres user, then `postgres` on a free port (trust auth,
 * fsync off); `settings` are more `-c name=value` server settings.
 */
export async function ownPostgres(settings: Record<string, string> = {}): Promise<OwnService> {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-pg-'));
  // PostgreSQL refuses to run as root: as root, run it as the postgres user.
  const user =
    process.getuid?.() === 0
      ? { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) }
      : {};
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid);
  execFileSync('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync'], {
    stdio: 'ignore',
    ...user,
  });
  const port = await freePort();
  const args = [
    '-D',
    join(dir, 'data'),
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
  const service = managed(
    () => spawn('postgres', args, { stdio: 'ignore', ...user }),
    () => canRun('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres']),
    'PostgreSQL',
    dir,
    `postgres://postgres@127.0.0.1:${port}`,
    'SIGINT',
    'SIGQUIT',
  );
  await service.start();
  return service;
}

/** redis-server on a free port, no persistence. */
export async function ownRedis(): Promise<OwnService> {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-redis-'));
  const port = await freePort();
  const service = managed(
    () =>
      spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      ),
    () => canRun('redis-cli', ['-p', String(port), 'ping']),
    'Redis',
    dir,
    `redis://127.0.0.1:${port}`,
    'SIGTERM',
    'SIGKILL',
  );
  await service.start();
  return service;
}
