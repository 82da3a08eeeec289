import {
  FileSetMetadataOptions,
  ShareClient,
  ShareClientOptions,
  ShareFileClient,
  StorageSharedKeyCredential,
} from '@azure/storage-file-share';
import { createHmac, randomBytes } from 'node:crypto';
import {
  checkRequestDate,
  parseSharedKeyAuthorization,
  SharedKeyCredentials,
  SignableRequest,
  sharedKeyStringsToSign,
  verifySharedKeySignature,
} from './shared-key';

const ACCOUNT = 'devstoreaccount1';
const KEY_BASE64 = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const KEY = Buffer.from(KEY_BASE64, 'base64');
const OTHER_KEY = randomBytes(64);
const BASE = `http://127.0.0.1:10004/${ACCOUNT}`;
const credential = new StorageSharedKeyCredential(ACCOUNT, KEY_BASE64);

type HttpClient = NonNullable<ShareClientOptions['httpClient']>;
type SentRequest = Parameters<HttpClient['sendRequest']>[0];

/** The request as our server would see it from Node: lowercase header names, raw path and query. */
function asReceived(request: SentRequest): SignableRequest {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  for (const { name, value } of request.headers.headersArray()) headers[name.toLowerCase()] = value;
  // Node's HTTP client adds this to a body-less PUT after the SDK has signed.
  if (request.method === 'PUT' && headers['content-length'] === undefined) headers['content-length'] = '0';
  return { method: request.method, rawPath: url.pathname, rawQuery: url.search.slice(1), headers };
}

/** Runs one SDK call against a fake transport answering `status`, and returns the signed request it sent. */
async function signedBySdk(
  status: number,
  call: (options: ShareClientOptions) => Promise<unknown>,
): Promise<SignableRequest> {
  const sent: SignableRequest[] = [];
  const httpClient: HttpClient = {
    async sendRequest(request) {
      sent.push(asReceived(request));
      return { request, status, headers: { toJson: () => ({}) } } as unknown as Awaited<
        ReturnType<HttpClient['sendRequest']>
      >;
    },
  };
  await call({ httpClient });
  expect(sent).toHaveLength(1);
  return sent[0];
}

function credentialsOf(req: SignableRequest): SharedKeyCredentials {
  const parsed = parseSharedKeyAuthorization(req.headers.authorization as string);
  if (parsed === undefined || 'error' in parsed) throw new Error(`unsigned request: ${JSON.stringify(parsed)}`);
  return parsed;
}

/** True when the signature verifies (the service then acts on the query it covers). */
const verifies = (req: SignableRequest, credentials: SharedKeyCredentials, keys: Buffer[]) =>
  verifySharedKeySignature(req, credentials, keys) !== undefined;
const verify = (req: SignableRequest, keys: Buffer[] = [KEY]) => verifies(req, credentialsOf(req), keys);

const withHeader = (req: SignableRequest, name: string, value: string): SignableRequest => ({
  ...req,
  headers: { ...req.headers, [name]: value },
});

const sign = (stringToSign: string) => createHmac('sha256', KEY).update(stringToSign, 'utf8').digest('base64');

