import {
  AccountSASPermissions,
  FileSASPermissions,
  SASProtocol,
  ShareClient,
  ShareFileClient,
  ShareSASPermissions,
  ShareServiceClient,
  StorageSharedKeyCredential,
} from '@azure/storage-file-share';
import { randomBytes } from 'node:crypto';
import { AzureError } from '../errors';
import { parseUrl } from '../request';
import {
  applySasResponseOverrides,
  authorizeSas,
  checkSasConditions,
  parseIpRange,
  parseSas,
  parseSasTime,
  sasSignatureMatches,
  sasStringToSign,
  SasToken,
} from './sas';

const ACCOUNT = 'devstoreaccount1';
const KEY_BASE64 = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const KEY = Buffer.from(KEY_BASE64, 'base64');
const OTHER_KEY = randomBytes(64);
const BASE = `http://127.0.0.1:10004/${ACCOUNT}`;
const credential = new StorageSharedKeyCredential(ACCOUNT, KEY_BASE64);
const EXPIRY = new Date('2099-01-01T00:00:00.123Z');
const START = new Date('2024-01-01T00:00:00Z');

const fileClient = (path: string) =>
  new ShareFileClient(`${BASE}/acctshare/${path.split('/').map(encodeURIComponent).join('/')}`, credential);
const shareClient = (share = 'acctshare') => new ShareClient(`${BASE}/${share}`, credential);
const serviceClient = () => new ShareServiceClient(BASE, credential);

/** What the service computes for an SDK-made SAS URL: the parsed token and the string-to-sign. */
function serverView(sasUrl: string) {
  const url = parseUrl(new URL(sasUrl).pathname + new URL(sasUrl).search);
  const token = parseSas(url.query);
  return { url, token, stringToSign: sasStringToSign(token, url) };
}

function refusal(run: () => unknown): { status: number; code: string; detail?: string } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof AzureError)) throw error;
    return { status: error.status, code: error.code, detail: error.details.AuthenticationErrorDetail };
  }
}

