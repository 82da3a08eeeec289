// The leasehold CLI end to end, against a started API and worker.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import {
  ApiBuild,
  ApiProcess,
  buildApi,
  ensureDevelopmentAccount,
  serviceClientAt,
  startApiProcess,
  startWorkerProcess,
  WorkerProcess,
} from '../support/processes';
import {
  closeAgent,
  createIsolatedDatabase,
  openHandle,
  removeQueue,
  seedHandlesSql,
  uniqueQueuePrefix,
} from '../support/jobs';
import { uniqueShare } from '../support/service';

jest.setTimeout(240_000);

let database: { url: string; drop(): Promise<void> };
let prefix: string;
let build: ApiBuild;
let api: ApiProcess;
let worker: WorkerProcess;
let db: Pool;

beforeAll(async () => {
  database = await createIsolatedDatabase('cli');
  prefix = uniqueQueuePrefix('cli');
  build = await buildApi();
  await ensureDevelopmentAccount(database.url);
  [api, worker] = await Promise.all([
    startApiProcess(build, database.url, { QUEUE_PREFIX: prefix }),
    startWorkerProcess(build, database.url, { QUEUE_PREFIX: prefix, FORCE_CLOSE_CHUNK_SIZE: '10' }),
  ]);
  db = new Pool({ connectionString: database.url, max: 2 });
});

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  closeAgent();
  await db?.end();
  await removeQueue(prefix);
  build?.remove();
  await database?.drop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const cliMain = () => join(build.main, '../../../cli/main.js');

/** The environment a person runs `leasehold` with: the connection string of the started API. */
function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${DEVELOPMENT_ACCOUNT};AccountKey=${DEVELOPMENT_KEY};FileEndpoint=${api.url}/${DEVELOPMENT_ACCOUNT};`;
  return {
    ...process.env,
    NODE_PATH: join(__dirname, '../../node_modules'),
    DATABASE_URL: database.url,
    LEASEHOLD_CONNECTION_STRING: connectionString,
    NODE_ENV: 'test',
    ...env,
  };
}

/** `leasehold …` as a person runs it: the compiled CLI, the connection string in the environment. */
function leasehold(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [cliMain(), ...args], { env: cliEnv(env) }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A `leasehold …` that keeps running (watch, leases wait): its output so far, awaited line by line. */
class Running {
  readonly child: ChildProcess;
  readonly out = { stdout: '', stderr: '' };
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [cliMain(), ...args], { env: cliEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    for (const name of ['stdout', 'stderr'] as const)
      this.child[name]!.setEncoding('utf8').on('data', (chunk: string) => {
        this.out[name] += chunk;
        for (const wake of this.waiters) wake();
      });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Waits until the output matches (or the process ends first, which fails). */
  async until(name: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> {
    for (;;) {
      const found = pattern.exec(this.out[name]);
      if (found) return found;
      if (this.child.exitCode !== null)
        throw new Error(`exited ${this.child.exitCode} before ${name} matched ${pattern}: ${JSON.stringify(this.out)}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
        this.child.once('exit', wake);
      });
    }
  }

  stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

async function newFile(): Promise<{ share: string; path: string }> {
  const share = uniqueShare('cli');
  const client = serviceClientAt(api.url).getShareClient(share);
  await client.create();
  await client.rootDirectoryClient.getFileClient('f.txt').create(1);
  return { share, path: `${share}/f.txt` };
}

