// PostgreSQL and Redis of a test's own, on free ports: fault tests stop and restart them without
// touching the machine's shared instances. Only processes started here are ever stopped, by pid.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_BIN = process.env.LEASEHOLD_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command as the postgres OS user (PostgreSQL refuses to run as root). */
async function asPostgres(command: string, args: string[]): Promise<string> {
  const asRoot = process.getuid?.() === 0;
  const { stdout } = asRoot
    ? await run('runuser', ['-u', 'postgres', '--', command, ...args])
    : await run(command, args);
  return stdout;
}

export interface OwnPostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:{port}/{database} */
  url(database: string): string;
  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash. */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Stops for good and removes the data directory. */
  remove(): Promise<void>;
}

/** initdb into a temporary directory (owned by postgres), then starts it on a free port with trust authentication. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  chmodSync(dir, 0o700);
  await asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const pgctl = (...args: string[]) => asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, ...args]);
  const start = async () => {
    await pgctl('start', '-w', '-t', '60', '-l', join(dir, 'log'), '-o', options);
  };
  await start();
  return {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    crash: async () => {
      await pgctl('stop', '-m', 'immediate', '-w');
    },
    start,
    remove: async () => {
      await pgctl('stop', '-m', 'immediate', '-w').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface OwnRedis {
  port: number;
  url: string;
  /** SIGKILL of the server: connections drop, nothing is saved. */
  crash(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

/** redis-server on a free port, no persistence; a restart comes back empty, as after a crash without AOF. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((ready, fail) => {
      const server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = server;
      let output = '';
      server.stdout.on('data', (chunk) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) ready();
      });
      server.once('exit', (code) => fail(new Error(`redis-server exited (${code}):\n${output}`)));
    });
  const crash = async () => {
    const server = child;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    await new Promise<void>((done) => {
      server.once('exit', () => done());
      server.kill('SIGKILL');
    });
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, crash, start, remove: crash };
}
