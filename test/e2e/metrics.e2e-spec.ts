// /_metrics moves with the operations that drive it; the Grafana dashboard uses only exported names.
import { RestError } from '@azure/storage-file-share';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { ApiBuild, buildApi, startWorkerProcess, WorkerProcess } from '../support/processes';
import {
  closeAgent,
  createIsolatedDatabase,
  isEnded,
  openHandle,
  pollJob,
  removeQueue,
  Signer,
  submitOk,
  uniqueQueuePrefix,
} from '../support/jobs';
import { scrape } from '../support/prometheus';
import { startTestService, TestService, uniqueShare } from '../support/service';

jest.setTimeout(180_000);

const OWNER: Signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
let database: { url: string; drop(): Promise<void> };
let prefix: string;
let build: ApiBuild;
let a: TestService;
let b: TestService;
let worker: WorkerProcess;
let db: Pool;

beforeAll(async () => {
  database = await createIsolatedDatabase('metrics');
  prefix = uniqueQueuePrefix('metrics');
  build = await buildApi();
  const env = { DATABASE_URL: database.url, QUEUE_PREFIX: prefix };
  [a, b] = await Promise.all([startTestService(env), startTestService(env)]);
  worker = await startWorkerProcess(build, database.url, { QUEUE_PREFIX: prefix, FORCE_CLOSE_CHUNK_SIZE: '2' });
  db = new Pool({ connectionString: database.url, max: 2 });
});

afterAll(async () => {
  await worker?.stop();
  closeAgent();
  await db?.end();
  await Promise.all([a?.stop(), b?.stop()]);
  await removeQueue(prefix);
  build?.remove();
  await database?.drop();
});

