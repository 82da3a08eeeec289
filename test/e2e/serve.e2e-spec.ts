// `npm start`'s `serve`: the processes it starts, and with which node flags.
import { existsSync, readFileSync } from 'node:fs';
import { WORKER_NODE_ARGS } from '../../libs/config/src';
import { ApiBuild, buildApi, ServeProcess, serviceClientAt, startServeProcess } from '../support/processes';
import { createIsolatedDatabase, removeQueue, uniqueQueuePrefix } from '../support/jobs';
import { uniqueShare } from '../support/service';

jest.setTimeout(240_000);

let database: { url: string; drop(): Promise<void> };
let prefix: string;
let build: ApiBuild;
let serve: ServeProcess;

beforeAll(async () => {
  database = await createIsolatedDatabase('serve');
  prefix = uniqueQueuePrefix('serve');
  build = await buildApi();
  serve = await startServeProcess(build, database.url, { QUEUE_PREFIX: prefix });
});

afterAll(async () => {
  await serve?.stop();
  await removeQueue(prefix);
  build?.remove();
  await database?.drop();
});

/** A process's command line: node, its flags, the entry point. */
const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

it('runs one API and one worker, the worker with its heap limit, serving the SDK, and stops both on SIGTERM', async () => {
  const children = serve.children();
  const lines = children.map(commandLine);
  const started = (entry: string) => lines.find((line) => line[line.length - 1].endsWith(entry));
  expect(lines).toHaveLength(2);
  expect(started('apps/api/src/main.js')?.slice(1, -1)).toEqual([]);
  expect(started('apps/worker/src/main.js')?.slice(1, -1)).toEqual([...WORKER_NODE_ARGS]);

  // The development account it made answers the SDK.
  const share = serviceClientAt(serve.apiUrl).getShareClient(uniqueShare('serve'));
  await share.create();
  const file = share.rootDirectoryClient.getFileClient('f');
  await file.create(0);
  const { leaseId } = await file.getShareLeaseClient().acquireLease();
  expect(leaseId).toMatch(/^[0-9a-f-]{36}$/);

  await serve.stop();
  // serve ends, successfully, only after both have exited (and have been reaped): nothing is left running.
  expect(await serve.exited).toBe(0);
  expect(children.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
});
