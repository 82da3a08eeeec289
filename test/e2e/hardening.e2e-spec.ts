// The hostile-client rows of issue 15, each through the real service: what an attacker or a
// careless client could do before, and what the service answers now.
import {
  RestError,
  ShareClient,
  ShareSASPermissions,
  ShareServiceClient,
  StorageSharedKeyCredential,
} from '@azure/storage-file-share';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { loadConfig } from '../../libs/config/src';
import { sendRaw } from '../support/signed-request';
import { startTestService, TestService, uniqueShare } from '../support/service';

const NO_RETRY = { retryOptions: { maxTries: 1 } };
const signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };

describe('hostile clients (issue 15)', () => {
  let service: TestService;
  let share: ShareClient;

  beforeAll(async () => {
    service = await startTestService();
    share = service.serviceClient().getShareClient(uniqueShare('hard'));
    await share.create();
    for (const name of ['d1', 'd2', 'e1']) await share.getDirectoryClient(name).create();
  });
  afterAll(() => service.stop());

  const path = (...parts: string[]) => `/${DEVELOPMENT_ACCOUNT}/${share.name}${parts.map((p) => `/${p}`).join('')}`;
  const names = (xml: string) => [...xml.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]);

  it('gives the same answer for an unknown account as for a wrong signature', async () => {
    const wrongKey = randomBytes(64).toString('base64');
    const unknown = await sendRaw(service.url, {
      method: 'GET',
      path: '/nosuchaccount1',
      query: 'comp=list',
      signer: { account: 'nosuchaccount1', key: wrongKey },
    });
    const wrong = await sendRaw(service.url, {
      method: 'GET',
      path: `/${DEVELOPMENT_ACCOUNT}`,
      query: 'comp=list',
      signer: { account: DEVELOPMENT_ACCOUNT, key: wrongKey },
    });
    const detail = (body: string) => /<AuthenticationErrorDetail>([^<]*)</.exec(body)?.[1];
    expect([unknown.status, unknown.header('x-ms-error-code')]).toEqual([403, 'AuthenticationFailed']);
    expect([wrong.status, wrong.header('x-ms-error-code'), detail(wrong.body)]).toEqual([
      unknown.status,
      unknown.header('x-ms-error-code'),
      detail(unknown.body),
    ]);
    // A name no account can have (8,000 characters) is refused the same way, and is not cached.
    const long = 'a'.repeat(8000);
    const huge = await sendRaw(service.url, {
      method: 'GET',
      path: `/${long}/x`,
      query: 'sig=abc&sv=2020-02-10&se=2030-01-01&sp=r&sr=s',
    });
    expect([huge.status, huge.header('x-ms-error-code')]).toEqual([403, 'AuthenticationFailed']);
  });

  it('covers every query parameter it acts on by the signature (List Directories replayed with &prefix=d=)', async () => {
    const signed: Record<string, string> = {};
    const original = await sendRaw(service.url, {
      method: 'GET',
      path: path(),
      query: 'restype=directory&comp=list',
      signer,
      afterSigning: (h) => Object.assign(signed, h),
    });
    expect(names(original.body)).toEqual(['d1', 'd2', 'e1']);
    // The replay carries the original signature: the appended parameter is not signed, so it changes nothing.
    const replay = await sendRaw(service.url, {
      method: 'GET',
      path: path(),
      query: 'restype=directory&comp=list&prefix=d=',
      headers: signed,
    });
    expect([replay.status, names(replay.body)]).toEqual([200, ['d1', 'd2', 'e1']]);
  });

  it('accepts an empty parameter signed as `name:`, as documented', async () => {
    const headers = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': '2026-04-06' };
    // Written out by hand from the documented Shared Key rules: every parameter, sorted by name.
    const list = (query: string, signedQuery: string) => {
      const stringToSign = `GET${'\n'.repeat(12)}x-ms-date:${headers['x-ms-date']}\nx-ms-version:2026-04-06\n/${DEVELOPMENT_ACCOUNT}${path()}${signedQuery}`;
      const signature = createHmac('sha256', Buffer.from(DEVELOPMENT_KEY, 'base64'))
        .update(stringToSign)
        .digest('base64');
      const authorization = `SharedKey ${DEVELOPMENT_ACCOUNT}:${signature}`;
      return sendRaw(service.url, {
        method: 'GET',
        path: path(),
        query,
        headers: { ...headers, 'x-ms-client-request-id': undefined, authorization },
      });
    };
    const listed = await list('restype=directory&comp=list&prefix=d', '\ncomp:list\nprefix:d\nrestype:directory');
    expect([listed.status, names(listed.body)]).toEqual([200, ['d1', 'd2']]);
    const empty = await list('restype=directory&comp=list&prefix=', '\ncomp:list\nprefix:\nrestype:directory');
    expect([empty.status, names(empty.body)]).toEqual([200, ['d1', 'd2', 'e1']]);
  });

  it('refuses Create File over an existing file with a SAS that grants c but not w', async () => {
    const file = share.rootDirectoryClient.getFileClient('kept.txt');
    await file.create(5);
    await file.uploadRange(Buffer.from('hello'), 0, 5);
    const createOnly = new ShareClient(
      share.generateSasUrl({
        permissions: ShareSASPermissions.parse('c'),
        expiresOn: new Date(Date.now() + 3_600_000),
      }),
      undefined,
      NO_RETRY,
    );
    const error = (await createOnly.rootDirectoryClient
      .getFileClient('kept.txt')
      .create(0)
      .catch((e) => e)) as RestError;
    expect([error.statusCode, error.code]).toEqual([403, 'AuthorizationPermissionMismatch']);
    expect((await file.getProperties()).contentLength).toBe(5);
    // A new file is what `c` is for.
    expect((await createOnly.rootDirectoryClient.getFileClient('new.txt').create(3))._response.status).toBe(201);
  });

  it('refuses an x-ms-client-request-id longer than 1 KiB, and records nothing', async () => {
    const id = 'x'.repeat(12_000);
    const res = await sendRaw(service.url, {
      method: 'PUT',
      path: path('d9'),
      query: 'restype=directory',
      signer,
      headers: { 'x-ms-client-request-id': id },
    });
    expect([res.status, res.header('x-ms-error-code')]).toEqual([400, 'InvalidHeaderValue']);
    const recorded = await service.db.query(
      `SELECT count(*)::int AS n FROM events WHERE length(metadata->>'clientRequestId') > 1024`,
    );
    expect(recorded.rows[0].n).toBe(0);
  });

  it('answers malformed extension requests with 400 and a chunked Put Range with 411', async () => {
    const noJob = await sendRaw(service.url, {
      method: 'GET',
      path: `/${DEVELOPMENT_ACCOUNT}`,
      query: 'comp=forceclosejob',
      signer,
    });
    expect([noJob.status, noJob.header('x-ms-error-code')]).toEqual([400, 'MissingRequiredQueryParameter']);
    const directoryHistory = await sendRaw(service.url, {
      method: 'GET',
      path: path('d1'),
      query: 'comp=leasehistory',
      signer,
    });
    expect(directoryHistory.status).toBe(400);
    const tooBig = await sendRaw(service.url, {
      method: 'PUT',
      path: path('d1'),
      query: 'comp=forceclosehandles',
      signer,
      headers: { 'x-ms-handle-id': '99999999999999999999' },
    });
    expect([tooBig.status, tooBig.header('x-ms-error-code')]).toEqual([400, 'InvalidHeaderValue']);
    const file = share.rootDirectoryClient.getFileClient('chunked.txt');
    await file.create(4);
    const chunked = await sendRaw(service.url, {
      method: 'PUT',
      path: path('chunked.txt'),
      query: 'comp=range',
      signer,
      headers: {
        'content-length': undefined,
        'transfer-encoding': 'chunked',
        'x-ms-range': 'bytes=0-3',
        'x-ms-write': 'update',
      },
      body: 'abcd',
    });
    expect([chunked.status, chunked.header('x-ms-error-code')]).toEqual([411, 'MissingContentLengthHeader']);
  });

  it('gives out handle and session ids that do not count anything', async () => {
    const handles: bigint[] = [];
    const sessions: bigint[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await sendRaw(service.url, {
        method: 'PUT',
        path: path('d1'),
        query: 'comp=openhandle',
        signer,
        headers: { 'x-leasehold-client-ip': `10.0.0.${i}:445` },
      });
      expect(res.status).toBe(201);
      handles.push(BigInt(res.header('x-leasehold-handle-id')!));
      sessions.push(BigInt(res.header('x-leasehold-session-id')!));
    }
    // Consecutive opens: a counter would give neighbours; random 63-bit ids are far apart.
    const gaps = [handles, sessions].flatMap((ids) =>
      ids.slice(1).map((id, i) => (id > ids[i] ? id - ids[i] : ids[i] - id)),
    );
    expect(gaps.filter((gap) => gap < 1_000_000n)).toEqual([]);
  });

  it('refuses the public emulator key in production, and a key sealed for another account', async () => {
    const config = loadConfig({ NODE_ENV: 'test' });
    const production = await startTestService({
      NODE_ENV: 'production',
      SECRET_KEY: config.secretKey,
      ENCRYPTION_KEY: config.encryptionKey,
    });
    try {
      const client = new ShareServiceClient(
        production.accountUrl(),
        new StorageSharedKeyCredential(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY),
        NO_RETRY,
      );
      const error = (await client
        .getShareClient(uniqueShare('prod'))
        .create()
        .catch((e) => e)) as RestError;
      expect([error.statusCode, error.code]).toEqual([403, 'AuthenticationFailed']);
    } finally {
      await production.stop();
    }

    // Swap two accounts' sealed keys in the database: neither opens for the other account.
    const a = await service.createAccount(`swapa${randomUUID().slice(0, 8)}`);
    const b = await service.createAccount(`swapb${randomUUID().slice(0, 8)}`);
    await service.db.query(
      `UPDATE account_keys k SET key1 = o.key1, key2 = o.key2 FROM account_keys o WHERE (k.account, o.account) IN (($1, $2), ($2, $1))`,
      [a.name, b.name],
    );
    // The key cache forgets after 5 s; a fresh service reads the swapped rows.
    const fresh = await startTestService();
    try {
      const asA = new ShareServiceClient(
        fresh.accountUrl(a.name),
        new StorageSharedKeyCredential(a.name, b.key1),
        NO_RETRY,
      );
      const error = (await asA
        .getShareClient(uniqueShare('swap'))
        .create()
        .catch((e) => e)) as RestError;
      expect([error.statusCode, error.code]).toEqual([403, 'AuthenticationFailed']);
    } finally {
      await fresh.stop();
    }
  });
});
