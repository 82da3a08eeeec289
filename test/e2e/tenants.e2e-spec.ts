import { RestError, ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiBuild, buildApi } from '../support/processes';
import { removeQueue, uniqueQueuePrefix } from '../support/jobs';
import { startTestService, TestService, testDatabaseUrl, uniqueShare } from '../support/service';

const ADMIN = 'leasehold-development-admin-token';
const client = (service: TestService, account: string, key: string) =>
  new ShareServiceClient(service.accountUrl(account), new StorageSharedKeyCredential(account, key), {
    retryOptions: { maxTries: 1 },
  });
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: RestError) => e,
  );
/** 200 when the call succeeded, else its status code. */
const status = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (e: RestError) => e.statusCode,
  );

describe('tenants: accounts, keys and their administration', () => {
  let service: TestService;
  const admin = (method: string, path: string, body?: unknown, token = ADMIN) =>
    fetch(`${service.url}/_admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(() => service.stop());

  it('creates accounts, rotates keys without downtime, disables and enables them, all recorded without key material', async () => {
    expect((await admin('GET', '/accounts', undefined, 'wrong-token-of-some-length')).status).toBe(401);
    expect((await fetch(`${service.url}/_admin/accounts`)).status).toBe(401);
    expect((await admin('POST', '/accounts', { name: 'Bad_Name' })).status).toBe(400);
    expect((await admin('POST', '/accounts', 'not an object')).status).toBe(400);

    const name = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const created = await admin('POST', '/accounts', { name });
    expect(created.status).toBe(201);
    const { key1, key2 } = (await created.json()) as { key1: string; key2: string };
    expect((await admin('POST', '/accounts', { name })).status).toBe(409);
    const listed = await (await admin('GET', '/accounts')).json();
    expect(listed).toContainEqual({ name, disabled: false, createdAt: expect.any(String) });
    expect(JSON.stringify(listed)).not.toContain(key1);

    const share = uniqueShare('tenant');
    await client(service, name, key1).getShareClient(share).create();
    expect(await status(client(service, name, key2).getShareClient(share).getProperties())).toBe(200);

    // Rotation: the rotated key stops working at once; the other never stopped.
    const rotated = await admin('POST', `/accounts/${name}/keys/key1/rotate`);
    expect(rotated.status).toBe(200);
    const { key1: fresh } = (await rotated.json()) as { key1: string };
    expect(fresh).not.toBe(key1);
    expect((await failure(client(service, name, key1).getShareClient(share).getProperties()))?.statusCode).toBe(403);
    expect(await status(client(service, name, key2).getShareClient(share).getProperties())).toBe(200);
    expect(await status(client(service, name, fresh).getShareClient(share).getProperties())).toBe(200);
    expect((await admin('POST', `/accounts/${name}/keys/key3/rotate`)).status).toBe(400);
    expect((await admin('POST', `/accounts/nosuchaccount/keys/key1/rotate`)).status).toBe(404);

    expect((await admin('POST', `/accounts/${name}/disable`)).status).toBe(200);
    const refused = await failure(client(service, name, fresh).getShareClient(share).getProperties());
    expect([refused?.statusCode, (refused?.details as { errorCode?: string } | undefined)?.errorCode]).toEqual([
      403,
      'AuthenticationFailed',
    ]);
    expect((await admin('POST', `/accounts/${name}/enable`)).status).toBe(200);
    expect(await status(client(service, name, fresh).getShareClient(share).getProperties())).toBe(200);

    const events = await service.db.query(
      `SELECT type, data::text, metadata FROM events WHERE stream_id = $1 ORDER BY stream_version`,
      [`account-${name}`],
    );
    expect(events.rows.map((e) => e.type)).toEqual([
      'AccountCreated',
      'AccountKeyRotated',
      'AccountDisabled',
      'AccountEnabled',
    ]);
    expect(
      events.rows.slice(1).every((e) => e.metadata.principal === 'admin' && e.metadata.authentication === 'Admin'),
    ).toBe(true);
    for (const key of [key1, key2, fresh]) expect(events.rows.some((e) => e.data.includes(key))).toBe(false);

    // Keys are encrypted at rest.
    const stored = await service.db.query(`SELECT key1, key2 FROM account_keys WHERE account = $1`, [name]);
    expect(stored.rows[0].key1).toMatch(/^v2:/);
    expect(stored.rows[0].key2).toMatch(/^v2:/);
    expect(JSON.stringify(stored.rows)).not.toContain(key2);
  });

  it('has no admin API without an admin token (the production default)', async () => {
    const production = await startTestService({
      NODE_ENV: 'production',
      SECRET_KEY: 's'.repeat(32),
      ENCRYPTION_KEY: 'leasehold-development-encryption-key-not-for-production',
    });
    try {
      const res = await fetch(`${production.url}/_admin/accounts`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(404);
    } finally {
      await production.stop();
    }
  });

  describe('the command line', () => {
    let build: ApiBuild;
    beforeAll(async () => {
      build = await buildApi();
    }, 120_000);
    afterAll(() => build?.remove());

    it('creates, lists, rotates and disables accounts', async () => {
      const cli = (...args: string[]) =>
        promisify(execFile)(process.execPath, [join(build.main, '../../../cli/main.js'), 'accounts', ...args], {
          env: {
            ...process.env,
            DATABASE_URL: testDatabaseUrl(),
            NODE_ENV: 'test',
            NODE_PATH: join(__dirname, '../../node_modules'),
          },
        });
      const name = `c${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const { key1, key2 } = JSON.parse((await cli('create', name)).stdout);
      await client(service, name, key1).getShareClient(uniqueShare('cli')).create();
      expect(JSON.parse((await cli('list')).stdout)).toContainEqual({
        name,
        disabled: false,
        createdAt: expect.any(String),
      });
      const { key2: fresh } = JSON.parse((await cli('rotate', name, 'key2')).stdout);
      expect(fresh).not.toBe(key2);
      await cli('disable', name);
      // The API process caches keys for up to 5 s; the disable shows in the projection at once.
      const row = await service.db.query(`SELECT disabled FROM accounts WHERE name = $1`, [name]);
      expect(row.rows[0].disabled).toBe(true);
      await expect(cli('create', name)).rejects.toMatchObject({ stderr: expect.stringContaining('already exists') });
      await expect(cli('rotate', name, 'key9')).rejects.toMatchObject({ stderr: expect.stringContaining('usage') });
    });
  });
});