describe('SAS string-to-sign against what the SDK signs', () => {
  const fileOptions = {
    permissions: FileSASPermissions.parse('rcwd'),
    startsOn: START,
    expiresOn: EXPIRY,
    ipRange: { start: '0.0.0.0', end: '255.255.255.255' },
    protocol: SASProtocol.HttpsAndHttp,
    cacheControl: 'no-cache',
    contentDisposition: 'inline',
    contentEncoding: 'gzip',
    contentLanguage: 'en',
    contentType: 'text/plain',
  };

  it.each([
    ['a plain file', 'f.txt', fileOptions],
    ['a nested path with spaces, quotes, Unicode and %', "d1/d 2/a'b(c)!*~ üñí 中 pct%41.txt", fileOptions],
    ['only the mandatory fields', 'x/y', { permissions: FileSASPermissions.parse('r'), expiresOn: EXPIRY }],
    [
      'a single IP and https only',
      'f',
      {
        permissions: FileSASPermissions.parse('rw'),
        expiresOn: EXPIRY,
        ipRange: { start: '127.0.0.1' },
        protocol: SASProtocol.Https,
      },
    ],
  ])('file SAS (sr=f) for %s', (_name, path, options) => {
    const client = fileClient(path);
    const sasUrl = client.generateSasUrl(options);
    const { url, token, stringToSign } = serverView(sasUrl);
    expect(url.path.join('/')).toBe(path);
    expect(token).toMatchObject({ kind: 'service', resource: 'f' });
    expect(stringToSign).toBe(client.generateSasStringToSign(options));
    // Either account key verifies it; a key of another account does not.
    expect(sasSignatureMatches(stringToSign, token.signature, [OTHER_KEY, KEY])).toBe(true);
    expect(sasSignatureMatches(stringToSign, token.signature, [KEY, OTHER_KEY])).toBe(true);
    expect(sasSignatureMatches(stringToSign, token.signature, [OTHER_KEY])).toBe(false);
  });

  it('matches the file SAS example of docs/wire-format.md', () => {
    const { stringToSign } = serverView(fileClient('d1/d 2/f.txt').generateSasUrl(fileOptions));
    expect(stringToSign).toBe(
      'rcwd\n2024-01-01T00:00:00Z\n2099-01-01T00:00:00Z\n/file/devstoreaccount1/acctshare/d1/d 2/f.txt\n\n0.0.0.0-255.255.255.255\nhttps,http\n2026-04-06\nno-cache\ninline\ngzip\nen\ntext/plain',
    );
  });

  it('share SAS (sr=s): the same string whichever path below the share the URL names', () => {
    const options = { permissions: ShareSASPermissions.parse('rcwdl'), startsOn: START, expiresOn: EXPIRY };
    const share = shareClient();
    const sdkString = share.generateSasStringToSign(options);
    const sas = new URL(share.generateSasUrl(options)).search;
    for (const below of ['', '/dir', '/dir/sub/file.txt']) {
      const { token, stringToSign } = serverView(`${BASE}/acctshare${below}${sas}`);
      expect(token).toMatchObject({ kind: 'service', resource: 's', permissions: 'rcwdl' });
      expect(stringToSign).toBe(sdkString);
      expect(sasSignatureMatches(stringToSign, token.signature, [KEY])).toBe(true);
    }
  });

  it('account SAS, at the account, a share and a file URL', () => {
    const permissions = AccountSASPermissions.parse('rwdlc');
    const options = {
      startsOn: START,
      ipRange: { start: '10.0.0.1', end: '10.0.0.9' },
      protocol: SASProtocol.HttpsAndHttp,
    };
    const sdkString = serviceClient().generateSasStringToSign(EXPIRY, permissions, 'sco', options);
    expect(sdkString.endsWith('\n2026-04-06\n\n')).toBe(true);
    const sas = new URL(serviceClient().generateAccountSasUrl(EXPIRY, permissions, 'sco', options)).search;
    for (const below of ['', '/share', '/share/dir/file']) {
      const { token, stringToSign } = serverView(`${BASE}${below}${sas}`);
      expect(token).toMatchObject({ kind: 'account', services: 'f', resourceTypes: 'sco', permissions: 'rwdlc' });
      expect(stringToSign).toBe(sdkString);
      expect(sasSignatureMatches(stringToSign, token.signature, [OTHER_KEY, KEY])).toBe(true);
    }
  });

  it('account SAS of an older version signs no encryption-scope line', () => {
    const permissions = AccountSASPermissions.parse('r');
    const options = { version: '2019-12-12' };
    const sdkString = serviceClient().generateSasStringToSign(EXPIRY, permissions, 'o', options);
    const { token, stringToSign } = serverView(
      serviceClient().generateAccountSasUrl(EXPIRY, permissions, 'o', options),
    );
    expect(stringToSign).toBe(sdkString);
    expect(sasSignatureMatches(stringToSign, token.signature, [KEY])).toBe(true);
  });

  it('does not verify on another file, share or account, or with a changed field', () => {
    const sas = new URL(fileClient('dir/f.txt').generateSasUrl(fileOptions)).search;
    const verifies = (url: string) => {
      const { token, stringToSign } = serverView(url);
      return sasSignatureMatches(stringToSign, token.signature, [KEY]);
    };
    expect(verifies(`${BASE}/acctshare/dir/f.txt${sas}`)).toBe(true);
    expect(verifies(`${BASE}/acctshare/dir/g.txt${sas}`)).toBe(false);
    expect(verifies(`${BASE}/acctshare/dir${sas}`)).toBe(false);
    expect(verifies(`${BASE}/othershare/dir/f.txt${sas}`)).toBe(false);
    expect(verifies(`http://127.0.0.1:10004/otheraccount/acctshare/dir/f.txt${sas}`)).toBe(false);
    // Relabelled as a share SAS it names the share, not the file it was signed for.
    expect(verifies(`${BASE}/acctshare/dir/f.txt${sas.replace('sr=f', 'sr=s')}`)).toBe(false);
    for (const [from, to] of [
      ['sp=rcwd', 'sp=rcw'],
      ['se=2099-01-01T00%3A00%3A00Z', 'se=2099-01-02T00%3A00%3A00Z'],
      ['sip=0.0.0.0-255.255.255.255', 'sip=0.0.0.0-255.255.255.254'],
      ['spr=https%2Chttp', 'spr=https'],
      ['rsct=text%2Fplain', 'rsct=text%2Fhtml'],
      ['sv=2026-04-06', 'sv=2025-11-05'],
    ]) {
      expect(sas).toContain(from);
      expect(verifies(`${BASE}/acctshare/dir/f.txt${sas.replace(from, to)}`)).toBe(false);
    }
  });
});

