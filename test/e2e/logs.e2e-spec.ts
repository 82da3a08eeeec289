// A run's captured logs: one JSON access line per request, and none of the secrets it used.
import { FileSASPermissions, ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { randomUUID } from 'node:crypto';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { loadConfig } from '../../libs/config/src';
import { ApiBuild, ApiProcess, buildApi, ensureDevelopmentAccount, startApiProcess } from '../support/processes';
import { testDatabaseUrl, uniqueShare } from '../support/service';
import { sendRaw } from '../support/signed-request';

jest.setTimeout(180_000);

let build: ApiBuild;
let api: ApiProcess;
const secrets = new Set<string>();
const ADMIN_TOKEN = loadConfig({ NODE_ENV: 'test' }).adminToken!;

beforeAll(async () => {
  build = await buildApi();
  await ensureDevelopmentAccount(testDatabaseUrl());
  api = await startApiProcess(build, testDatabaseUrl(), { LOG_LEVEL: 'info' });
});

afterAll(async () => {
  await api?.stop();
  build?.remove();
});

const remember = (secret: string | undefined | null) => {
  if (!secret) return;
  secrets.add(secret);
  secrets.add(encodeURIComponent(secret));
};

test('requests signed every way leave access lines and no secret in the logs', async () => {
  remember(DEVELOPMENT_KEY);
  remember(ADMIN_TOKEN);
  const share = uniqueShare('logs');
  const clientRequestId = `logs-${randomUUID()}`;
  // Shared Key, with the signature we can see.
  const created = await sendRaw(api.url, {
    method: 'PUT',
    path: `/${DEVELOPMENT_ACCOUNT}/${share}`,
    query: 'restype=share',
    headers: { 'x-ms-client-request-id': clientRequestId },
    signer: { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY },
    afterSigning: (headers) => remember(headers['authorization'].split(':')[1]),
  });
  expect(created.status).toBe(201);
  // A wrong signature: refused, and still not logged.
  const forged = await sendRaw(api.url, {
    method: 'GET',
    path: `/${DEVELOPMENT_ACCOUNT}/${share}`,
    query: 'restype=share',
    signer: { account: DEVELOPMENT_ACCOUNT, key: Buffer.from('not the key, but as long as one').toString('base64') },
    afterSigning: (headers) => remember(headers['authorization'].split(':')[1]),
  });
  expect(forged.status).toBe(403);
  // A service SAS, right and wrong.
  const sdk = new ShareServiceClient(
    `${api.url}/${DEVELOPMENT_ACCOUNT}`,
    new StorageSharedKeyCredential(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY),
    { retryOptions: { maxTries: 1 } },
  );
  const file = sdk.getShareClient(share).rootDirectoryClient.getFileClient('f.txt');
  await file.create(3);
  const sasUrl = file.generateSasUrl({
    permissions: FileSASPermissions.parse('r'),
    expiresOn: new Date(Date.now() + 3600_000),
  });
  const sig = new URL(sasUrl).searchParams.get('sig')!;
  remember(sig);
  const version = { 'x-ms-version': '2026-04-06' };
  expect((await fetch(sasUrl, { headers: version })).status).toBe(200);
  const badSig = Buffer.from('a forged signature of 32 bytes!!').toString('base64');
  remember(badSig);
  const forgedSas = new URL(sasUrl);
  forgedSas.searchParams.set('sig', badSig);
  expect((await fetch(forgedSas, { headers: version })).status).toBe(403);
  // The admin API: a bearer token in, account keys out.
  const admin = (path: string, body?: unknown) =>
    fetch(`${api.url}/_admin/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
  const name = `logs${Date.now().toString(36)}`;
  const account = await admin('accounts', { name });
  expect(account.status).toBe(201);
  const { key1, key2 } = (await account.json()) as { key1: string; key2: string };
  remember(key1);
  remember(key2);
  const rotated = (await (await admin(`accounts/${name}/keys/key1/rotate`)).json()) as { key1: string };
  remember(rotated.key1);
  expect(
    (await fetch(`${api.url}/_admin/accounts`, { headers: { authorization: 'Bearer wrong-token-but-long-enough' } }))
      .status,
  ).toBe(401);

  await api.stop();
  const output = api.output();
  const lines = output.split('\n').filter((l) => l.startsWith('{'));
  expect(lines.length).toBeGreaterThan(5);
  // Every line is JSON; each request has one access line.
  const records = lines.map((l) => JSON.parse(l));
  const access = records.filter((r) => r.msg === 'request');
  const mine = access.filter((r) => r.clientRequestId === clientRequestId);
  expect(mine).toEqual([
    expect.objectContaining({
      requestId: created.header('x-ms-request-id'),
      account: DEVELOPMENT_ACCOUNT,
      operation: 'Create Share',
      status: 201,
      durationMs: expect.any(Number),
    }),
  ]);
  expect(access.find((r) => r.status === 403 && r.errorCode === 'AuthenticationFailed')).toBeDefined();
  expect(access.filter((r) => r.operation === '/_admin/accounts').length).toBeGreaterThan(0);
  expect(secrets.size).toBeGreaterThan(10);
  for (const secret of secrets) expect({ secret, inLogs: output.includes(secret) }).toEqual({ secret, inLogs: false });
});