describe('Shared Key verification against requests signed by the SDK', () => {
  const fileUrl = `${BASE}/share/dir%20x/a%27b.txt`;
  const metadata = { a: '1', a_b: '2', a1: '3', ab: '4', Zed: '5' };
  const setMetadata = () =>
    signedBySdk(200, (options) => new ShareFileClient(fileUrl, credential, options).setMetadata(metadata));

  it('accepts Set Metadata on a path-style URL with encoded characters and mixed-case keys', async () => {
    const req = await setMetadata();
    expect(req.rawPath).toBe('/devstoreaccount1/share/dir%20x/a%27b.txt');
    expect(verify(req)).toBe(true);

    const [stringToSign] = sharedKeyStringsToSign(req, ACCOUNT);
    // The collation order of the metadata, and the account twice (credential + path style).
    expect(stringToSign).toContain('x-ms-meta-a:1\nx-ms-meta-a_b:2\nx-ms-meta-a1:3\nx-ms-meta-ab:4\nx-ms-meta-zed:5\n');
    expect(stringToSign.endsWith('\n/devstoreaccount1/devstoreaccount1/share/dir%20x/a%27b.txt\ncomp:metadata')).toBe(
      true,
    );
  });

  it('accepts the request when any of the keys is the signing key', async () => {
    const req = await setMetadata();
    expect(verify(req, [OTHER_KEY, KEY])).toBe(true);
  });

  it('refuses the other key', async () => {
    expect(verify(await setMetadata(), [OTHER_KEY])).toBe(false);
  });

  it('refuses a tampered header value', async () => {
    const req = await setMetadata();
    expect(verify(withHeader(req, 'x-ms-meta-a', '2'))).toBe(false);
    expect(verify(withHeader(req, 'x-ms-date', 'Fri, 20 Nov 2099 21:39:22 GMT'))).toBe(false);
  });

  it('refuses an added x-ms- header', async () => {
    expect(verify(withHeader(await setMetadata(), 'x-ms-meta-extra', 'x'))).toBe(false);
  });

  it('refuses a tampered path', async () => {
    const req = await setMetadata();
    expect(verify({ ...req, rawPath: '/devstoreaccount1/share/dir%20x/a%27c.txt' })).toBe(false);
    // Encoded and decoded forms differ in the canonicalized resource.
    expect(verify({ ...req, rawPath: "/devstoreaccount1/share/dir%20x/a'b.txt" })).toBe(false);
  });

  it('refuses a tampered query value', async () => {
    expect(verify({ ...(await setMetadata()), rawQuery: 'comp=properties' })).toBe(false);
  });

  it('refuses another signing account name', async () => {
    const req = await setMetadata();
    expect(verifies(req, { ...credentialsOf(req), account: 'share' }, [KEY])).toBe(false);
  });

  it('does not fold runs of spaces inside a header value, as the SDK signs them as they are', async () => {
    const req = await signedBySdk(200, (options) =>
      new ShareFileClient(fileUrl, credential, options).setMetadata({ note: 'two  spaces' }),
    );
    expect(req.headers['x-ms-meta-note']).toBe('two  spaces');
    expect(verify(req)).toBe(true);
  });

  it('accepts Create Share with headers that do not sort ordinally', async () => {
    const req = await signedBySdk(201, (options) =>
      new ShareClient(`${BASE}/share`, credential, options).create({
        protocols: { nfsEnabled: true },
        enableSnapshotVirtualDirectoryAccess: true,
        quota: 5,
      }),
    );
    expect(req.headers['x-ms-enabled-protocols']).toBe('NFS');
    expect(verify(req)).toBe(true);
    const [stringToSign] = sharedKeyStringsToSign(req, ACCOUNT);
    expect(stringToSign.indexOf('x-ms-enabled-protocols:')).toBeLessThan(
      stringToSign.indexOf('x-ms-enable-snapshot-virtual-directory-access:'),
    );
  });

  it('accepts Put Range, which signs Content-Length and Content-Type', async () => {
    const req = await signedBySdk(201, (options) =>
      new ShareFileClient(fileUrl, credential, options).uploadRange(Buffer.from('hello world'), 0, 11),
    );
    expect(req.headers['content-length']).toBe('11');
    expect(req.headers['content-type']).toBe('application/octet-stream');
    expect(verify(req)).toBe(true);
    expect(sharedKeyStringsToSign(req, ACCOUNT)[0]).toMatch(/^PUT\n\n\n11\n\napplication\/octet-stream\n\n/);
    expect(verify(withHeader(req, 'content-length', '12'))).toBe(false);
    expect(verify(withHeader(req, 'content-type', 'text/plain'))).toBe(false);
  });

  it('accepts Acquire Lease (comp=lease) and refuses a tampered query', async () => {
    const req = await signedBySdk(201, (options) =>
      new ShareFileClient(fileUrl, credential, options).getShareLeaseClient().acquireLease(-1),
    );
    expect(req.rawQuery).toBe('comp=lease');
    expect(verify(req)).toBe(true);
    expect(verify({ ...req, rawQuery: 'comp=leases' })).toBe(false);
    expect(verify({ ...req, rawQuery: '' })).toBe(false);
  });

  it('accepts Create File with a name containing spaces, + and Unicode', async () => {
    const req = await signedBySdk(201, (options) =>
      new ShareFileClient(`${BASE}/share/sp ace+plus üñí 中.txt`, credential, options).create(5),
    );
    expect(req.rawPath).toBe('/devstoreaccount1/share/sp%20ace%2Bplus%20%C3%BC%C3%B1%C3%AD%20%E4%B8%AD.txt');
    expect(verify(req)).toBe(true);
    const plusUnencoded = '/devstoreaccount1/share/sp%20ace+plus%20%C3%BC%C3%B1%C3%AD%20%E4%B8%AD.txt';
    expect(verify({ ...req, rawPath: plusUnencoded })).toBe(false);
  });

  it('accepts extra query parameters: encoded values, + and a name repeated in another case', async () => {
    const req = await signedBySdk(200, (options) =>
      new ShareFileClient(`${BASE}/share/f.txt?x=a%20b%2Bc+d&X=2&z=`, credential, options).setMetadata({}),
    );
    expect(req.rawQuery).toBe('x=a%20b%2Bc+d&X=2&z=&comp=metadata');
    expect(verify(req)).toBe(true);
    expect(verify({ ...req, rawQuery: 'x=a%20b%2Bc+d&X=3&z=&comp=metadata' })).toBe(false);
  });

  it('accepts Content-Language and Content-Encoding signed in the SDK order', async () => {
    const options = {
      requestOptions: { customHeaders: { 'Content-Language': 'en', 'Content-Encoding': 'gzip' } },
    } as FileSetMetadataOptions;
    const req = await signedBySdk(200, (clientOptions) =>
      new ShareFileClient(fileUrl, credential, clientOptions).setMetadata({ a: '1' }, options),
    );
    expect(req.headers['content-language']).toBe('en');
    expect(verify(req)).toBe(true);
  });
});