describe('parseSas refuses what is not well formed or not supported', () => {
  const valid = { sv: '2026-04-06', sr: 'f', sp: 'rw', se: '2099-01-01T00:00:00Z', sig: 'AAAA' };
  const refused = (query: Record<string, string>) => refusal(() => parseSas(query));

  it('accepts a minimal service SAS and an account SAS', () => {
    expect(parseSas(valid)).toMatchObject({ kind: 'service', resource: 'f', permissions: 'rw' });
    expect(parseSas({ sv: '2026-04-06', ss: 'bf', srt: 'co', sp: 'lrc', se: '2099-01-01', sig: 'AAAA' })).toMatchObject(
      { kind: 'account', permissions: 'lrc' },
    );
  });

  it('lets a SAS naming a stored access policy leave sp, st and se to the policy, and signs si', () => {
    const token = parseSas({ sv: '2026-04-06', sr: 's', si: 'policy1', sig: 'AAAA' });
    expect(token).toMatchObject({ kind: 'service', identifier: 'policy1', permissions: '', expiry: '' });
    expect(sasStringToSign(token, { account: ACCOUNT, share: 'acctshare', path: [] }).split('\n')[4]).toBe('policy1');
    expect(refused({ sv: '2026-04-06', sr: 's', si: 'policy1', sp: 'wr', sig: 'AAAA' })?.detail).toMatch(/order rcwdl/);
    expect(
      refused({ sv: '2026-04-06', ss: 'f', srt: 'o', sp: 'r', se: '2099-01-01', si: 'policy1', sig: 'AAAA' })?.detail,
    ).toMatch(/si is for a service SAS only/);
  });

  it('verifies the signature the SDK makes for a SAS with an identifier', () => {
    const { token, stringToSign } = serverView(shareClient().generateSasUrl({ identifier: 'policy1' }));
    expect(token).toMatchObject({ identifier: 'policy1', permissions: '' });
    const sig = new URL(shareClient().generateSasUrl({ identifier: 'policy1' })).searchParams.get('sig')!;
    expect(sasSignatureMatches(stringToSign, sig, [KEY])).toBe(true);
  });

  it.each([
    ['no sv', { ...valid, sv: '' }],
    ['a bad sv', { ...valid, sv: '2026-4-6' }],
    ['an sv older than 2015-04-05', { ...valid, sv: '2015-02-21' }],
    ['no se', { ...valid, se: '' }],
    ['a bad se', { ...valid, se: 'tomorrow' }],
    ['a bad st', { ...valid, st: '2024-13-01T00:00:00Z' }],
    ['no sr', { ...valid, sr: '' }],
    ['sr=b', { ...valid, sr: 'b' }],
    ['no sp', { ...valid, sp: '' }],
    ['sp out of order', { ...valid, sp: 'wr' }],
    ['a repeated permission', { ...valid, sp: 'rr' }],
    ['l on a file SAS', { ...valid, sp: 'rl' }],
    ['an unknown permission', { ...valid, sr: 's', sp: 'rx' }],
    ['spr=http', { ...valid, spr: 'http' }],
    ['spr=http,https', { ...valid, spr: 'http,https' }],
    ['a malformed sip', { ...valid, sip: '1.2.3' }],
    ['an IPv6 sip', { ...valid, sip: '::1' }],
    ['a reversed sip range', { ...valid, sip: '10.0.0.9-10.0.0.1' }],
    ['a user delegation SAS', { ...valid, skoid: 'oid' }],
    ['an account SAS without srt', { ...valid, ss: 'f' }],
    [
      'an account SAS with an unknown service',
      { sv: '2026-04-06', ss: 'fz', srt: 'o', sp: 'r', se: '2099-01-01', sig: 'AAAA' },
    ],
    [
      'an account SAS with an unknown resource type',
      { sv: '2026-04-06', ss: 'f', srt: 'ox', sp: 'r', se: '2099-01-01', sig: 'AAAA' },
    ],
  ])('%s → 403 AuthenticationFailed', (_name, query) => {
    expect(refused(query)).toEqual({ status: 403, code: 'AuthenticationFailed', detail: expect.any(String) });
  });

  it('refuses an override that cannot be a header value with 400', () => {
    expect(refused({ ...valid, rscd: 'attachment\r\nx-evil: 1' })).toMatchObject({
      status: 400,
      code: 'InvalidQueryParameterValue',
    });
  });
});