test('requests, lease outcomes, latency, appends and batches count what was done', async () => {
  const share = a.serviceClient().getShareClient(uniqueShare('metrics'));
  await share.create();
  const file = share.rootDirectoryClient.getFileClient('f');
  await file.create(1);
  const before = await scrape(a.url);
  const first = file.getShareLeaseClient();
  await first.acquireLease(-1);
  const second = file.getShareLeaseClient();
  await expect(second.acquireLease(-1)).rejects.toMatchObject({ code: 'LeaseAlreadyPresent' });
  const after = await scrape(a.url);
  const delta = (name: string, labels?: Record<string, string>) =>
    after.value(name, labels) - before.value(name, labels);
  expect(delta('leasehold_lease_actions_total', { action: 'acquire', outcome: 'success' })).toBe(1);
  expect(delta('leasehold_lease_actions_total', { action: 'acquire', outcome: 'LeaseAlreadyPresent' })).toBe(1);
  expect(delta('leasehold_http_requests_total', { operation: 'Lease File', status: '201' })).toBe(1);
  expect(delta('leasehold_http_requests_total', { operation: 'Lease File', status: '409' })).toBe(1);
  expect(delta('leasehold_http_request_duration_seconds_count', { operation: 'Lease File' })).toBe(2);
  expect(delta('leasehold_event_append_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  expect(delta('leasehold_write_batch_size_count')).toBeGreaterThanOrEqual(1);
  expect(after.value('leasehold_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
});

test('a lease decided on a state another process moved on counts a conflict and a retry', async () => {
  const name = uniqueShare('conflict');
  await a.serviceClient().getShareClient(name).create();
  const onA = a.serviceClient().getShareClient(name).rootDirectoryClient.getFileClient('f');
  const onB = b.serviceClient().getShareClient(name).rootDirectoryClient.getFileClient('f');
  await onA.create(1);
  // A remembers the file available; B leases it behind A's back.
  const mine = onA.getShareLeaseClient();
  await mine.acquireLease(-1);
  await mine.releaseLease();
  await onB.getShareLeaseClient().acquireLease(-1);
  // Both services count in this one process: read the counters around A's stale decision.
  const before = await scrape(a.url);
  await expect(onA.getShareLeaseClient().acquireLease(-1)).rejects.toMatchObject({ code: 'LeaseAlreadyPresent' });
  const after = await scrape(a.url);
  expect(
    after.value('leasehold_concurrency_conflicts_total') - before.value('leasehold_concurrency_conflicts_total'),
  ).toBe(1);
  expect(after.value('leasehold_concurrency_retries_total') - before.value('leasehold_concurrency_retries_total')).toBe(
    1,
  );
});

test('rate-limit refusals are counted per tenant', async () => {
  const limited = await startTestService({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: prefix,
    RATE_LIMIT_PER_SECOND: '1',
  });
  try {
    const tenant = await limited.createAccount(`ratelimit${Date.now().toString(36)}`);
    const client = limited.serviceClient(tenant.name, tenant.key1);
    const before = await scrape(limited.url);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        client.getProperties().then(
          () => 200,
          (e: RestError) => e.statusCode,
        ),
      ),
    );
    const refused = answers.filter((s) => s === 503).length;
    expect(refused).toBeGreaterThan(0);
    const after = await scrape(limited.url);
    expect(
      after.value('leasehold_rate_limit_refusals_total', { tenant: tenant.name }) -
        before.value('leasehold_rate_limit_refusals_total', { tenant: tenant.name }),
    ).toBe(refused);
  } finally {
    await limited.stop();
  }
});

test("the worker's gauges and counters follow handles and a job", async () => {
  const name = uniqueShare('gauges');
  await a.serviceClient().getShareClient(name).create();
  const count = async () => Number((await db.query('SELECT count(*) AS n FROM handles')).rows[0].n);
  for (let i = 0; i < 5; i++) await openHandle(a.url, OWNER, name, '');
  // The database is this file's own: the gauge must equal the table.
  expect((await scrape(worker.url)).value('leasehold_open_handles')).toBe(await count());
  const before = await scrape(worker.url);
  const submitted = await submitOk(a.url, OWNER, name, '', { recursive: true });
  const job = await pollJob(a.url, OWNER, submitted.jobId, isEnded);
  expect(job.state).toBe('completed');
  const after = await scrape(worker.url);
  expect(after.value('leasehold_job_chunks_total') - before.value('leasehold_job_chunks_total')).toBe(job.chunksDone);
  expect(after.value('leasehold_job_handles_closed_total') - before.value('leasehold_job_handles_closed_total')).toBe(
    5,
  );
  expect(after.value('leasehold_open_handles')).toBe(await count());
  const states = Number((await db.query(`SELECT count(*) AS n FROM jobs WHERE state = 'completed'`)).rows[0].n);
  expect(after.value('leasehold_jobs', { state: 'completed' })).toBe(states);
  // Queue entries by state: the job's chunks ran in one entry or more, at most one per chunk.
  const entries =
    after.value('leasehold_queue_jobs', { state: 'completed' }) -
    before.value('leasehold_queue_jobs', { state: 'completed' });
  expect(entries).toBeGreaterThanOrEqual(1);
  expect(entries).toBeLessThanOrEqual(job.chunksDone);
  expect(after.names.has('leasehold_audit_projector_lag_events')).toBe(true);
  expect(after.value('leasehold_audit_projector_lag_seconds')).toBeGreaterThanOrEqual(0);
});

test('every expression of the Grafana dashboard names metrics the API or the worker exports', async () => {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '../../deploy/grafana-dashboard.json'), 'utf8'));
  const exported = new Set([...(await scrape(a.url)).names, ...(await scrape(worker.url)).names]);
  const expressions: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) =>
    p.targets.map((t) => t.expr),
  );
  expect(expressions.length).toBeGreaterThan(10);
  for (const expr of expressions) {
    const named = expr.match(/\bleasehold_\w+/g) ?? [];
    expect({ expr, named: named.length > 0 }).toEqual({ expr, named: true });
    for (const name of named)
      expect({ expr, name, exported: exported.has(name) }).toEqual({ expr, name, exported: true });
  }
});
