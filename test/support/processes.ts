// Running the API as separate OS processes: what production runs, the compiled main.js.
import { ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { replaceTscAliasPaths } from 'tsc-alias';
import { AccountsService, DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY, KeyCipher } from '../../libs/accounts/src';
import { loadConfig, WORKER_NODE_ARGS } from '../../libs/config/src';
import { createDataSource, EventStore } from '../../libs/event-store/src';
import { freePort, waitForReady } from '../../libs/observability/src';

const ROOT = resolve(__dirname, '../..');

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

export interface ApiBuild {
  /** The compiled entry point, as `npm run build` lays it out (…/apps/api/src/main.js). */
  main: string;
  /** tsc's complaints, if any: shown when a process then fails to start. */
  diagnostics: string;
  /** Preloaded into every API process: exits when the test process that started it goes away. */
  preload: string;
  remove(): void;
}

/**
 * Compiles the API with the project's own build (tsc, tsconfig.build.json, then tsc-alias) into a private
 * directory. Why not `dist/`: on a clean clone it does not exist, when it exists it may be stale
 * (and tsc's incremental build info can survive a deleted output), and other people run
 * `npm run build` and the benchmark from it concurrently. A fresh build per run costs a few seconds
 * and always tests the sources as they are. Type errors do not stop the run (tsc emits anyway, and
 * `npm run build`/`npm run lint` are where they fail): a half-finished module elsewhere in the tree
 * must not hide a race in Lease File. They are reported if the API then fails to start.
 */
export async function buildApi(): Promise<ApiBuild> {
  const out = mkdtempSync(join(tmpdir(), 'leasehold-api-'));
  const remove = () => rmSync(out, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  const { code, output } = await run(process.execPath, [
    tsc,
    '-p',
    join(ROOT, 'tsconfig.build.json'),
    '--outDir',
    out,
    '--tsBuildInfoFile',
    join(out, '.tsbuildinfo'),
  ]);
  const main = join(out, 'apps/api/src/main.js');
  if (!existsSync(main)) {
    remove();
    throw new Error(`building the API failed (tsc exit ${code}):\n${output}`);
  }
  await replaceTscAliasPaths({ configFile: join(ROOT, 'tsconfig.build.json'), outDir: out });
  // The IPC channel closes when the parent dies, however it dies (even SIGKILL): no orphans. It
  // is unreferenced: it must not keep alive a process that would end by itself (serve, once its
  // API and worker have exited).
  const preload = join(out, 'exit-with-parent.js');
  writeFileSync(preload, `process.on('disconnect', () => process.exit(0));\nprocess.channel?.unref();\n`);
  return { main, preload, remove, diagnostics: code === 0 ? '' : output };
}

export interface ApiProcess extends Lifecycle {
  url: string;
}

/** Stopping and watching a child process: the same for the API and the worker. */
interface Lifecycle {
  pid: number;
  /** What the process printed, for failure messages. */
  output(): string;
  /** SIGTERM (graceful), SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
  /** kill -9, and wait until it is gone. */
  kill(): Promise<void>;
  /** False once the process has exited, however. */
  alive(): boolean;
}

/**
 * NODE_OPTIONS that preload a process clock `offsetMs` off the real one (Date and Date.now), for
 * showing that a process's own clock decides nothing that must be decided on the database's.
 */
export function skewedClock(build: ApiBuild, offsetMs: number): Record<string, string> {
  const preload = join(build.main, `../../../../skew-${offsetMs}.js`);
  writeFileSync(
    preload,
    `const Real = Date;
class Skewed extends Real {
  constructor(...args) { if (args.length === 0) super(Real.now() + ${offsetMs}); else super(...args); }
  static now() { return Real.now() + ${offsetMs}; }
}
globalThis.Date = Skewed;
`,
  );
  return { NODE_OPTIONS: `--require ${preload}` };
}

/** `nodeArgs` go to node, before the script; `args` to the script. */
function spawnService(
  build: ApiBuild,
  main: string,
  env: Record<string, string>,
  { nodeArgs = [], args = [] }: { nodeArgs?: readonly string[]; args?: string[] } = {},
) {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '-r', build.preload, main, ...args], {
    cwd: ROOT,
    // The build lives outside the repository: resolve packages from the repository's node_modules.
    env: { ...process.env, NODE_ENV: 'test', HOST: '127.0.0.1', NODE_PATH: join(ROOT, 'node_modules'), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((done) =>
    child.once('exit', (code, signal) => done(signal ?? code ?? 0)),
  );
  const signal = async (name: NodeJS.Signals, forceAfterMs: number) => {
    if (!alive()) return;
    const force = setTimeout(() => child.kill('SIGKILL'), forceAfterMs);
    child.kill(name);
    await exited;
    clearTimeout(force);
  };
  const alive = () => child.exitCode === null && child.signalCode === null;
  return { child, output: () => output, exited, signal, alive, kill: () => signal('SIGKILL', 0) };
}

/** Waits for `/_health/ready`; on failure stops the process and says what it printed. */
async function ready(
  build: ApiBuild,
  what: string,
  url: string,
  service: ReturnType<typeof spawnService>,
  probe?: string,
): Promise<void> {
  try {
    await waitForReady(url, service.child, 60_000, probe);
  } catch (error) {
    await service.signal('SIGKILL', 0);
    const tsc = build.diagnostics ? `\n(tsc reported errors when building it:\n${build.diagnostics})` : '';
    throw new Error(`${what} process ${service.child.pid} ${(error as Error).message}:\n${service.output()}${tsc}`);
  }
}

/**
 * Starts `node main.js` of the API on a free port against `databaseUrl` and waits until it is
 * ready (or, with `probe` '/_health/live', only until it answers: for a test of unreadiness).
 */
export async function startApiProcess(
  build: ApiBuild,
  databaseUrl: string,
  env: Record<string, string> = {},
  probe?: string,
): Promise<ApiProcess> {
  const port = await freePort();
  const service = spawnService(build, build.main, { DATABASE_URL: databaseUrl, PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  await ready(build, 'API', url, service, probe);
  const { output, exited, alive, kill } = service;
  return { url, pid: service.child.pid!, output, exited, alive, kill, stop: () => service.signal('SIGTERM', 5000) };
}

/** `serve` of the CLI, as `npm start` runs it once built: one API and one worker of its own. */
export interface ServeProcess extends Lifecycle {
  apiUrl: string;
  workerUrl: string;
  /** The processes it started. */
  children(): number[];
}

/** Starts the CLI's `serve` against `databaseUrl` (it migrates and makes the development account first) and waits for both its processes. */
export async function startServeProcess(
  build: ApiBuild,
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const [apiPort, workerPort] = [await freePort(), await freePort()];
  const cli = join(build.main, '../../../cli/main.js');
  const service = spawnService(
    build,
    cli,
    { DATABASE_URL: databaseUrl, PORT: String(apiPort), WORKER_PORT: String(workerPort), ...env },
    { args: ['serve'] },
  );
  const [apiUrl, workerUrl] = [`http://127.0.0.1:${apiPort}`, `http://127.0.0.1:${workerPort}`];
  await ready(build, 'serve (its API)', apiUrl, service);
  await ready(build, 'serve (its worker)', workerUrl, service);
  const pid = service.child.pid!;
  const { output, exited, alive, kill } = service;
  return {
    apiUrl,
    workerUrl,
    pid,
    children: () =>
      readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    output,
    exited,
    alive,
    kill,
    stop: () => service.signal('SIGTERM', 30_000),
  };
}

/** The development account, created the way the API's own start-up code does it. */
export async function ensureDevelopmentAccount(databaseUrl: string): Promise<void> {
  const dataSource = await createDataSource(databaseUrl, 1).initialize();
  try {
    await new AccountsService(
      new EventStore(dataSource),
      new KeyCipher(loadConfig({ NODE_ENV: 'test' }).encryptionKey),
    ).ensureDevelopmentAccount();
  } finally {
    await dataSource.destroy();
  }
}

/** An SDK client for an API at `url` (path style), first answers only. */
export function serviceClientAt(url: string): ShareServiceClient {
  return new ShareServiceClient(
    `${url}/${DEVELOPMENT_ACCOUNT}`,
    new StorageSharedKeyCredential(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY),
    {
      retryOptions: { maxTries: 1 },
    },
  );
}

/** stop(): SIGTERM (graceful: finishes the chunk in hand), SIGKILL after 10 s. */
export interface WorkerProcess extends Lifecycle {
  /** Its health and metrics endpoints. */
  url: string;
}

/** The worker's entry point in a build: beside the API's, as `npm run build` lays them out. */
export const workerMain = (build: ApiBuild): string => join(build.main, '../../../worker/src/main.js');

/**
 * Starts `node main.js` of the worker against `databaseUrl` with extra environment (QUEUE_PREFIX,
 * FORCE_CLOSE_CHUNK_SIZE, …) and waits until it is ready, i.e. consuming the queue.
 */
export async function startWorkerProcess(
  build: ApiBuild,
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const port = await freePort();
  // With the node flags every deployed worker runs with (npm start, compose, the benches).
  const service = spawnService(
    build,
    workerMain(build),
    { DATABASE_URL: databaseUrl, WORKER_PORT: String(port), ...env },
    { nodeArgs: WORKER_NODE_ARGS },
  );
  const url = `http://127.0.0.1:${port}`;
  await ready(build, 'worker', url, service);
  const { output, exited, alive, kill } = service;
  return { pid: service.child.pid!, url, output, exited, alive, kill, stop: () => service.signal('SIGTERM', 10_000) };
}