describe('SAS times and addresses', () => {
  it.each([
    ['2099-01-01', Date.UTC(2099, 0, 1)],
    ['2099-01-01T10:20Z', Date.UTC(2099, 0, 1, 10, 20)],
    ['2099-01-01T10:20:30Z', Date.UTC(2099, 0, 1, 10, 20, 30)],
    ['2099-01-01T10:20:30.1234567Z', Date.UTC(2099, 0, 1, 10, 20, 30, 123)],
    ['2099-01-01T10:20:30+02:00', Date.UTC(2099, 0, 1, 8, 20, 30)],
    ['2099-01-01T10:20:30-01:30', Date.UTC(2099, 0, 1, 11, 50, 30)],
  ])('parses %s', (value, expected) => expect(parseSasTime(value)).toBe(expected));

  it.each([
    '2099-02-30',
    '2099-01-01T24:00Z',
    '2099-01-01T10:20:30',
    '2099-01-01 10:20Z',
    '20990101',
    '2099-01-01T10:20:30.12345678Z',
  ])('refuses %s', (value) => expect(parseSasTime(value)).toBeUndefined());

  it('parses sip', () => {
    expect(parseIpRange('127.0.0.1')).toEqual({ from: 0x7f000001, to: 0x7f000001 });
    expect(parseIpRange('0.0.0.0-255.255.255.255')).toEqual({ from: 0, to: 0xffffffff });
    for (const bad of ['256.0.0.1', '1.2.3.4-', '1.2.3.4-5.6.7.8-9.9.9.9', '01.2.3.4.5', ''])
      expect(parseIpRange(bad)).toBeUndefined();
  });

  const token = (fields: Record<string, string>): SasToken =>
    parseSas({ sv: '2026-04-06', sr: 's', sp: 'r', se: '2030-01-01T00:00:00Z', sig: 'AAAA', ...fields });
  const check = (t: SasToken, now: string, connection = { remoteAddress: '127.0.0.1', encrypted: false }) =>
    refusal(() => checkSasConditions(t, new Date(now), connection))?.code;

  it('is valid from st to se inclusive, with no clock skew', () => {
    const t = token({ st: '2029-01-01T00:00:00Z' });
    expect(check(t, '2028-12-31T23:59:59.999Z')).toBe('AuthenticationFailed');
    expect(check(t, '2029-01-01T00:00:00Z')).toBeUndefined();
    expect(check(t, '2030-01-01T00:00:00Z')).toBeUndefined();
    expect(check(t, '2030-01-01T00:00:00.001Z')).toBe('AuthenticationFailed');
    expect(refusal(() => checkSasConditions(t, new Date('2031-01-01T00:00:00Z'), {}))?.detail).toMatch(
      /^Signature not valid in the specified time frame: Start \[.+\] - Expiry \[.+\] - Current \[.+\]$/,
    );
  });

  it('checks the source address, unwrapping IPv4-mapped IPv6', () => {
    const t = token({ sip: '10.0.0.1-10.0.0.9' });
    const at = (remoteAddress?: string) =>
      check(t, '2029-06-01T00:00:00Z', { remoteAddress, encrypted: false } as {
        remoteAddress: string;
        encrypted: boolean;
      });
    expect(at('10.0.0.1')).toBeUndefined();
    expect(at('::ffff:10.0.0.9')).toBeUndefined();
    expect(at('10.0.0.10')).toBe('AuthorizationSourceIPMismatch');
    expect(at('127.0.0.1')).toBe('AuthorizationSourceIPMismatch');
    expect(at('::1')).toBe('AuthorizationSourceIPMismatch');
    expect(at(undefined)).toBe('AuthorizationSourceIPMismatch');
  });

  it('checks the protocol and, for an account SAS, the file service', () => {
    expect(check(token({ spr: 'https' }), '2029-06-01T00:00:00Z')).toBe('AuthorizationProtocolMismatch');
    expect(
      check(token({ spr: 'https' }), '2029-06-01T00:00:00Z', { remoteAddress: '127.0.0.1', encrypted: true }),
    ).toBeUndefined();
    expect(check(token({ spr: 'https,http' }), '2029-06-01T00:00:00Z')).toBeUndefined();
    const account = (ss: string) =>
      parseSas({ sv: '2026-04-06', ss, srt: 'sco', sp: 'r', se: '2030-01-01', sig: 'AAAA' });
    expect(check(account('bq'), '2029-06-01T00:00:00Z')).toBe('AuthorizationServiceMismatch');
    expect(check(account('bf'), '2029-06-01T00:00:00Z')).toBeUndefined();
  });
});