test('--help on every command', async () => {
  const top = await leasehold(['--help']);
  expect(top.code).toBe(0);
  for (const command of ['leases', 'handles', 'jobs', 'audit', 'watch', 'accounts', 'projections'])
    expect(top.stdout).toContain(command);
  for (const command of [
    ['leases', 'acquire'],
    ['leases', 'wait'],
    ['watch'],
    ['handles', 'close'],
    ['jobs', 'watch'],
    ['audit', 'query'],
  ]) {
    const help = await leasehold([...command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`leasehold ${command.join(' ')}`);
  }
});

test('leases: acquire, show, refuse a second holder in one line with the Azure code, change, break, release', async () => {
  const { path } = await newFile();
  const id1 = '11111111-1111-1111-1111-111111111111';
  const id2 = '22222222-2222-2222-2222-222222222222';
  const acquired = await leasehold(['leases', 'acquire', path, '--lease-id', id1]);
  expect(acquired).toMatchObject({
    code: 0,
    stdout: expect.stringMatching(new RegExp(`leaseId\\s+${id1}\\nepoch\\s+1`)),
  });
  expect((await leasehold(['leases', 'show', path, '--json'])).stdout).toContain('"state": "leased"');
  const refused = await leasehold(['leases', 'acquire', path, '--lease-id', id2]);
  expect(refused.code).toBe(1);
  expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^leasehold: 409 LeaseAlreadyPresent: /)]);
  expect((await leasehold(['leases', 'change', path, '--lease-id', id1, '--to', id2])).stdout).toMatch(
    new RegExp(`leaseId\\s+${id2}`),
  );
  expect((await leasehold(['leases', 'break', path])).code).toBe(0);
  expect(JSON.parse((await leasehold(['leases', 'show', path, '--json'])).stdout)).toMatchObject({ state: 'broken' });
  expect((await leasehold(['leases', 'release', path, '--lease-id', id2])).code).toBe(0);
  expect(JSON.parse((await leasehold(['leases', 'show', path, '--json'])).stdout)).toMatchObject({
    state: 'available',
  });
});

test('watch prints the lease changes made by the SDK as they commit, one line each, or NDJSON', async () => {
  const { share, path } = await newFile();
  const file = serviceClientAt(api.url).getShareClient(share).rootDirectoryClient.getFileClient('f.txt');
  const lines = new Running(['watch', path]);
  const json = new Running(['watch', share, '--type', 'LeaseAcquired', '--json']);
  try {
    await lines.until('stderr', /^watching /m);
    await json.until('stderr', /^watching /m);
    const lease = await file.getShareLeaseClient().acquireLease();
    const [line] = await lines.until('stdout', /^.*LeaseAcquired.*$/m);
    expect(line).toMatch(
      new RegExp(`^\\S+Z  LeaseAcquired  ${path}  leaseId=${lease.leaseId}  epoch=1  by=${DEVELOPMENT_ACCOUNT}$`),
    );
    const [record] = await json.until('stdout', /^\{.*\}$/m);
    expect(JSON.parse(record)).toMatchObject({
      type: 'LeaseAcquired',
      share,
      path: 'f.txt',
      leaseId: lease.leaseId,
      cursor: expect.any(String),
    });
    await file.getShareLeaseClient(lease.leaseId).releaseLease();
    await lines.until('stdout', /LeaseReleased/);
  } finally {
    await Promise.all([lines.stop(), json.stop()]);
  }
});

test('leases wait: at once when the lease is free; else returns after another client’s release, not before', async () => {
  const { share, path } = await newFile();
  const file = serviceClientAt(api.url).getShareClient(share).rootDirectoryClient.getFileClient('f.txt');
  expect(await leasehold(['leases', 'wait', path])).toMatchObject({
    code: 0,
    stdout: expect.stringMatching(/state\s+available/),
  });

  const lease = await file.getShareLeaseClient().acquireLease();
  const wait = new Running(['leases', 'wait', path]);
  try {
    await wait.until('stderr', new RegExp(`^waiting: ${path} is leased$`, 'm'));
    // A change that leaves the lease held (and is not one the wait asks for) does not end it.
    const changed = await file.getShareLeaseClient(lease.leaseId).changeLease('44444444-4444-4444-4444-444444444444');
    expect(wait.child.exitCode).toBeNull();
    await file.getShareLeaseClient(changed.leaseId).releaseLease();
    expect(await wait.exited).toBe(0);
    expect(wait.out.stdout).toMatch(/^path\s+\S+\nstate\s+available\nepoch\s+2\nafter\s+LeaseReleased\n$/);
  } finally {
    if (wait.child.exitCode === null) await wait.stop();
  }
});

test('handles: list as a table and as JSON, close recursively', async () => {
  const share = uniqueShare('clih');
  const client = serviceClientAt(api.url).getShareClient(share);
  await client.create();
  await client.getDirectoryClient('d').create();
  const ids = [
    await openHandle(api.url, { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY }, share, 'd'),
    await openHandle(api.url, { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY }, share, ''),
  ];
  const table = await leasehold(['handles', 'list', share, '--recursive']);
  expect(table.code).toBe(0);
  for (const id of ids) expect(table.stdout).toContain(id);
  const json = JSON.parse((await leasehold(['handles', 'list', `${share}/d`, '--json'])).stdout);
  expect(json.map((h: { handleId: string }) => h.handleId)).toEqual([ids[0]]);
  const closed = await leasehold(['handles', 'close', share, '--recursive']);
  expect(closed.stdout).toMatch(/closed\s+2\nfailed\s+0/);
  expect((await leasehold(['handles', 'list', share, '--recursive'])).stdout.trim()).toBe('(none)');
});