describe('per-tenant rate limits', () => {
  let service: TestService;
  const queuePrefix = uniqueQueuePrefix('rate');
  beforeAll(async () => {
    service = await startTestService({ RATE_LIMIT_PER_SECOND: '20', QUEUE_PREFIX: queuePrefix });
  });
  afterAll(async () => {
    await service.stop();
    await removeQueue(queuePrefix);
  });

  it('holds a noisy tenant to its limit while a quiet tenant keeps being served', async () => {
    const noisy = await service.createAccount(`noisy${randomUUID().slice(0, 8)}`);
    const quiet = await service.createAccount(`quiet${randomUUID().slice(0, 8)}`);
    const noisyShare = client(service, noisy.name, noisy.key1).getShareClient(uniqueShare('noisy'));
    const quietShare = client(service, quiet.name, quiet.key1).getShareClient(uniqueShare('quiet'));
    await noisyShare.create();
    await quietShare.create();
    await new Promise((r) => setTimeout(r, 1000)); // a fresh window for both

    const windows = new Set<number>();
    const flood = Array.from({ length: 200 }, async () => {
      windows.add(Math.floor(Date.now() / 1000));
      const result = await noisyShare.getProperties().then(
        () => 200,
        (e: RestError) => e,
      );
      windows.add(Math.floor(Date.now() / 1000));
      return result;
    });
    const quietResults: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) quietResults.push(await status(quietShare.getProperties()));
    const results = await Promise.all(flood);

    const served = results.filter((r) => r === 200).length;
    const busy = results.filter((r): r is RestError => r instanceof RestError);
    expect(quietResults).toEqual([200, 200, 200, 200, 200]);
    expect(busy.length).toBeGreaterThan(0);
    expect(
      busy.every(
        (e) => e.statusCode === 503 && (e.details as { errorCode?: string } | undefined)?.errorCode === 'ServerBusy',
      ),
    ).toBe(true);
    expect(busy[0].response?.headers.get('retry-after')).toBe('1');
    // Never more than the limit in any one-second window the flood touched.
    expect(served).toBeLessThanOrEqual(20 * windows.size);
  });
});
