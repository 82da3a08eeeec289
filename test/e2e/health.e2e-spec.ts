// Readiness across dependency outages, with a PostgreSQL and a Redis of the test's own.
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { migrateDatabase } from '../../libs/event-store/src/database';
import { RestError, ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { Client } from 'pg';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import {
  ApiBuild,
  ApiProcess,
  buildApi,
  ensureDevelopmentAccount,
  startApiProcess,
  startWorkerProcess,
  WorkerProcess,
} from '../support/processes';
import { OwnService, ownPostgres, ownRedis } from '../../bench/own-services';

jest.setTimeout(240_000);

interface Health {
  status: number;
  body: {
    status: string;
    details: Record<string, { status: string; degraded?: boolean; message?: string; pending?: string[] }>;
  };
}

async function health(url: string, probe = 'ready'): Promise<Health> {
  const response = await fetch(`${url}/_health/${probe}`);
  return { status: response.status, body: (await response.json()) as Health['body'] };
}

/** Polls the probe until `expected` holds (a readiness change is observed, not slept for). */
async function until(url: string, expected: (h: Health) => boolean, timeoutMs = 30_000): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  let last: Health | undefined;
  while (Date.now() < deadline) {
    last = await health(url).catch(() => undefined);
    if (last && expected(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`readiness of ${url} did not change as expected; last: ${JSON.stringify(last)}`);
}

/** The API's output from `from` on, once `pattern` is in it (the pipe delivers it a little after the answers). */
async function outputAfter(from: number, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = api.output().slice(from);
    if (pattern.test(text) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let build: ApiBuild;
let pg: OwnService;
let redis: OwnService;
let api: ApiProcess;
let worker: WorkerProcess;
let databaseUrl: string;

beforeAll(async () => {
  [build, pg, redis] = await Promise.all([buildApi(), ownPostgres(), ownRedis()]);
  databaseUrl = `${pg.url}/leasehold`;
  await migrateDatabase(databaseUrl);
  const env = { REDIS_URL: redis.url, QUEUE_PREFIX: 'health' };
  [api, worker] = await Promise.all([
    startApiProcess(build, databaseUrl, env),
    startWorkerProcess(build, databaseUrl, env),
  ]);
});

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  await Promise.all([pg?.remove(), redis?.remove()]);
  build?.remove();
});

test('live and ready when every dependency is there', async () => {
  expect(await health(api.url, 'live')).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok' }) });
  const ready = await health(api.url);
  expect(ready.status).toBe(200);
  expect(ready.body.details).toEqual({
    postgres: { status: 'up' },
    migrations: { status: 'up', applied: migrations.length },
    redis: { status: 'up' },
  });
  const workerReady = await health(worker.url);
  expect(workerReady.status).toBe(200);
  expect(Object.keys(workerReady.body.details).sort()).toEqual(['migrations', 'postgres', 'queue']);
});

test('without Redis the API is degraded but ready, the worker is not ready; both recover', async () => {
  await redis.stop();
  const degraded = await until(api.url, (h) => h.body.details.redis?.degraded === true);
  expect(degraded.status).toBe(200);
  const down = await until(worker.url, (h) => h.status === 503);
  expect(down.body.details.queue.status).toBe('down');
  await redis.start();
  await until(worker.url, (h) => h.status === 200);
  const back = await until(api.url, (h) => h.body.details.redis?.degraded === undefined);
  expect(back.body.details.redis).toEqual({ status: 'up' });
});

test('without PostgreSQL neither is ready; both recover by themselves', async () => {
  await pg.stop();
  for (const url of [api.url, worker.url]) {
    const down = await until(url, (h) => h.status === 503);
    expect(down.body.details.postgres.status).toBe('down');
  }
  expect((await health(api.url, 'live')).status).toBe(200);
  await pg.start();
  for (const url of [api.url, worker.url]) await until(url, (h) => h.status === 200);
});

test('a process started on an old schema says which migrations are missing and is not ready', async () => {
  const oldUrl = `${pg.url}/leasehold_old`;
  const admin = new DataSource({ type: 'postgres', url: `${pg.url}/postgres` });
  await admin.initialize();
  await admin.query('CREATE DATABASE leasehold_old');
  await admin.destroy();
  const old = new DataSource({
    type: 'postgres',
    url: oldUrl,
    migrations: migrations.slice(0, -1),
    migrationsTableName: 'schema_migrations',
  });
  await old.initialize();
  await old.runMigrations({ transaction: 'each' });
  await old.destroy();
  const stale = await startApiProcess(build, oldUrl, { REDIS_URL: redis.url, QUEUE_PREFIX: 'health' }, '/_health/live');
  try {
    const ready = await health(stale.url);
    expect(ready.status).toBe(503);
    const last = migrations[migrations.length - 1];
    expect(ready.body.details.migrations).toEqual({
      status: 'down',
      message: expect.stringContaining('npm run migrate'),
      pending: [new last().name ?? last.name],
    });
    await migrateDatabase(oldUrl);
    await until(stale.url, (h) => h.status === 200);
  } finally {
    await stale.stop();
  }
});

test('answers 503 ServerBusy while its database is dropped, and serves again once it is back', async () => {
  await ensureDevelopmentAccount(databaseUrl);
  const service = new ShareServiceClient(
    `${api.url}/${DEVELOPMENT_ACCOUNT}`,
    new StorageSharedKeyCredential(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY),
    { retryOptions: { maxTries: 1 } },
  );
  await service.getShareClient('before').create();
  const logged = api.output().length;
  const admin = new Client({ connectionString: `${pg.url}/postgres` });
  await admin.connect();
  try {
    await admin.query('DROP DATABASE leasehold WITH (FORCE)');
  } finally {
    await admin.end();
  }
  const refused = await service
    .getShareClient('meanwhile')
    .create()
    .then(
      () => undefined,
      (error: RestError) => error,
    );
  expect([refused?.statusCode, refused?.details]).toEqual([503, expect.objectContaining({ errorCode: 'ServerBusy' })]);
  expect((await until(api.url, (h) => h.status === 503)).body.details.postgres.status).toBe('down');
  // One line for the incident, not an error with its stack per request. The refused request's
  // access line comes last: once it is in, so is the rest.
  const incident = await outputAfter(logged, /"status":503/);
  expect(incident.match(/PostgreSQL unavailable/g)).toHaveLength(1);
  expect(incident).not.toMatch(/failed \(request/);
  await migrateDatabase(databaseUrl);
  await ensureDevelopmentAccount(databaseUrl);
  await until(api.url, (h) => h.status === 200);
  expect((await service.getShareClient('after').create())._response.status).toBe(201);
});