test('jobs: submit --watch follows a job to its end; list, show; cancel of an ended job is one line', async () => {
  const share = uniqueShare('clij');
  const client = serviceClientAt(api.url).getShareClient(share);
  await client.create();
  for (const d of ['a', 'b']) await client.getDirectoryClient(d).create();
  await seedHandlesSql(db, DEVELOPMENT_ACCOUNT, share, ['a', 'b'], 25);
  const watched = await leasehold(['jobs', 'submit', share, '--recursive', '--watch']);
  expect(watched.code).toBe(0);
  const jobId = /job (\S+) queued/.exec(watched.stdout)![1];
  expect(watched.stdout).toContain(`job ${jobId} completed: 50 handle(s) closed, 5 chunk(s)`);
  // The progress bar (not a terminal here: one line a second, and the last one).
  expect(watched.stderr).toMatch(/\| 50\/50 handles \| \d+ handles\/s \| ETA 0s \| completed/);
  const listed = JSON.parse((await leasehold(['jobs', 'list', '--json'])).stdout);
  expect(listed.find((j: { jobId: string }) => j.jobId === jobId)).toMatchObject({
    state: 'completed',
    handlesClosed: 50,
  });
  expect((await leasehold(['jobs', 'show', jobId])).stdout).toMatch(/state\s+completed/);
  expect((await leasehold(['jobs', 'list'])).stdout).toContain(jobId);
  const cancel = await leasehold(['jobs', 'cancel', jobId]);
  expect(cancel.code).toBe(1);
  expect(cancel.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^leasehold: 409 \w+: /)]);
  expect((await leasehold(['jobs', 'watch', jobId])).stdout).toContain(`job ${jobId} completed`);
});

test('audit: lease history and a query as tables and JSON, once the projector has caught up', async () => {
  const { share, path } = await newFile();
  const id = '33333333-3333-3333-3333-333333333333';
  await leasehold(['leases', 'acquire', path, '--lease-id', id]);
  await leasehold(['leases', 'release', path, '--lease-id', id]);
  // The audit read model trails the log: ask until the worker's projector has applied the release.
  let history: Run = await leasehold(['audit', 'history', path, '--json']);
  for (let i = 0; i < 200 && !history.stdout.includes('released'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    history = await leasehold(['audit', 'history', path, '--json']);
  }
  expect(JSON.parse(history.stdout).map((e: { action: string }) => e.action)).toEqual(['acquired', 'released']);
  const table = await leasehold(['audit', 'history', path]);
  expect(table.stdout).toContain(id);
  const query = JSON.parse(
    (await leasehold(['audit', 'query', share, '--recursive', '--type', 'LeaseAcquired', '--json'])).stdout,
  );
  expect(query.events).toEqual([expect.objectContaining({ type: 'LeaseAcquired', leaseId: id })]);
  expect((await leasehold(['audit', 'query', share, '--recursive', '--order', 'asc'])).stdout).toMatch(
    /LeaseAcquired[\s\S]*LeaseReleased/,
  );
});

test('operator commands as before, and errors in one line', async () => {
  const accounts = await leasehold(['accounts', 'list']);
  expect(accounts.code).toBe(0);
  expect(JSON.parse(accounts.stdout).map((a: { name: string }) => a.name)).toContain(DEVELOPMENT_ACCOUNT);
  const missing = await leasehold(['jobs', 'list'], {
    LEASEHOLD_CONNECTION_STRING: undefined,
    AZURE_STORAGE_CONNECTION_STRING: undefined,
  });
  expect(missing.code).toBe(1);
  expect(missing.stderr.trim().split('\n')).toEqual([
    expect.stringMatching(/^leasehold: set LEASEHOLD_CONNECTION_STRING/),
  ]);
  const notFound = await leasehold(['jobs', 'show', '00000000-0000-4000-8000-000000000000']);
  expect(notFound.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^leasehold: 404 \w+/)]);
});