describe('authorizeSas', () => {
  const service = (sr: 'f' | 's', sp: string) => parseSas({ sv: '2026-04-06', sr, sp, se: '2030-01-01', sig: 'AAAA' });
  const account = (srt: string, sp: string) =>
    parseSas({ sv: '2026-04-06', ss: 'f', srt, sp, se: '2030-01-01', sig: 'AAAA' });
  const verdict = (token: SasToken, spec: Parameters<typeof authorizeSas>[1], path: string[] = ['d', 'f']) =>
    refusal(() => authorizeSas(token, spec, path))?.code ?? 'ok';

  const getFile = { resource: 'file', sas: 'r' } as const;
  const createFile = { resource: 'file', sas: 'c' } as const;
  const putRange = { resource: 'file', sas: 'w' } as const;
  const deleteFile = { resource: 'file', sas: 'd' } as const;
  const list = { resource: 'directory', sas: 'l' } as const;
  const createDirectory = { resource: 'directory', sas: 'c' } as const;
  const createShare = { resource: 'share', sas: 'c' } as const;
  const listHandles = { resource: 'file-or-directory', sas: 'owner' } as const;
  const openHandle = { resource: 'file-or-directory', sas: 'w' } as const;
  const auditQuery = { resource: 'any', sas: 'owner' } as const;

  it('needs the permission each operation names; create is c or w', () => {
    expect(verdict(service('f', 'r'), getFile)).toBe('ok');
    expect(verdict(service('f', 'w'), getFile)).toBe('AuthorizationPermissionMismatch');
    expect(verdict(service('f', 'c'), createFile)).toBe('ok');
    expect(verdict(service('f', 'w'), createFile)).toBe('ok');
    expect(verdict(service('f', 'rd'), createFile)).toBe('AuthorizationPermissionMismatch');
    expect(verdict(service('f', 'c'), putRange)).toBe('AuthorizationPermissionMismatch');
    expect(verdict(service('f', 'rcw'), deleteFile)).toBe('AuthorizationPermissionMismatch');
    expect(verdict(service('f', 'd'), deleteFile)).toBe('ok');
    expect(verdict(service('s', 'l'), list, ['d'])).toBe('ok');
    expect(verdict(service('s', 'rcwd'), list, ['d'])).toBe('AuthorizationPermissionMismatch');
    expect(verdict(service('f', 'w'), openHandle)).toBe('ok');
    expect(verdict(service('f', 'r'), openHandle)).toBe('AuthorizationPermissionMismatch');
  });

  it('keeps account-owner operations, and unmarked ones, from every SAS', () => {
    for (const token of [service('f', 'rcwd'), service('s', 'rcwdl'), account('sco', 'rwdxylacuptfi')]) {
      expect(verdict(token, listHandles)).toBe('AuthorizationFailure');
      expect(verdict(token, auditQuery)).toBe('AuthorizationFailure');
      expect(verdict(token, { resource: 'file' })).toBe('AuthorizationFailure');
    }
  });

  it('keeps a file SAS to its file and share operations to the account SAS', () => {
    expect(verdict(service('f', 'rcwd'), createDirectory, ['d'])).toBe('AuthorizationResourceTypeMismatch');
    expect(verdict(service('f', 'rcwd'), openHandle, [])).toBe('AuthorizationResourceTypeMismatch');
    expect(verdict(service('s', 'rcwdl'), createShare, [])).toBe('AuthorizationFailure');
    expect(verdict(service('s', 'rcwdl'), createDirectory, ['d'])).toBe('ok');
    expect(verdict(service('s', 'rcwdl'), openHandle, [])).toBe('ok');
  });

  it('checks the account SAS resource type: shares and listings are c, directories and files o', () => {
    expect(verdict(account('c', 'c'), createShare, [])).toBe('ok');
    expect(verdict(account('o', 'c'), createShare, [])).toBe('AuthorizationResourceTypeMismatch');
    expect(verdict(account('c', 'l'), list, [])).toBe('ok');
    expect(verdict(account('o', 'l'), list, [])).toBe('AuthorizationResourceTypeMismatch');
    expect(verdict(account('o', 'w'), createDirectory, ['d'])).toBe('ok');
    expect(verdict(account('sc', 'w'), createDirectory, ['d'])).toBe('AuthorizationResourceTypeMismatch');
    expect(verdict(account('o', 'r'), getFile)).toBe('ok');
    expect(verdict(account('o', 'l'), getFile)).toBe('AuthorizationPermissionMismatch');
  });
});