describe('sharedKeyStringsToSign', () => {
  const base: SignableRequest = {
    method: 'PUT',
    rawPath: '/devstoreaccount1/share/f.txt',
    rawQuery: '',
    headers: { 'x-ms-date': 'Fri, 20 Nov 2026 21:39:22 GMT', 'x-ms-version': '2026-04-06' },
  };
  const headerLines = 'x-ms-date:Fri, 20 Nov 2026 21:39:22 GMT\nx-ms-version:2026-04-06\n';
  const resource = '/devstoreaccount1/devstoreaccount1/share/f.txt';

  it('returns one string when Content-Language and Content-Encoding are both empty', () => {
    expect(sharedKeyStringsToSign(base, ACCOUNT)).toEqual([`PUT${'\n'.repeat(12)}${headerLines}${resource}`]);
  });

  it('returns the SDK order and the documented order, and accepts a signature over either', () => {
    const req = withHeader(withHeader(base, 'content-language', 'en'), 'content-encoding', 'gzip');
    const sdkOrder = `PUT\nen\ngzip${'\n'.repeat(10)}${headerLines}${resource}`;
    const documentedOrder = `PUT\ngzip\nen${'\n'.repeat(10)}${headerLines}${resource}`;
    expect(sharedKeyStringsToSign(req, ACCOUNT)).toEqual([sdkOrder, documentedOrder]);

    for (const stringToSign of [sdkOrder, documentedOrder]) {
      const signature = sign(stringToSign);
      expect(verifies(req, { account: ACCOUNT, signature }, [KEY])).toBe(true);
    }
    const wrong = `PUT\nen\nen${'\n'.repeat(10)}${headerLines}${resource}`;
    expect(verifies(req, { account: ACCOUNT, signature: sign(wrong) }, [KEY])).toBe(false);
  });

  it('signs Content-Length 0 as empty and leaves Date empty when x-ms-date is present', () => {
    const req = withHeader(withHeader(base, 'content-length', '0'), 'date', 'Sat, 21 Nov 2026 00:00:00 GMT');
    expect(sharedKeyStringsToSign(req, ACCOUNT)).toEqual([`PUT${'\n'.repeat(12)}${headerLines}${resource}`]);
  });

  it('signs the Date header when x-ms-date is absent', () => {
    const req: SignableRequest = { ...base, method: 'GET', headers: { date: 'Fri, 20 Nov 2026 21:39:22 GMT' } };
    expect(sharedKeyStringsToSign(req, ACCOUNT)).toEqual([
      `GET\n\n\n\n\n\nFri, 20 Nov 2026 21:39:22 GMT\n\n\n\n\n\n${resource}`,
    ]);
  });

  it('signs the conditional and Range headers in their places', () => {
    const req: SignableRequest = {
      ...base,
      method: 'GET',
      headers: {
        ...base.headers,
        'if-modified-since': 'ims',
        'if-match': 'im',
        'if-none-match': 'inm',
        'if-unmodified-since': 'ius',
        range: 'bytes=0-1',
        'content-md5': 'md5',
        'content-type': 'text/plain',
      },
    };
    expect(sharedKeyStringsToSign(req, ACCOUNT)).toEqual([
      `GET\n\n\n\nmd5\ntext/plain\n\nims\nim\ninm\nius\nbytes=0-1\n${headerLines}${resource}`,
    ]);
  });

  it('canonicalizes x-ms- headers: start of value trimmed, line breaks folded, others ignored', () => {
    const req: SignableRequest = {
      ...base,
      headers: {
        'x-ms-b': '  b ',
        'x-ms-a': 'one\r\n  two',
        'x-msx': 'no',
        accept: 'application/xml',
        'x-ms-u': undefined,
      },
    };
    expect(sharedKeyStringsToSign(req, ACCOUNT)).toEqual([
      `PUT${'\n'.repeat(12)}x-ms-a:one two\nx-ms-b:b \n${resource}`,
    ]);
  });

  it('canonicalizes the query as documented, and as the SDK does', () => {
    const rawQuery = 'restype=share&Comp=lease&b=2&b=1&empty=&bare&two=1=2&=v&plus=a+b&enc=a%20b%2Fc%3D';
    const req = { ...base, rawQuery };
    const head = `PUT${'\n'.repeat(12)}${headerLines}${resource}`;
    expect(sharedKeyStringsToSign(req, ACCOUNT)).toEqual([
      // Every parameter: empty values as `name:`, a repeated name's values sorted and comma-joined.
      `${head}\nb:1,2\nbare:\ncomp:lease\nempty:\nenc:a b/c=\nplus:a+b\nrestype:share\ntwo:1=2`,
      // The JS SDK's selection, and the Python SDK's (the same with empty values signed).
      `${head}\nb:1\ncomp:lease\nenc:a b/c=\nplus:a+b\nrestype:share`,
      `${head}\nb:1\ncomp:lease\nempty:\nenc:a b/c=\nplus:a+b\nrestype:share`,
    ]);
    // Without an empty value, both SDKs sign the same string: one candidate.
    expect(sharedKeyStringsToSign({ ...base, rawQuery: 'comp=list' }, ACCOUNT)).toHaveLength(1);
  });

  it('covers exactly the parameters the service then acts on', () => {
    const req = { ...base, rawQuery: 'restype=directory&comp=list&prefix=d=&maxresults=' };
    const [documented, sdk, python] = sharedKeyStringsToSign(req, ACCOUNT);
    const credentials = (stringToSign: string) => ({ account: ACCOUNT, signature: sign(stringToSign) });
    expect(verifySharedKeySignature(req, credentials(documented), [KEY])).toEqual({
      restype: 'directory',
      comp: 'list',
      prefix: 'd=',
      maxresults: '',
    });
    // Signed the SDK's way, prefix and maxresults were not signed: the service does not see them.
    expect(verifySharedKeySignature(req, credentials(sdk), [KEY])).toEqual({ restype: 'directory', comp: 'list' });
    // Signed the Python SDK's way, the empty maxresults is covered, prefix (two '=') is not.
    expect(verifySharedKeySignature(req, credentials(python), [KEY])).toEqual({
      restype: 'directory',
      comp: 'list',
      maxresults: '',
    });
  });

  it('accepts no string and does not throw when a query value is malformed percent-encoding', () => {
    const req = { ...base, rawQuery: 'comp=%E0%A4%A' };
    expect(sharedKeyStringsToSign(req, ACCOUNT)).toEqual([]);
    expect(verifies(req, { account: ACCOUNT, signature: sign('anything') }, [KEY])).toBe(false);
  });

  it('refuses a signature that only decodes to the right bytes', () => {
    const [stringToSign] = sharedKeyStringsToSign(base, ACCOUNT);
    const good = sign(stringToSign);
    expect(verifies(base, { account: ACCOUNT, signature: good }, [KEY])).toBe(true);
    // Node's base64 decoder would ignore the extra characters; the comparison must not.
    expect(verifies(base, { account: ACCOUNT, signature: `${good}!!` }, [KEY])).toBe(false);
    const unpadded = good.replace(/=$/, '');
    expect(verifies(base, { account: ACCOUNT, signature: unpadded }, [KEY])).toBe(false);
    expect(verifies(base, { account: ACCOUNT, signature: good }, [])).toBe(false);
  });
});

