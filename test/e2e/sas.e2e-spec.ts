// Shared access signatures end to end: the official SDK generates every SAS (file, share and account)
// and uses it against the real service; refusals carry Azure's codes and record nothing.
import {
  AccountSASPermissions,
  FileGenerateSasUrlOptions,
  FileSASPermissions,
  RestError,
  SASProtocol,
  ShareClient,
  ShareDirectoryClient,
  ShareFileClient,
  ShareLeaseClient,
  ShareSASPermissions,
  ShareServiceClient,
  StorageSharedKeyCredential,
} from '@azure/storage-file-share';
import { randomUUID } from 'node:crypto';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { sendRaw } from '../support/signed-request';
import { startTestService, TestService, uniqueShare } from '../support/service';

const HOUR = 3_600_000;
/** The SDK's retries back off for seconds; tests assert first answers. */
const NO_RETRY = { retryOptions: { maxTries: 1 } };
const CONTENT = Buffer.from('hello through a shared access signature');

describe('Shared access signatures through the SDK', () => {
  let service: TestService;
  let tenantB: { name: string; key1: string; key2: string };
  /** The same share name in both tenants, each with dir/doc.txt, so only the account differs. */
  const shareName = uniqueShare('sas');
  let ownerA: ShareServiceClient;
  let ownerB: ShareServiceClient;
  let doc: ShareFileClient;

  const owner = (account: string, key: string) =>
    new ShareServiceClient(service.accountUrl(account), new StorageSharedKeyCredential(account, key), NO_RETRY);
  const ownerFile = (path: string, client = ownerA) =>
    client.getShareClient(shareName).rootDirectoryClient.getFileClient(path);

  /** A client that holds nothing but the SDK-generated SAS URL of a file. */
  const fileSas = (file: ShareFileClient, permissions: string, options: Partial<FileGenerateSasUrlOptions> = {}) =>
    new ShareFileClient(
      file.generateSasUrl({
        permissions: FileSASPermissions.parse(permissions),
        expiresOn: new Date(Date.now() + HOUR),
        ...options,
      }),
      undefined,
      NO_RETRY,
    );
  const shareSas = (share: ShareClient, permissions: string) =>
    new ShareClient(
      share.generateSasUrl({
        permissions: ShareSASPermissions.parse(permissions),
        expiresOn: new Date(Date.now() + HOUR),
      }),
      undefined,
      NO_RETRY,
    );
  const accountSas = (client: ShareServiceClient, permissions: string, resourceTypes: string) =>
    new ShareServiceClient(
      client.generateAccountSasUrl(
        new Date(Date.now() + HOUR),
        AccountSASPermissions.parse(permissions),
        resourceTypes,
      ),
      undefined,
      NO_RETRY,
    );

  const eventsOfRequest = async (clientRequestId: string | undefined) =>
    (
      await service.db.query(
        `SELECT type, tenant, metadata FROM events WHERE metadata->>'clientRequestId' = $1 ORDER BY position`,
        [clientRequestId ?? ''],
      )
    ).rows as {
      type: string;
      tenant: string;
      metadata: { principal: string; authentication: string };
    }[];

  /** The call must fail with this status and code, with an Azure error, and record no event. */
  const refused = async (call: Promise<unknown>, status: number, code: string): Promise<RestError> => {
    const error = (await call.then(
      () => undefined,
      (e: unknown) => e,
    )) as RestError;
    expect(error).toBeInstanceOf(RestError);
    expect({ status: error.statusCode, header: error.response?.headers.get('x-ms-error-code') }).toEqual({
      status,
      header: code,
    });
    // A HEAD answer has no body: the code travels in x-ms-error-code only.
    if (error.request?.method !== 'HEAD') {
      expect(error.code).toBe(code);
      expect(error.response?.bodyAsText).toMatch(
        new RegExp(`^<\\?xml[^>]*\\?><Error><Code>${code}</Code><Message>[^<]+</Message>`),
      );
    }
    expect(await eventsOfRequest(error.request?.requestId)).toEqual([]);
    return error;
  };

  /** Every event the request recorded names the SAS principal of the account. */
  const expectSasEvents = async (
    response: { _response: { request: { requestId: string } } },
    account = DEVELOPMENT_ACCOUNT,
  ) => {
    const events = await eventsOfRequest(response._response.request.requestId);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event.tenant).toBe(account);
      expect(event.metadata).toMatchObject({ principal: `sas:${account}`, authentication: 'SAS' });
    }
    return events;
  };

  const contentOf = async (file: ShareFileClient) => (await file.downloadToBuffer()).toString();

  beforeAll(async () => {
    service = await startTestService();
    tenantB = await service.createAccount(`sasb${Date.now().toString(36)}${process.pid % 1000}`);
    ownerA = owner(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY);
    ownerB = owner(tenantB.name, tenantB.key1);
    for (const client of [ownerA, ownerB]) {
      const share = client.getShareClient(shareName);
      await share.create();
      await share.getDirectoryClient('dir').create();
      const file = share.getDirectoryClient('dir').getFileClient('doc.txt');
      await file.create(CONTENT.length, {
        fileHttpHeaders: { fileContentType: 'application/x-original', fileContentDisposition: 'inline' },
      });
      await file.uploadRange(CONTENT, 0, CONTENT.length);
    }
    doc = ownerFile('dir/doc.txt');
  });
  afterAll(() => service.stop());

  describe('service SAS for a file (sr=f)', () => {
    it('reads with r, and is refused reads without r', async () => {
      const reader = fileSas(doc, 'r');
      expect(await contentOf(reader)).toBe(CONTENT.toString());
      expect((await reader.getProperties()).contentLength).toBe(CONTENT.length);
      const writer = fileSas(doc, 'cwd');
      await refused(writer.download(), 403, 'AuthorizationPermissionMismatch');
      await refused(writer.getProperties(), 403, 'AuthorizationPermissionMismatch');
    });

    it('writes with w, recorded as the SAS principal; refused writes without w change nothing', async () => {
      const file = ownerFile('dir/written.txt');
      await file.create(4);
      const writer = fileSas(file, 'w');
      await expectSasEvents(await writer.uploadRange(Buffer.from('abcd'), 0, 4));
      await expectSasEvents(await writer.setMetadata({ by: 'sas' }));
      expect(await contentOf(file)).toBe('abcd');

      const reader = fileSas(file, 'rcd');
      await refused(reader.uploadRange(Buffer.from('zzzz'), 0, 4), 403, 'AuthorizationPermissionMismatch');
      await refused(reader.setMetadata({ by: 'intruder' }), 403, 'AuthorizationPermissionMismatch');
      await refused(reader.setHttpHeaders({ fileContentType: 'text/evil' }), 403, 'AuthorizationPermissionMismatch');
      expect(await contentOf(file)).toBe('abcd');
      expect((await file.getProperties()).metadata).toEqual({ by: 'sas' });
    });

    it('creates with c or w, deletes with d, and is refused either without them', async () => {
      const created = ownerFile('dir/created-by-c.txt');
      await expectSasEvents(await fileSas(created, 'c').create(10));
      await expectSasEvents(await fileSas(ownerFile('dir/created-by-w.txt'), 'w').create(10));
      await refused(fileSas(ownerFile('dir/never.txt'), 'rd').create(10), 403, 'AuthorizationPermissionMismatch');
      expect(await ownerFile('dir/never.txt').exists()).toBe(false);

      await refused(fileSas(created, 'rcw').delete(), 403, 'AuthorizationPermissionMismatch');
      expect(await created.exists()).toBe(true);
      await expectSasEvents(await fileSas(created, 'd').delete());
      expect(await created.exists()).toBe(false);
    });

    it('acquires and releases a lease with w through ShareLeaseClient, and is refused without w', async () => {
      const file = ownerFile('dir/leased.txt');
      await file.create(4);
      const leaseId = randomUUID();
      const leases = new ShareLeaseClient(fileSas(file, 'w'), leaseId);
      const acquired = await leases.acquireLease();
      expect(acquired.leaseId).toBe(leaseId);
      expect((await expectSasEvents(acquired)).map((e) => e.type)).toEqual(['LeaseAcquired']);
      // The lease is real: the owner cannot write without it.
      await refused(file.setMetadata({ x: '1' }), 412, 'LeaseIdMissing');
      expect((await file.getProperties()).leaseState).toBe('leased');
      await expectSasEvents(await leases.releaseLease());
      expect((await file.getProperties()).leaseState).toBe('available');

      const withoutWrite = new ShareLeaseClient(fileSas(file, 'rcd'), randomUUID());
      await refused(withoutWrite.acquireLease(), 403, 'AuthorizationPermissionMismatch');
      expect((await file.getProperties()).leaseState).toBe('available');
      // Breaking is a lease operation too: it needs w.
      await refused(withoutWrite.breakLease(), 403, 'AuthorizationPermissionMismatch');
    });

    it('works signed with either account key', async () => {
      const secondKey = owner(tenantB.name, tenantB.key2)
        .getShareClient(shareName)
        .getDirectoryClient('dir')
        .getFileClient('doc.txt');
      expect(await contentOf(fileSas(secondKey, 'r'))).toBe(CONTENT.toString());
    });

    it('needs no x-ms-date (the SDK sends none with a SAS)', async () => {
      const url = new URL(
        doc.generateSasUrl({ permissions: FileSASPermissions.parse('r'), expiresOn: new Date(Date.now() + HOUR) }),
      );
      const res = await sendRaw(service.url, {
        method: 'GET',
        path: url.pathname,
        query: url.search.slice(1),
        headers: { 'x-ms-date': undefined },
      });
      expect(res.status).toBe(200);
      expect(res.body).toBe(CONTENT.toString());
    });

    it('is refused when expired or not yet valid', async () => {
      const now = Date.now();
      const expired = fileSas(doc, 'r', { startsOn: new Date(now - 2 * HOUR), expiresOn: new Date(now - 60_000) });
      const early = fileSas(doc, 'r', { startsOn: new Date(now + HOUR), expiresOn: new Date(now + 2 * HOUR) });
      for (const client of [expired, early]) {
        const error = await refused(client.download(), 403, 'AuthenticationFailed');
        expect((error.details as { authenticationErrorDetail?: string }).authenticationErrorDetail).toMatch(
          /^Signature not valid in the specified time frame/,
        );
      }
      // Within its window it works.
      expect(
        await contentOf(fileSas(doc, 'r', { startsOn: new Date(now - HOUR), expiresOn: new Date(now + HOUR) })),
      ).toBe(CONTENT.toString());
    });

    it('is refused from an address outside its IP range, and accepted from inside it', async () => {
      const outside = fileSas(doc, 'rw', { ipRange: { start: '10.0.0.1', end: '10.255.255.255' } });
      await refused(outside.download(), 403, 'AuthorizationSourceIPMismatch');
      await refused(outside.setMetadata({ x: 'y' }), 403, 'AuthorizationSourceIPMismatch');
      await refused(
        fileSas(doc, 'r', { ipRange: { start: '127.0.0.2' } }).download(),
        403,
        'AuthorizationSourceIPMismatch',
      );
      expect(await contentOf(fileSas(doc, 'r', { ipRange: { start: '127.0.0.1' } }))).toBe(CONTENT.toString());
      expect(await contentOf(fileSas(doc, 'r', { ipRange: { start: '127.0.0.0', end: '127.255.255.255' } }))).toBe(
        CONTENT.toString(),
      );
    });

    it('is refused over http when it allows https only', async () => {
      await refused(
        fileSas(doc, 'r', { protocol: SASProtocol.Https }).download(),
        403,
        'AuthorizationProtocolMismatch',
      );
      expect(await contentOf(fileSas(doc, 'r', { protocol: SASProtocol.HttpsAndHttp }))).toBe(CONTENT.toString());
    });

    it('is refused with a tampered signature or a field changed after signing', async () => {
      const url = new URL(
        doc.generateSasUrl({ permissions: FileSASPermissions.parse('r'), expiresOn: new Date(Date.now() + HOUR) }),
      );
      const sig = url.searchParams.get('sig')!;
      const flipped = new URL(url);
      flipped.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
      const error = await refused(
        new ShareFileClient(flipped.toString(), undefined, NO_RETRY).download(),
        403,
        'AuthenticationFailed',
      );
      expect((error.details as { authenticationErrorDetail?: string }).authenticationErrorDetail).toMatch(
        /^Signature did not match/,
      );
      // Granting oneself w by editing sp.
      const escalated = new URL(url);
      escalated.searchParams.set('sp', 'rw');
      await refused(
        new ShareFileClient(escalated.toString(), undefined, NO_RETRY).setMetadata({ x: 'y' }),
        403,
        'AuthenticationFailed',
      );
      const extended = new URL(url);
      extended.searchParams.set('se', '2199-01-01T00:00:00Z');
      await refused(
        new ShareFileClient(extended.toString(), undefined, NO_RETRY).download(),
        403,
        'AuthenticationFailed',
      );
    });

    it('opens nothing but its own file: another file, a directory operation at its path, the share root', async () => {
      const sas = new URL(
        doc.generateSasUrl({ permissions: FileSASPermissions.parse('rcwd'), expiresOn: new Date(Date.now() + HOUR) }),
      ).search;
      const other = ownerFile('dir/other.txt');
      await other.create(4);
      await refused(
        new ShareFileClient(`${other.url}${sas}`, undefined, NO_RETRY).download(),
        403,
        'AuthenticationFailed',
      );
      await refused(
        new ShareFileClient(`${other.url}${sas}`, undefined, NO_RETRY).delete(),
        403,
        'AuthenticationFailed',
      );
      expect(await other.exists()).toBe(true);
      // A file SAS for the path `dir/sub`, used for Create Directory at that path.
      const dirAsFile = ownerFile('dir/sub');
      const dirSas = new URL(
        dirAsFile.generateSasUrl({
          permissions: FileSASPermissions.parse('rcwd'),
          expiresOn: new Date(Date.now() + HOUR),
        }),
      ).search;
      await refused(
        new ShareDirectoryClient(`${dirAsFile.url}${dirSas}`, undefined, NO_RETRY).create(),
        403,
        'AuthorizationResourceTypeMismatch',
      );
      expect(await ownerA.getShareClient(shareName).getDirectoryClient('dir/sub').exists()).toBe(false);
      // At the share root the signed file path is missing, so the signature cannot match.
      await refused(
        new ShareDirectoryClient(`${ownerA.getShareClient(shareName).url}${sas}`, undefined, NO_RETRY).getProperties(),
        403,
        'AuthenticationFailed',
      );
    });

    it("signed by tenant A, is refused at tenant B's URL for the same share and path", async () => {
      const bDoc = ownerFile('dir/doc.txt', ownerB);
      const sas = new URL(
        doc.generateSasUrl({ permissions: FileSASPermissions.parse('rcwd'), expiresOn: new Date(Date.now() + HOUR) }),
      ).search;
      const stolen = new ShareFileClient(`${bDoc.url}${sas}`, undefined, NO_RETRY);
      await refused(stolen.download(), 403, 'AuthenticationFailed');
      await refused(stolen.uploadRange(Buffer.from('evil'), 0, 4), 403, 'AuthenticationFailed');
      await refused(stolen.delete(), 403, 'AuthenticationFailed');
      await refused(new ShareLeaseClient(stolen, randomUUID()).acquireLease(), 403, 'AuthenticationFailed');
      expect(await contentOf(bDoc)).toBe(CONTENT.toString());
      expect((await bDoc.getProperties()).leaseState).toBe('available');
    });

    it('overrides Content-Disposition and Content-Type on download with the signed rscd and rsct, leaving the file as it was', async () => {
      const overridden = fileSas(doc, 'r', {
        contentDisposition: 'attachment; filename="report.txt"',
        contentType: 'text/plain; charset=utf-8',
        cacheControl: 'no-store',
        contentLanguage: 'fr',
        contentEncoding: 'identity',
      });
      const download = await overridden.download();
      expect(download.contentDisposition).toBe('attachment; filename="report.txt"');
      expect(download.contentType).toBe('text/plain; charset=utf-8');
      expect(download.cacheControl).toBe('no-store');
      expect(download.contentLanguage).toBe('fr');
      expect(download.contentEncoding).toBe('identity');
      expect((await overridden.downloadToBuffer()).toString()).toBe(CONTENT.toString());
      const head = await overridden.getProperties();
      expect({ disposition: head.contentDisposition, type: head.contentType }).toEqual({
        disposition: 'attachment; filename="report.txt"',
        type: 'text/plain; charset=utf-8',
      });
      // Only what the SAS names is replaced, and nothing is stored.
      const onlyType = await fileSas(doc, 'r', { contentType: 'text/csv' }).download();
      expect({ disposition: onlyType.contentDisposition, type: onlyType.contentType }).toEqual({
        disposition: 'inline',
        type: 'text/csv',
      });
      const stored = await doc.getProperties();
      expect({ disposition: stored.contentDisposition, type: stored.contentType }).toEqual({
        disposition: 'inline',
        type: 'application/x-original',
      });
    });

    it('refuses a SAS naming a stored access policy the share does not have, saying so', async () => {
      const withPolicy = new ShareFileClient(doc.generateSasUrl({ identifier: 'policy1' }), undefined, NO_RETRY);
      const error = await refused(withPolicy.download(), 403, 'AuthenticationFailed');
      expect((error.details as { authenticationErrorDetail?: string }).authenticationErrorDetail).toMatch(
        /'policy1' is not a stored access policy of this share/,
      );
    });
  });

  describe('service SAS for a share (sr=s)', () => {
    it('lists with l, creates directories and files with c, and is refused without', async () => {
      const share = ownerA.getShareClient(shareName);
      const lister = shareSas(share, 'l');
      const names: string[] = [];
      for await (const item of lister.getDirectoryClient('dir').listFilesAndDirectories()) names.push(item.name);
      expect(names).toContain('doc.txt');
      await refused(
        shareSas(share, 'rcwd').getDirectoryClient('dir').listFilesAndDirectories().next(),
        403,
        'AuthorizationPermissionMismatch',
      );

      const creator = shareSas(share, 'c');
      await expectSasEvents(await creator.getDirectoryClient('by-share-sas').create());
      await expectSasEvents(await creator.getDirectoryClient('by-share-sas').getFileClient('f').create(3));
      await refused(
        shareSas(share, 'rl').getDirectoryClient('refused-dir').create(),
        403,
        'AuthorizationPermissionMismatch',
      );
      expect(await share.getDirectoryClient('refused-dir').exists()).toBe(false);
      expect(await contentOf(shareSas(share, 'r').getDirectoryClient('dir').getFileClient('doc.txt'))).toBe(
        CONTENT.toString(),
      );
    });

    it('cannot read, create or delete the share itself (an account SAS can)', async () => {
      const share = ownerA.getShareClient(shareName);
      const full = shareSas(share, 'rcwdl');
      await refused(full.getProperties(), 403, 'AuthorizationFailure');
      await refused(full.delete(), 403, 'AuthorizationFailure');
      const fresh = ownerA.getShareClient(uniqueShare('sas-s'));
      await refused(shareSas(fresh, 'rcwdl').create(), 403, 'AuthorizationFailure');
      expect(await share.exists()).toBe(true);
      expect(await fresh.exists()).toBe(false);
    });

    it('is refused on another share of the same account, and on the same share name of another tenant', async () => {
      const sas = new URL(
        ownerA
          .getShareClient(shareName)
          .generateSasUrl({ permissions: ShareSASPermissions.parse('rcwdl'), expiresOn: new Date(Date.now() + HOUR) }),
      ).search;
      const otherShare = ownerA.getShareClient(uniqueShare('sas-o'));
      await otherShare.create();
      await refused(
        new ShareClient(`${otherShare.url}${sas}`, undefined, NO_RETRY).getDirectoryClient('intruder').create(),
        403,
        'AuthenticationFailed',
      );
      expect(await otherShare.getDirectoryClient('intruder').exists()).toBe(false);
      const inB = new ShareClient(`${ownerB.getShareClient(shareName).url}${sas}`, undefined, NO_RETRY);
      await refused(inB.getDirectoryClient('dir').getFileClient('doc.txt').download(), 403, 'AuthenticationFailed');
      await refused(inB.getDirectoryClient('intruder').create(), 403, 'AuthenticationFailed');
      expect(await ownerB.getShareClient(shareName).getDirectoryClient('intruder').exists()).toBe(false);
    });
  });

  describe('account SAS', () => {
    it('creates and deletes a share with srt=c, recorded as the SAS principal', async () => {
      const name = uniqueShare('sas-acct');
      const created = await accountSas(ownerA, 'c', 'c').getShareClient(name).create();
      expect((await expectSasEvents(created)).map((e) => e.type)).toContain('ShareCreated');
      expect(await ownerA.getShareClient(name).exists()).toBe(true);
      expect((await accountSas(ownerA, 'r', 'c').getShareClient(name).getProperties()).etag).toEqual(
        expect.any(String),
      );
      await refused(
        accountSas(ownerA, 'rwl', 'c').getShareClient(name).delete(),
        403,
        'AuthorizationPermissionMismatch',
      );
      await expectSasEvents(await accountSas(ownerA, 'd', 'c').getShareClient(name).delete());
      expect(await ownerA.getShareClient(name).exists()).toBe(false);
    });

    it('checks the resource type: shares need c, directories and files o, listing c', async () => {
      const name = uniqueShare('sas-srt');
      await refused(
        accountSas(ownerA, 'rwdlc', 'so').getShareClient(name).create(),
        403,
        'AuthorizationResourceTypeMismatch',
      );
      expect(await ownerA.getShareClient(name).exists()).toBe(false);
      const objects = accountSas(ownerA, 'rwdlc', 'o').getShareClient(shareName);
      expect(await contentOf(objects.getDirectoryClient('dir').getFileClient('doc.txt'))).toBe(CONTENT.toString());
      await expectSasEvents(await objects.getDirectoryClient('by-account-sas').create());
      await refused(
        objects.getDirectoryClient('dir').listFilesAndDirectories().next(),
        403,
        'AuthorizationResourceTypeMismatch',
      );
      const containers = accountSas(ownerA, 'rwdlc', 'c').getShareClient(shareName);
      expect((await containers.getDirectoryClient('dir').listFilesAndDirectories().next()).done).toBe(false);
      await refused(
        containers.getDirectoryClient('dir').getFileClient('doc.txt').download(),
        403,
        'AuthorizationResourceTypeMismatch',
      );
    });

    it("signed by tenant A, is refused at tenant B's account", async () => {
      const sas = new URL(
        ownerA.generateAccountSasUrl(new Date(Date.now() + HOUR), AccountSASPermissions.parse('rwdlc'), 'sco'),
      ).search;
      const stolen = new ShareServiceClient(`${service.accountUrl(tenantB.name)}${sas}`, undefined, NO_RETRY);
      await refused(stolen.getShareClient(uniqueShare('sas-x')).create(), 403, 'AuthenticationFailed');
      await refused(stolen.getShareClient(shareName).delete(), 403, 'AuthenticationFailed');
      await refused(
        stolen.getShareClient(shareName).getDirectoryClient('dir').getFileClient('doc.txt').download(),
        403,
        'AuthenticationFailed',
      );
      expect(await ownerB.getShareClient(shareName).exists()).toBe(true);
    });

    it('is refused for an account that does not exist', async () => {
      const ghost = `ghost${Date.now().toString(36)}`;
      const ghostOwner = owner(ghost, Buffer.alloc(64, 7).toString('base64'));
      const error = await refused(
        accountSas(ghostOwner, 'rwdlc', 'sco').getShareClient('anything').create(),
        403,
        'AuthenticationFailed',
      );
      expect((error.details as { authenticationErrorDetail?: string }).authenticationErrorDetail).toMatch(
        /^Signature did not match/,
      );
    });
  });

  describe('account-owner operations', () => {
    /** The document as seen through each kind of SAS, with every permission it can carry. */
    const through = {
      'file SAS': () => fileSas(doc, 'rcwd'),
      'share SAS': () =>
        shareSas(ownerA.getShareClient(shareName), 'rcwdl').getDirectoryClient('dir').getFileClient('doc.txt'),
      'account SAS': () =>
        accountSas(ownerA, 'rwdlacup', 'sco')
          .getShareClient(shareName)
          .getDirectoryClient('dir')
          .getFileClient('doc.txt'),
    };

    it.each(Object.keys(through) as (keyof typeof through)[])(
      'List Handles and Force Close Handles refuse the %s with AuthorizationFailure',
      async (kind) => {
        const client = through[kind]();
        await refused(client.listHandles().next(), 403, 'AuthorizationFailure');
        await refused(client.forceCloseAllHandles(), 403, 'AuthorizationFailure');
        await refused(client.forceCloseHandle('1'), 403, 'AuthorizationFailure');
        // The account key still may.
        await expect(doc.listHandles().next()).resolves.toBeDefined();
      },
    );

    it('jobs and audit refuse an account SAS with AuthorizationFailure; handle open and close need w', async () => {
      const account = new URL(
        ownerA.generateAccountSasUrl(new Date(Date.now() + HOUR), AccountSASPermissions.parse('rwdlacup'), 'sco'),
      );
      const raw = (method: string, path: string, query: string, headers: Record<string, string> = {}) =>
        sendRaw(service.url, {
          method,
          path,
          query: `${account.search.slice(1)}&${query}`,
          headers: { 'x-ms-date': undefined, ...headers },
        });
      const docPath = new URL(doc.url).pathname;
      for (const res of [
        await raw('GET', `/${DEVELOPMENT_ACCOUNT}`, 'comp=forceclosejobs'),
        await raw('GET', `/${DEVELOPMENT_ACCOUNT}`, 'comp=auditevents'),
        await raw('GET', `/${DEVELOPMENT_ACCOUNT}`, 'comp=auditexport'),
        await raw('GET', docPath, 'comp=leasehistory'),
        await raw('PUT', docPath, 'comp=forceclosejob', { 'x-ms-handle-id': '*' }),
      ]) {
        expect({ status: res.status, code: res.header('x-ms-error-code') }).toEqual({
          status: 403,
          code: 'AuthorizationFailure',
        });
        expect(res.body).toMatch(/<Code>AuthorizationFailure<\/Code>/);
      }

      const open = (url: string) => {
        const u = new URL(url);
        return sendRaw(service.url, {
          method: 'PUT',
          path: u.pathname,
          query: `${u.search.slice(1)}&comp=openhandle`,
          headers: { 'x-ms-date': undefined, 'x-leasehold-client-ip': '10.9.9.9', 'x-leasehold-access': 'Read' },
        });
      };
      const read = await open(
        doc.generateSasUrl({ permissions: FileSASPermissions.parse('r'), expiresOn: new Date(Date.now() + HOUR) }),
      );
      expect({ status: read.status, code: read.header('x-ms-error-code') }).toEqual({
        status: 403,
        code: 'AuthorizationPermissionMismatch',
      });
      const opened = await open(
        doc.generateSasUrl({ permissions: FileSASPermissions.parse('w'), expiresOn: new Date(Date.now() + HOUR) }),
      );
      expect(opened.status).toBe(201);
      const { rows } = await service.db.query(
        `SELECT type, metadata FROM events WHERE metadata->>'clientRequestId' = $1`,
        [opened.header('x-ms-client-request-id')],
      );
      expect(rows).toEqual([
        {
          type: 'HandleOpened',
          metadata: expect.objectContaining({ principal: `sas:${DEVELOPMENT_ACCOUNT}`, authentication: 'SAS' }),
        },
      ]);
      const closeUrl = new URL(
        doc.generateSasUrl({ permissions: FileSASPermissions.parse('w'), expiresOn: new Date(Date.now() + HOUR) }),
      );
      const closed = await sendRaw(service.url, {
        method: 'PUT',
        path: closeUrl.pathname,
        query: `${closeUrl.search.slice(1)}&comp=closehandle`,
        headers: {
          'x-ms-date': undefined,
          'x-leasehold-handle-id': opened.header('x-leasehold-handle-id')!,
          'x-leasehold-session-id': opened.header('x-leasehold-session-id')!,
        },
      });
      expect(closed.status).toBe(200);
    });
  });
});