describe('applySasResponseOverrides', () => {
  const response = {
    status: 200,
    headers: { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=1', etag: '"x"' },
    body: 'abc',
  };
  const file = (extra: Record<string, string>) =>
    parseSas({ sv: '2026-04-06', sr: 'f', sp: 'r', se: '2030-01-01', sig: 'AAAA', ...extra });

  it('replaces only the headers the SAS names, on Get File successes of a service SAS', () => {
    const token = file({ rscd: 'attachment; filename="a.txt"', rsct: 'text/plain' });
    expect(applySasResponseOverrides(token, { sasResponseOverrides: true }, response)).toEqual({
      ...response,
      headers: {
        ...response.headers,
        'content-type': 'text/plain',
        'content-disposition': 'attachment; filename="a.txt"',
      },
    });
    expect(applySasResponseOverrides(token, {}, response)).toBe(response);
    const notFound = { status: 404, headers: { 'content-type': 'application/xml' } };
    expect(applySasResponseOverrides(token, { sasResponseOverrides: true }, notFound)).toBe(notFound);
    // An account SAS does not sign overrides, so it cannot carry any.
    const accountToken = parseSas({
      sv: '2026-04-06',
      ss: 'f',
      srt: 'o',
      sp: 'r',
      se: '2030-01-01',
      sig: 'AAAA',
      rsct: 'text/html',
    });
    expect(applySasResponseOverrides(accountToken, { sasResponseOverrides: true }, response)).toBe(response);
  });
});