describe('checkRequestDate', () => {
  const now = new Date('2026-11-20T12:00:00Z');
  const minutes = (n: number) => new Date(now.getTime() + n * 60_000).toUTCString();

  it.each([-14, 14, -15, 15, 0])('accepts x-ms-date %i minutes from now', (n) => {
    expect(checkRequestDate({ 'x-ms-date': minutes(n) }, now)).toBeUndefined();
  });

  it('refuses a date 16 minutes old', () => {
    expect(checkRequestDate({ 'x-ms-date': minutes(-16) }, now)).toBe(
      "Request date header too old: 'Fri, 20 Nov 2026 11:44:00 GMT'.",
    );
  });

  it('refuses a date 16 minutes in the future', () => {
    expect(checkRequestDate({ 'x-ms-date': minutes(16) }, now)).toMatch(/too far in the future/);
  });

  it('falls back to Date when x-ms-date is absent', () => {
    expect(checkRequestDate({ date: minutes(-1) }, now)).toBeUndefined();
    expect(checkRequestDate({ date: minutes(-30) }, now)).toMatch(/too old/);
  });

  it('prefers x-ms-date over Date', () => {
    expect(checkRequestDate({ 'x-ms-date': minutes(-30), date: minutes(0) }, now)).toMatch(/too old/);
  });

  it('explains a missing date', () => {
    expect(checkRequestDate({}, now)).toMatch(/not specified/);
  });

  it.each(['yesterday', '2026-11-20T12:00:00Z', 'Fri, 20 Nov 2026 12:00:00 +0000', ''])(
    'explains an unparseable date %j',
    (value) => {
      expect(checkRequestDate({ 'x-ms-date': value }, now)).toMatch(/not a valid RFC 1123 date/);
    },
  );
});

