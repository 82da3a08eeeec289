import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { PythonSdk } from '../support/python';
import { eventsOf } from '../support/recorded';
import { startTestService, TestService, uniqueShare } from '../support/service';
import { sendRaw } from '../support/signed-request';

const HOUR = 3600_000;
const iso = (offset: number) => new Date(Date.now() + offset).toISOString().replace(/\.\d+Z$/, 'Z');

/** The same share- and service-level operations through the official Python SDK (azure.storage.fileshare). */
describe('share and service operations through the Python SDK', () => {
  let service: TestService;
  let python: PythonSdk;
  const dev = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };

  beforeAll(async () => {
    service = await startTestService();
    python = new PythonSdk(service.url);
  });
  afterAll(async () => {
    await python.stop();
    await service.stop();
  });

  /** The call succeeded and recorded exactly one event of `type`, with the request's metadata. */
  const recorded = async (op: string, args: Record<string, unknown>, type: string) => {
    const answer = await python.ok(op, args);
    const events = await eventsOf(service.db, answer.requestId);
    expect(events.map((e) => e.type)).toEqual([type]);
    expect(events[0].metadata).toMatchObject({ requestId: answer.requestId, authentication: 'SharedKey' });
    return { ...answer, event: events[0] };
  };
  /** The call failed as Azure documents, and recorded nothing. */
  const refused = async (op: string, args: Record<string, unknown>, status: number, code: string) => {
    const answer = await python.call(op, args);
    expect(answer.ok ? answer : { status: answer.status, code: answer.code }).toEqual({ status, code });
    if (answer.requestId) expect(await eventsOf(service.db, answer.requestId)).toEqual([]);
  };
  const newShare = async (prefix: string, metadata?: Record<string, string>) => {
    const share = uniqueShare(prefix);
    await python.ok('create_share', { ...dev, share, metadata, quota: 10 });
    return share;
  };

  it('List Shares: pages by prefix, with metadata when asked', async () => {
    const prefix = uniqueShare('pyls').slice(0, 40);
    const names = ['a', 'b', 'c'].map((x) => `${prefix}-${x}`);
    for (const name of names)
      await python.ok('create_share', { ...dev, share: name, metadata: { tag: name.slice(-1) }, quota: 3 });
    const { result: pages } = await python.ok('list_shares', { ...dev, prefix, pageSize: 2 });
    expect(pages.map((p: { name: string }[]) => p.map((s) => s.name))).toEqual([names.slice(0, 2), names.slice(2)]);
    const { result: withMeta } = await python.ok('list_shares', { ...dev, prefix, metadata: true });
    expect(withMeta.flat().map((s: any) => [s.name, s.metadata, s.quota, s.accessTier])).toEqual(
      names.map((n) => [n, { tag: n.slice(-1) }, 3, 'TransactionOptimized']),
    );
  });

  it('Get/Set Share Properties and Metadata, Get Share Stats', async () => {
    const share = await newShare('pyprops', { a: '1' });
    const meta = await recorded('set_share_metadata', { ...dev, share, metadata: { owner: 'py' } }, 'ShareMetadataSet');
    expect(meta.event.data.metadata).toEqual({ owner: 'py' });
    const quota = await recorded('set_share_quota', { ...dev, share, quota: 77 }, 'SharePropertiesSet');
    expect(quota.event.data).toMatchObject({ quota: 77, accessTier: 'TransactionOptimized' });
    await recorded('set_share_properties', { ...dev, share, accessTier: 'Hot' }, 'SharePropertiesSet');
    const { result: props } = await python.ok('get_share_properties', { ...dev, share });
    expect(props).toMatchObject({ quota: 77, accessTier: 'Hot', metadata: { owner: 'py' } });
    await refused('set_share_quota', { ...dev, share, quota: 0 }, 400, 'InvalidHeaderValue');
    await refused(
      'set_share_metadata',
      { ...dev, share: uniqueShare('pynone'), metadata: { a: 'b' } },
      404,
      'ShareNotFound',
    );

    await python.ok('create_file', { ...dev, share, path: 'f.bin', size: 1024 });
    await python.ok('upload_range', { ...dev, share, path: 'f.bin', data: 'x'.repeat(100), offset: 0 });
    expect((await python.ok('get_share_stats', { ...dev, share })).result).toBe(100);
  });

  it('Get/Set Share ACL; a SAS made with policy_id follows the policy as it changes', async () => {
    const share = await newShare('pyacl');
    await python.ok('create_file', { ...dev, share, path: 'doc.txt', size: 4 });
    await python.ok('upload_range', { ...dev, share, path: 'doc.txt', data: 'text', offset: 0 });
    const set = await recorded(
      'set_share_access_policy',
      { ...dev, share, policies: { reader: { permission: 'r', start: iso(-HOUR), expiry: iso(HOUR) } } },
      'ShareAclSet',
    );
    expect(set.event.data.signedIdentifiers).toEqual([
      { id: 'reader', accessPolicy: expect.objectContaining({ permission: 'r' }) },
    ]);
    const { result: acl } = await python.ok('get_share_access_policy', { ...dev, share });
    expect(acl).toEqual([{ id: 'reader', permission: 'r', start: expect.any(String), expiry: expect.any(String) }]);

    const { result: sas } = await python.ok('file_sas', { ...dev, share, path: 'doc.txt', policyId: 'reader' });
    expect((await python.ok('sas_download', { ...dev, share, path: 'doc.txt', sas })).result).toBe('text');
    await refused(
      'sas_upload_range',
      { ...dev, share, path: 'doc.txt', sas, data: 'TEXT', offset: 0 },
      403,
      'AuthorizationPermissionMismatch',
    );
    await python.ok('set_share_access_policy', {
      ...dev,
      share,
      policies: { reader: { permission: 'rw', start: iso(-HOUR), expiry: iso(HOUR) } },
    });
    await python.ok('sas_upload_range', { ...dev, share, path: 'doc.txt', sas, data: 'TEXT', offset: 0 });
    expect((await python.ok('download', { ...dev, share, path: 'doc.txt' })).result).toBe('TEXT');
    await python.ok('set_share_access_policy', { ...dev, share, policies: {} });
    await refused('sas_download', { ...dev, share, path: 'doc.txt', sas }, 403, 'AuthenticationFailed');
    expect((await python.ok('get_share_access_policy', { ...dev, share })).result).toEqual([]);
    // The Python SDK refuses a sixth policy itself (the JS suite shows the service's 400).
    const six = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}`, { permission: 'r' }]));
    await refused('set_share_access_policy', { ...dev, share, policies: six }, 0, 'ValueError');
  });

  it('Get/Set File Service Properties: the CORS rules set through Python answer a browser preflight', async () => {
    const account = await service.createAccount(`pycors${Date.now().toString(36)}`);
    const owner = { account: account.name, key: account.key1 };
    const rule = {
      allowedOrigins: ['https://py.example'],
      allowedMethods: ['GET', 'PUT'],
      allowedHeaders: ['x-ms-meta-*'],
      exposedHeaders: ['x-ms-request-id'],
      maxAgeInSeconds: 30,
    };
    const set = await python.ok('set_service_properties', { ...owner, cors: [rule], hourMetricsDays: 3 });
    expect((await eventsOf(service.db, set.requestId)).map((e) => e.type)).toEqual(['FileServicePropertiesSet']);
    const { result: props } = await python.ok('get_service_properties', owner);
    expect(props).toEqual({
      cors: [
        {
          ...rule,
          allowedOrigins: 'https://py.example',
          allowedMethods: 'GET,PUT',
          allowedHeaders: 'x-ms-meta-*',
          exposedHeaders: 'x-ms-request-id',
        },
      ],
      hourMetricsEnabled: true,
    });
    const preflight = await sendRaw(service.url, {
      method: 'OPTIONS',
      path: `/${account.name}/any`,
      headers: {
        origin: 'https://py.example',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'x-ms-meta-a',
      },
    });
    expect([
      preflight.status,
      preflight.header('access-control-allow-origin'),
      preflight.header('access-control-max-age'),
    ]).toEqual([200, 'https://py.example', '30']);
    await refused(
      'set_service_properties',
      { ...owner, cors: Array.from({ length: 6 }, () => rule) },
      400,
      'InvalidXmlNodeValue',
    );
  });

  it('Put Range From URL: a SAS source of the same account, gated by the destination lease', async () => {
    const share = await newShare('pyprfu');
    await python.ok('create_file', { ...dev, share, path: 'src', size: 6 });
    await python.ok('upload_range', { ...dev, share, path: 'src', data: 'abcdef', offset: 0 });
    await python.ok('create_file', { ...dev, share, path: 'dst', size: 6 });
    const { result: sas } = await python.ok('file_sas', {
      ...dev,
      share,
      path: 'src',
      permission: 'r',
      expiry: iso(HOUR),
    });
    const source = `${service.url}/${DEVELOPMENT_ACCOUNT}/${share}/src?${sas}`;
    const put = await recorded(
      'upload_range_from_url',
      { ...dev, share, path: 'dst', source, offset: 0, length: 3, sourceOffset: 3 },
      'FileRangeWritten',
    );
    expect(put.event.data).toMatchObject({ start: 0, end: 2, copiedFrom: { share, path: 'src', start: 3 } });
    expect((await python.ok('download', { ...dev, share, path: 'dst' })).result).toBe('def\0\0\0');
    const { result: lease } = await python.ok('acquire_lease', { ...dev, share, path: 'dst' });
    await refused(
      'upload_range_from_url',
      { ...dev, share, path: 'dst', source, offset: 3, length: 3, sourceOffset: 0 },
      412,
      'LeaseIdMissing',
    );
    await python.ok('upload_range_from_url', {
      ...dev,
      share,
      path: 'dst',
      source,
      offset: 3,
      length: 3,
      sourceOffset: 0,
      lease,
    });
    expect((await python.ok('download', { ...dev, share, path: 'dst' })).result).toBe('defabc');
    await refused(
      'upload_range_from_url',
      { ...dev, share, path: 'dst', source: source.split('?')[0], offset: 0, length: 3, sourceOffset: 0, lease },
      403,
      'CannotVerifyCopySource',
    );
  });
});
