import {
  ShareClient,
  ShareFileClient,
  ShareSASPermissions,
  ShareServiceClient,
  FileSASPermissions,
} from '@azure/storage-file-share';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { eventsOf, onlyEvent, refusedBySdk } from '../support/recorded';
import { startTestService, TestService, uniqueShare } from '../support/service';
import { sendRaw } from '../support/signed-request';

const NO_RETRY = { retryOptions: { maxTries: 1 } };
/** Azure lets a policy leave out any field (the SAS then gives it); the SDK's type wants all three, its serializer does not. */
type Policies = NonNullable<Parameters<ShareClient['setAccessPolicy']>[0]>;
const policies = (
  list: Array<{ id: string; accessPolicy?: { startsOn?: Date; expiresOn?: Date; permissions?: string } }>,
) => list as Policies;
const HOUR = 3600_000;

/**
 * The share- and service-level operations SDK users call first, through the JS SDK: List Shares,
 * share properties, metadata, statistics and access policies (with SAS naming them), File service
 * properties with the CORS rules the service applies, and Put Range From URL.
 */
describe('share and service operations through the JS SDK', () => {
  let service: TestService;
  let client: ShareServiceClient;

  beforeAll(async () => {
    service = await startTestService();
    client = service.serviceClient();
  });
  afterAll(() => service.stop());

  const refused = (call: Promise<unknown>, status: number, code: string) =>
    refusedBySdk(service.db, call, status, code);
  /** The error body a GET of a (SAS) URL gets, as text. */
  const errorBody = async (url: string) => {
    const { pathname, search } = new URL(url);
    return (await sendRaw(service.url, { method: 'GET', path: pathname, query: search.slice(1) })).body;
  };
  /** A refused download or HEAD: the SDK reads no error body, only the x-ms-error-code header. */
  const refusedBodyless = (call: Promise<unknown>, status: number, code: string) =>
    refusedBySdk(service.db, call, status, code, { head: true });
  const newShare = async (prefix = 'surf', metadata?: Record<string, string>): Promise<ShareClient> => {
    const share = client.getShareClient(uniqueShare(prefix));
    await share.create({ metadata, quota: 10 });
    return share;
  };

  describe('List Shares', () => {
    it("lists this account's shares by prefix, page by page, with metadata when asked", async () => {
      const prefix = uniqueShare('ls').slice(0, 40);
      const names = ['a', 'b', 'c', 'd', 'e'].map((x) => `${prefix}-${x}`);
      for (const name of names)
        await client.getShareClient(name).create({ metadata: { tag: name.slice(-1) }, quota: 7 });

      const pages: string[][] = [];
      for await (const page of client.listShares({ prefix }).byPage({ maxPageSize: 2 }))
        pages.push((page.shareItems ?? []).map((s) => s.name));
      expect(pages).toEqual([names.slice(0, 2), names.slice(2, 4), names.slice(4)]);

      const items = [];
      for await (const item of client.listShares({ prefix, includeMetadata: true })) items.push(item);
      expect(items.map((s) => [s.name, s.metadata, s.properties.quota, s.properties.accessTier])).toEqual(
        names.map((n) => [n, { tag: n.slice(-1) }, 7, 'TransactionOptimized']),
      );
      expect(items[0].properties.etag).toMatch(/^"0x/);
      expect(items[0].properties.lastModified).toBeInstanceOf(Date);
      const plain = await client.listShares({ prefix }).next();
      expect(plain.value.metadata).toBeUndefined();
    });

    it("shows each share's lease in its Properties, as Get Share Properties does, beside its settings", async () => {
      const prefix = uniqueShare('lslease').slice(0, 40);
      const leased = client.getShareClient(`${prefix}-a`);
      const free = client.getShareClient(`${prefix}-b`);
      await leased.create({ metadata: { k: 'v' }, quota: 7 });
      await free.create();
      await leased.getShareLeaseClient().acquireLease(-1);
      // Settings change under the lease (no x-ms-lease-id sent) and leave it as it is.
      const props = await leased.setProperties({ quotaInGB: 9, accessTier: 'Hot' });

      const items = [];
      for await (const item of client.listShares({ prefix, includeMetadata: true })) items.push(item);
      expect(
        items.map((s) => [s.name, s.properties.leaseStatus, s.properties.leaseState, s.properties.leaseDuration]),
      ).toEqual([
        [leased.name, 'locked', 'leased', 'infinite'],
        [free.name, 'unlocked', 'available', undefined],
      ]);
      expect(items[0]).toMatchObject({
        metadata: { k: 'v' },
        properties: { quota: 9, accessTier: 'Hot', etag: props.etag },
      });
      expect(await leased.getProperties()).toMatchObject({
        quota: 9,
        accessTier: 'Hot',
        metadata: { k: 'v' },
        etag: props.etag,
        leaseStatus: 'locked',
        leaseState: 'leased',
        leaseDuration: 'infinite',
      });
    });

    it('refuses a marker it did not issue and an include it does not know', async () => {
      const raw = (query: string) =>
        sendRaw(service.url, {
          method: 'GET',
          path: `/${DEVELOPMENT_ACCOUNT}`,
          query,
          signer: { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY },
        });
      const forged = await raw('comp=list&marker=eyJuYW1lIjoieiJ9.AAAAAAAAAAAAAAAAAAAAAA');
      expect([forged.status, forged.header('x-ms-error-code')]).toEqual([400, 'InvalidContinuationToken']);
      const include = await raw('comp=list&include=everything');
      expect([include.status, include.header('x-ms-error-code')]).toEqual([400, 'InvalidQueryParameterValue']);
      const maxresults = await raw('comp=list&maxresults=0');
      expect([maxresults.status, maxresults.header('x-ms-error-code')]).toEqual([400, 'InvalidQueryParameterValue']);
    });
  });

  describe('share properties, metadata and statistics', () => {
    it('sets and reads metadata, quota and access tier, each write an event that moves the ETag', async () => {
      const share = await newShare('props', { first: '1' });
      const before = await share.getProperties();
      expect([before.quota, before.accessTier, before.metadata]).toEqual([10, 'TransactionOptimized', { first: '1' }]);

      const meta = await share.setMetadata({ owner: 'ops', mixed: 'Case' });
      expect(meta.etag).not.toBe(before.etag);
      expect((await onlyEvent(service.db, meta, 'ShareMetadataSet')).data).toMatchObject({
        metadata: { owner: 'ops', mixed: 'Case' },
        etag: meta.etag,
      });

      const props = await share.setProperties({ quotaInGB: 42, accessTier: 'Cool' });
      expect((await onlyEvent(service.db, props, 'SharePropertiesSet')).data).toMatchObject({
        quota: 42,
        accessTier: 'Cool',
        accessTierChanged: true,
      });
      const after = await share.getProperties();
      expect([after.quota, after.accessTier, after.metadata, after.etag]).toEqual([
        42,
        'Cool',
        { owner: 'ops', mixed: 'Case' },
        props.etag,
      ]);
      expect(after.accessTierChangeTime).toBeInstanceOf(Date);

      const quotaOnly = await share.setQuota(5);
      expect((await onlyEvent(service.db, quotaOnly, 'SharePropertiesSet')).data).toMatchObject({
        quota: 5,
        accessTier: 'Cool',
        accessTierChanged: false,
      });
      expect((await share.getProperties()).quota).toBe(5);
    });

    it('refuses a bad quota, a bad tier and bad metadata, and answers ShareNotFound for a missing share', async () => {
      const share = await newShare('badprops');
      await refused(share.setQuota(0), 400, 'InvalidHeaderValue');
      await refused(share.setQuota(102401), 400, 'InvalidHeaderValue');
      await refused(share.setProperties({ accessTier: 'Premium' }), 400, 'InvalidHeaderValue');
      await refused(share.setMetadata({ '1bad': 'x' }), 400, 'InvalidMetadata');
      const missing = client.getShareClient(uniqueShare('missing'));
      await refused(missing.setMetadata({ a: 'b' }), 404, 'ShareNotFound');
      await refused(missing.setProperties({ quotaInGB: 3 }), 404, 'ShareNotFound');
      await refused(missing.getStatistics(), 404, 'ShareNotFound');
      await refused(missing.getAccessPolicy(), 404, 'ShareNotFound');
    });

    it('reads metadata alone with comp=metadata', async () => {
      const share = await newShare('getmeta', { k: 'v' });
      const res = await sendRaw(service.url, {
        method: 'GET',
        path: `/${DEVELOPMENT_ACCOUNT}/${share.name}`,
        query: 'restype=share&comp=metadata',
        signer: { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY },
      });
      expect([res.status, res.header('x-ms-meta-k'), res.header('etag')]).toEqual([
        200,
        'v',
        (await share.getProperties()).etag,
      ]);
    });

    it('counts the bytes stored: written ranges, not the sparse size', async () => {
      const share = await newShare('stats');
      expect((await share.getStatistics()).shareUsageBytes).toBe(0);
      const file = share.rootDirectoryClient.getFileClient('big.bin');
      await file.create(64 * 1024 * 1024);
      expect((await share.getStatistics()).shareUsageBytes).toBe(0);
      await file.uploadRange(Buffer.alloc(1000, 7), 0, 1000);
      const small = share.rootDirectoryClient.getFileClient('small.txt');
      await small.create(5);
      await small.uploadRange(Buffer.from('hello'), 0, 5);
      expect((await share.getStatistics()).shareUsageBytes).toBe(1005);
      await small.delete();
      expect((await share.getStatistics()).shareUsageBytes).toBe(1000);
    });
  });

  describe('races', () => {
    it('concurrent writes to one share each land once, in some order, and the row ends as the last event says', async () => {
      const share = await newShare('race');
      const writes = Array.from({ length: 24 }, (_, i) =>
        i % 3 === 0
          ? share.setMetadata({ writer: String(i) })
          : i % 3 === 1
            ? share.setQuota(i + 1)
            : share.setAccessPolicy(policies([{ id: `p${i}`, accessPolicy: { permissions: 'r' } }])),
      );
      const results = await Promise.all(writes);
      const { rows } = await service.db.query(
        `SELECT e.type, e.data, e.stream_version FROM events e JOIN shares s ON e.stream_id = 'share-' || s.share_id AND e.tenant = s.tenant
         WHERE s.tenant = $1 AND s.name = $2 ORDER BY e.stream_version`,
        [DEVELOPMENT_ACCOUNT, share.name],
      );
      // ShareCreated, then every write exactly once, versions without gaps.
      expect(rows.map((r) => r.stream_version)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(new Set(rows.slice(1).map((r) => r.data.etag))).toEqual(new Set(results.map((r) => r.etag)));
      const last = (type: string) => [...rows].reverse().find((r) => r.type === type)!.data;
      const props = await share.getProperties();
      expect(props.etag).toBe(rows[rows.length - 1].data.etag);
      expect(props.metadata).toEqual(last('ShareMetadataSet').metadata);
      expect(props.quota).toBe(last('SharePropertiesSet').quota);
      expect((await share.getAccessPolicy()).signedIdentifiers.map((i) => i.id)).toEqual(
        last('ShareAclSet').signedIdentifiers.map((i: { id: string }) => i.id),
      );
    });

    it('concurrent Set File Service Properties: every one recorded, the last one in the log is what Get answers', async () => {
      const account = await service.createAccount(`race${Date.now().toString(36)}`);
      const owner = service.serviceClient(account.name, account.key1);
      const sets = Array.from({ length: 12 }, (_, i) =>
        owner.setProperties({
          cors: [
            {
              allowedOrigins: `https://o${i}.example`,
              allowedMethods: 'GET',
              allowedHeaders: '',
              exposedHeaders: '',
              maxAgeInSeconds: i,
            },
          ],
        }),
      );
      await Promise.all(sets);
      const { rows } = await service.db.query(
        `SELECT data, stream_version FROM events WHERE tenant = $1 AND stream_id = $2 ORDER BY stream_version`,
        [account.name, `fileservice-${account.name}`],
      );
      expect(rows.map((r) => r.stream_version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect((await owner.getProperties()).cors?.map((r) => r.allowedOrigins)).toEqual(
        rows[11].data.cors[0].allowedOrigins,
      );
    });
  });

  describe('share ACL and SAS naming a stored access policy', () => {
    const policyTimes = () => ({ startsOn: new Date(Date.now() - HOUR), expiresOn: new Date(Date.now() + HOUR) });

    it('stores up to five policies, returns them, and refuses a sixth', async () => {
      const share = await newShare('acl');
      expect(await share.getAccessPolicy()).toMatchObject({ signedIdentifiers: [] });
      const set = await share.setAccessPolicy(
        policies([{ id: 'read', accessPolicy: { ...policyTimes(), permissions: 'rl' } }, { id: 'bare' }]),
      );
      const event = await onlyEvent(service.db, set, 'ShareAclSet');
      expect(event.data.signedIdentifiers.map((s: { id: string }) => s.id)).toEqual(['read', 'bare']);
      const got = await share.getAccessPolicy();
      expect(got.etag).toBe(set.etag);
      expect(got.signedIdentifiers.map((s) => [s.id, s.accessPolicy?.permissions])).toEqual([
        ['read', 'rl'],
        ['bare', undefined],
      ]);
      expect(got.signedIdentifiers[0].accessPolicy?.expiresOn).toBeInstanceOf(Date);
      const six = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}`, accessPolicy: { permissions: 'r' } }));
      await refused(share.setAccessPolicy(policies(six)), 400, 'InvalidXmlDocument');
      await refused(
        share.setAccessPolicy(policies([{ id: 'x', accessPolicy: { permissions: 'wr' } }])),
        400,
        'InvalidXmlDocument',
      );
      expect((await share.getAccessPolicy()).signedIdentifiers).toHaveLength(2);
    });

    it("a SAS with si takes the policy's permissions and times; changing or removing the policy binds SAS already handed out", async () => {
      const share = await newShare('si');
      const file = share.rootDirectoryClient.getFileClient('doc.txt');
      await file.create(4);
      await file.uploadRange(Buffer.from('data'), 0, 4);
      await share.setAccessPolicy([{ id: 'reader', accessPolicy: { ...policyTimes(), permissions: 'r' } }]);

      const viaPolicy = new ShareFileClient(file.generateSasUrl({ identifier: 'reader' }), undefined, NO_RETRY);
      expect((await viaPolicy.downloadToBuffer()).toString()).toBe('data');
      // The policy grants read only.
      await refused(viaPolicy.uploadRange(Buffer.from('nope'), 0, 4), 403, 'AuthorizationPermissionMismatch');
      // A field on both sides is refused.
      const doubled = new ShareFileClient(
        file.generateSasUrl({ identifier: 'reader', permissions: FileSASPermissions.parse('r') }),
        undefined,
        NO_RETRY,
      );
      await refusedBodyless(doubled.getProperties(), 403, 'AuthenticationFailed');

      // The policy now grants write too: the same SAS writes.
      await share.setAccessPolicy([{ id: 'reader', accessPolicy: { ...policyTimes(), permissions: 'rw' } }]);
      const write = await viaPolicy.uploadRange(Buffer.from('DATA'), 0, 4);
      const written = await onlyEvent(service.db, write, 'FileRangeWritten', `sas:${DEVELOPMENT_ACCOUNT}`, 'SAS');
      expect(written.data).toMatchObject({ start: 0, end: 3 });

      // The policy's window moves into the past: the same SAS is out of its time frame.
      await share.setAccessPolicy([
        {
          id: 'reader',
          accessPolicy: {
            startsOn: new Date(Date.now() - 2 * HOUR),
            expiresOn: new Date(Date.now() - HOUR),
            permissions: 'r',
          },
        },
      ]);
      await refusedBodyless(viaPolicy.getProperties(), 403, 'AuthenticationFailed');
      expect(await errorBody(viaPolicy.url)).toMatch(/time frame/);

      // Removed: refused.
      await share.setAccessPolicy([]);
      await refusedBodyless(viaPolicy.getProperties(), 403, 'AuthenticationFailed');
      expect(await errorBody(viaPolicy.url)).toMatch(/not a stored access policy/);
    });

    it('a share SAS with si and its own expiry lists under a policy that grants l', async () => {
      const share = await newShare('sisr');
      await share.rootDirectoryClient.getFileClient('x.txt').create(1);
      await share.setAccessPolicy(policies([{ id: 'lister', accessPolicy: { permissions: 'l' } }]));
      const url = share.generateSasUrl({ identifier: 'lister', expiresOn: new Date(Date.now() + HOUR) });
      const lister = new ShareClient(url, undefined, NO_RETRY);
      const names: string[] = [];
      for await (const item of lister.rootDirectoryClient.listFilesAndDirectories()) names.push(item.name);
      expect(names).toEqual(['x.txt']);
      // The policy of one share does not open another share.
      const other = await newShare('sisr-other');
      await other.setAccessPolicy(policies([{ id: 'lister', accessPolicy: { permissions: 'rl' } }]));
      const misdirected = new ShareClient(url.replace(share.name, other.name), undefined, NO_RETRY);
      await refused(misdirected.rootDirectoryClient.listFilesAndDirectories().next(), 403, 'AuthenticationFailed');
      // Only the account owner reads or sets the ACL.
      const sasOwner = new ShareClient(
        share.generateSasUrl({
          permissions: ShareSASPermissions.parse('rcwdl'),
          expiresOn: new Date(Date.now() + HOUR),
        }),
        undefined,
        NO_RETRY,
      );
      await refused(sasOwner.getAccessPolicy(), 403, 'AuthorizationFailure');
    });
  });

  describe('File service properties and CORS', () => {
    // Each test sets the whole account's rules, so they run in an account of their own.
    let corsClient: ShareServiceClient;
    let corsAccount: { name: string; key1: string };
    beforeAll(async () => {
      corsAccount = await service.createAccount(`cors${Date.now().toString(36)}`);
      corsClient = service.serviceClient(corsAccount.name, corsAccount.key1);
    });

    const rule = {
      allowedOrigins: 'https://app.example,https://admin.example',
      allowedMethods: 'GET,PUT,DELETE',
      allowedHeaders: 'x-ms-*,content-type',
      exposedHeaders: 'x-ms-meta-*,etag',
      maxAgeInSeconds: 600,
    };

    it('answers defaults, stores CORS rules and metrics as an event, and keeps what a Set leaves out', async () => {
      const defaults = await corsClient.getProperties();
      expect(defaults.cors).toEqual([]);
      expect(defaults.hourMetrics).toMatchObject({ enabled: false, version: '1.0' });
      const set = await corsClient.setProperties({
        cors: [rule],
        hourMetrics: { enabled: true, includeAPIs: true, version: '1.0', retentionPolicy: { enabled: true, days: 7 } },
      });
      expect(set._response.status).toBe(202);
      const event = await onlyEvent(service.db, set, 'FileServicePropertiesSet', corsAccount.name);
      expect(event.data.cors).toEqual([
        {
          ...rule,
          allowedOrigins: rule.allowedOrigins.split(','),
          allowedMethods: rule.allowedMethods.split(','),
          allowedHeaders: rule.allowedHeaders.split(','),
          exposedHeaders: rule.exposedHeaders.split(','),
        },
      ]);
      expect(event.stream_id).toBe(`fileservice-${corsAccount.name}`);
      await corsClient.setProperties({ minuteMetrics: { enabled: false, version: '1.0' } });
      const got = await corsClient.getProperties();
      expect(got.cors).toEqual([rule]);
      expect(got.hourMetrics).toMatchObject({
        enabled: true,
        includeAPIs: true,
        retentionPolicy: { enabled: true, days: 7 },
      });
      // Another account's properties are its own.
      expect((await client.getProperties()).cors ?? []).not.toContainEqual(rule);
    });

    it("refuses rules outside Azure's limits, and protocol settings it cannot apply", async () => {
      await refused(
        corsClient.setProperties({ cors: Array.from({ length: 6 }, () => rule) }),
        400,
        'InvalidXmlNodeValue',
      );
      await refused(
        corsClient.setProperties({ cors: [{ ...rule, allowedMethods: 'FETCH' }] }),
        400,
        'InvalidXmlNodeValue',
      );
      await refused(
        corsClient.setProperties({ protocol: { smb: { multichannel: { enabled: true } } } }),
        400,
        'InvalidXmlNodeValue',
      );
      const notXml = await sendRaw(service.url, {
        method: 'PUT',
        path: `/${corsAccount.name}`,
        query: 'restype=service&comp=properties',
        body: '<StorageServiceProperties><Cors>',
        signer: { account: corsAccount.name, key: corsAccount.key1 },
      });
      expect([notXml.status, notXml.header('x-ms-error-code')]).toEqual([400, 'InvalidXmlDocument']);
    });

    it('a browser-style exchange: the preflight is answered from the rules, then the request carries the Access-Control headers', async () => {
      await corsClient.setProperties({ cors: [rule] });
      const share = corsClient.getShareClient(uniqueShare('cors'));
      await share.create();
      await share.setMetadata({ owner: 'ops' });
      const path = `/${corsAccount.name}/${share.name}`;

      const preflight = await sendRaw(service.url, {
        method: 'OPTIONS',
        path,
        query: 'restype=share',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'x-ms-version,x-ms-date',
          'x-ms-date': undefined,
          'x-ms-version': undefined,
          'x-ms-client-request-id': undefined,
        },
      });
      expect(preflight.status).toBe(200);
      expect({
        origin: preflight.header('access-control-allow-origin'),
        methods: preflight.header('access-control-allow-methods'),
        headers: preflight.header('access-control-allow-headers'),
        maxAge: preflight.header('access-control-max-age'),
        credentials: preflight.header('access-control-allow-credentials'),
      }).toEqual({
        origin: 'https://app.example',
        methods: 'GET',
        headers: 'x-ms-version,x-ms-date',
        maxAge: '600',
        credentials: 'true',
      });

      const actual = await sendRaw(service.url, {
        method: 'GET',
        path,
        query: 'restype=share',
        headers: { origin: 'https://app.example' },
        signer: { account: corsAccount.name, key: corsAccount.key1 },
      });
      expect(actual.status).toBe(200);
      expect(actual.header('access-control-allow-origin')).toBe('https://app.example');
      expect(actual.header('access-control-expose-headers')?.split(',').sort()).toEqual(['etag', 'x-ms-meta-owner']);
      expect(actual.header('vary')).toBe('Origin');

      // An error answer carries them too, so the page can read why.
      const unsigned = await sendRaw(service.url, {
        method: 'GET',
        path,
        query: 'restype=share',
        headers: { origin: 'https://app.example' },
      });
      expect([unsigned.status, unsigned.header('access-control-allow-origin')]).toEqual([403, 'https://app.example']);

      // A header the rule does not allow, a method it does not allow, another origin: refused as documented.
      for (const headers of [
        {
          origin: 'https://app.example',
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'authorization',
        },
        { origin: 'https://app.example', 'access-control-request-method': 'POST' },
        { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
      ]) {
        const refusedPreflight = await sendRaw(service.url, { method: 'OPTIONS', path, headers });
        expect([
          refusedPreflight.status,
          refusedPreflight.header('x-ms-error-code'),
          refusedPreflight.header('access-control-allow-origin'),
        ]).toEqual([403, 'CorsPreflightFailure', undefined]);
      }
      const noMethod = await sendRaw(service.url, {
        method: 'OPTIONS',
        path,
        headers: { origin: 'https://app.example' },
      });
      expect([noMethod.status, noMethod.header('x-ms-error-code')]).toEqual([400, 'MissingRequiredHeader']);
      // Another origin's actual request gets no Access-Control headers.
      const other = await sendRaw(service.url, {
        method: 'GET',
        path,
        query: 'restype=share',
        headers: { origin: 'https://evil.example' },
        signer: { account: corsAccount.name, key: corsAccount.key1 },
      });
      expect([other.status, other.header('access-control-allow-origin'), other.header('vary')]).toEqual([
        200,
        undefined,
        'Origin',
      ]);
      // Rules are per account: the development account has none for this origin.
      const elsewhere = await sendRaw(service.url, {
        method: 'OPTIONS',
        path: `/${DEVELOPMENT_ACCOUNT}`,
        headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
      });
      expect(elsewhere.status).toBe(403);
    });

    it('a wildcard rule answers * and grants no credentials', async () => {
      await corsClient.setProperties({
        cors: [
          { allowedOrigins: '*', allowedMethods: 'GET', allowedHeaders: '*', exposedHeaders: '', maxAgeInSeconds: 0 },
        ],
      });
      const preflight = await sendRaw(service.url, {
        method: 'OPTIONS',
        path: `/${corsAccount.name}`,
        headers: {
          origin: 'https://any.example',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'x-anything',
        },
      });
      expect([
        preflight.status,
        preflight.header('access-control-allow-origin'),
        preflight.header('access-control-allow-credentials'),
      ]).toEqual([200, '*', undefined]);
      await corsClient.setProperties({ cors: [] });
      const off = await sendRaw(service.url, {
        method: 'OPTIONS',
        path: `/${corsAccount.name}`,
        headers: { origin: 'https://any.example', 'access-control-request-method': 'GET' },
      });
      expect([off.status, off.header('x-ms-error-code')]).toEqual([403, 'CorsPreflightFailure']);
    });
  });

  describe('Put Range From URL', () => {
    it('copies a range from a file of the same account read under a SAS, recording where it came from', async () => {
      const share = await newShare('prfu');
      const source = share.rootDirectoryClient.getFileClient('source.bin');
      await source.create(10);
      await source.uploadRange(Buffer.from('0123456789'), 0, 10);
      const target = share.rootDirectoryClient.getFileClient('target.bin');
      await target.create(8);
      const sasUrl = source.generateSasUrl({
        permissions: FileSASPermissions.parse('r'),
        expiresOn: new Date(Date.now() + HOUR),
      });
      const put = await target.uploadRangeFromURL(sasUrl, 3, 2, 5);
      expect(put._response.status).toBe(201);
      expect((await target.downloadToBuffer()).toString('latin1')).toBe('\0\x0034567\0');
      const event = await onlyEvent(service.db, put, 'FileRangeWritten');
      expect(event.data).toMatchObject({
        start: 2,
        end: 6,
        length: 5,
        copiedFrom: { share: share.name, path: 'source.bin', start: 3 },
      });
    });

    it("is gated by the destination's lease, not the source's", async () => {
      const share = await newShare('prfulease');
      const source = share.rootDirectoryClient.getFileClient('s');
      await source.create(4);
      await source.uploadRange(Buffer.from('abcd'), 0, 4);
      await source.getShareLeaseClient().acquireLease();
      const target = share.rootDirectoryClient.getFileClient('t');
      await target.create(4);
      const lease = target.getShareLeaseClient();
      await lease.acquireLease();
      const sasUrl = source.generateSasUrl({
        permissions: FileSASPermissions.parse('r'),
        expiresOn: new Date(Date.now() + HOUR),
      });
      await refused(target.uploadRangeFromURL(sasUrl, 0, 0, 4), 412, 'LeaseIdMissing');
      await target.uploadRangeFromURL(sasUrl, 0, 0, 4, { leaseAccessConditions: { leaseId: lease.leaseId } });
      expect((await target.downloadToBuffer()).toString()).toBe('abcd');
    });

    it('refuses a source without a SAS, with a write-only SAS, in another account, missing, or out of range', async () => {
      const share = await newShare('prfubad');
      const source = share.rootDirectoryClient.getFileClient('s');
      await source.create(4);
      const target = share.rootDirectoryClient.getFileClient('t');
      await target.create(4);
      const sas = (permissions: string, file = source) =>
        file.generateSasUrl({
          permissions: FileSASPermissions.parse(permissions),
          expiresOn: new Date(Date.now() + HOUR),
        });
      await refused(target.uploadRangeFromURL(source.url, 0, 0, 4), 403, 'CannotVerifyCopySource');
      await refused(target.uploadRangeFromURL(sas('w'), 0, 0, 4), 403, 'CannotVerifyCopySource');
      await refused(
        target.uploadRangeFromURL(sas('r', share.rootDirectoryClient.getFileClient('missing')), 0, 0, 4),
        404,
        'CannotVerifyCopySource',
      );
      await refused(target.uploadRangeFromURL(sas('r'), 2, 0, 4), 416, 'InvalidRange');
      await refused(
        target.uploadRangeFromURL(sas('r'), 0, 0, 4, { sourceAuthorization: { scheme: 'Bearer', value: 'token' } }),
        403,
        'CannotVerifyCopySource',
      );
      const other = await service.createAccount(`prfu${Date.now().toString(36)}`);
      const foreign = service.serviceClient(other.name, other.key1).getShareClient(uniqueShare('foreign'));
      await foreign.create();
      const foreignFile = foreign.rootDirectoryClient.getFileClient('f');
      await foreignFile.create(4);
      await refused(target.uploadRangeFromURL(sas('r', foreignFile), 0, 0, 4), 403, 'CannotVerifyCopySource');
      expect(await eventsOf(service.db, (await target.getProperties()).requestId)).toEqual([]);
    });
  });
});