describe('parseSharedKeyAuthorization', () => {
  it('returns undefined when there is no header', () => {
    expect(parseSharedKeyAuthorization(undefined)).toBeUndefined();
  });

  it('parses account and signature', () => {
    expect(parseSharedKeyAuthorization('SharedKey devstoreaccount1:ab+/cd==')).toEqual({
      account: 'devstoreaccount1',
      signature: 'ab+/cd==',
    });
  });

  it('treats the scheme case-insensitively', () => {
    expect(parseSharedKeyAuthorization('sharedkey acct:abcd')).toEqual({ account: 'acct', signature: 'abcd' });
  });

  it.each([
    '',
    'SharedKey',
    'SharedKey ',
    'SharedKey devstoreaccount1',
    'SharedKey devstoreaccount1:',
    'SharedKey :abcd',
    'SharedKey acct:ab:cd',
    'SharedKey acct:not base64',
    'SharedKey acct:ab!d',
    'SharedKey acct:abcd===',
    'SharedKeyLite acct:abcd',
    'Bearer eyJhbGciOi',
    'SharedKey:acct:abcd',
  ])('returns an error for %j', (header) => {
    const parsed = parseSharedKeyAuthorization(header);
    expect(parsed).toEqual({ error: expect.any(String) });
  });
});
