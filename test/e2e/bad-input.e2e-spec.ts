import { createHash } from 'node:crypto';
import { ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { RawRequestOptions, RawResponse, sendRaw } from '../support/signed-request';
import { startTestService, TestService, uniqueShare } from '../support/service';

const MiB = 1024 * 1024;

/**
 * Malformed requests, sent raw and correctly signed, so that only the one bad thing is wrong.
 * Every one gets an Azure-style refusal (never a 500) and changes nothing.
 */
describe('bad input', () => {
  let service: TestService;
  let account: { name: string; key1: string };
  let share: string;
  /** Raw-path prefix of the share: /{account}/{share}. */
  let base: string;

  beforeAll(async () => {
    service = await startTestService();
    account = await service.createAccount(`bad${Date.now().toString(36)}${process.pid % 1000}`);
    share = uniqueShare('bad');
    base = `/${account.name}/${share}`;
    const client = new ShareServiceClient(
      service.accountUrl(account.name),
      new StorageSharedKeyCredential(account.name, account.key1),
      {
        retryOptions: { maxTries: 1 },
      },
    );
    const shareClient = client.getShareClient(share);
    await shareClient.create();
    await shareClient.getDirectoryClient('d').create();
    const file = shareClient.getDirectoryClient('d').getFileClient('f');
    await file.create(16);
    await file.uploadRange(Buffer.from('0123456789abcdef'), 0, 16);
    await shareClient
      .getDirectoryClient('d')
      .getFileClient('big')
      .create(5 * MiB);
  });
  afterAll(() => service.stop());

  const eventCount = async (): Promise<number> =>
    (await service.db.query(`SELECT count(*)::int AS n FROM events WHERE tenant = $1`, [account.name])).rows[0].n;

  const send = (request: RawRequestOptions): Promise<RawResponse> =>
    sendRaw(service.url, { signer: { account: account.name, key: account.key1 }, ...request });

  /** The request is refused with `status` and `code` in Azure's shape, and records nothing. */
  const refused = async (
    request: RawRequestOptions,
    status: number,
    code: string,
    details: Record<string, string> = {},
  ): Promise<RawResponse> => {
    const before = await eventCount();
    const res = await send(request);
    expect({ status: res.status, code: res.header('x-ms-error-code') }).toEqual({ status, code });
    expect(res.header('content-type')).toMatch(/^application\/xml(;|$)/);
    expect(res.body).toMatch(
      new RegExp(
        `^<\\?xml version="1.0" encoding="utf-8"\\?><Error><Code>${code}</Code><Message>[^<]+</Message>(<(\\w+)>[^<]*</\\2>|<\\w+ />)*</Error>$`,
      ),
    );
    for (const [name, value] of Object.entries(details)) expect(res.body).toContain(`<${name}>${value}</${name}>`);
    expect(res.header('x-ms-request-id')).toEqual(expect.any(String));
    expect(res.header('x-ms-version')).toEqual(expect.any(String));
    expect(res.header('date')).toEqual(expect.any(String));
    expect(await eventCount()).toBe(before);
    return res;
  };

  const createFile = (name: string, headers: Record<string, string | undefined>): RawRequestOptions => ({
    method: 'PUT',
    path: `${base}/d/${name}`,
    headers: {
      'x-ms-type': 'file',
      'x-ms-content-length': '10',
      'content-type': 'application/octet-stream',
      ...headers,
    },
  });

  const putRange = (
    range: string | undefined,
    body: Buffer | string,
    headers: Record<string, string> = {},
    file = 'f',
  ): RawRequestOptions => ({
    method: 'PUT',
    path: `${base}/d/${file}`,
    query: 'comp=range',
    headers: { 'x-ms-range': range, 'x-ms-write': 'update', 'content-type': 'application/octet-stream', ...headers },
    body,
  });

  it('accepts the well-formed versions of the requests below', async () => {
    const before = await eventCount();
    expect((await send(createFile('ok', {}))).status).toBe(201);
    expect((await send(putRange('bytes=0-3', 'WXYZ', {}, 'ok'))).status).toBe(201);
    expect((await send({ method: 'GET', path: base, query: 'restype=directory&comp=list&maxresults=1' })).status).toBe(
      200,
    );
    expect(await eventCount()).toBe(before + 2);
  });

  describe('operations that do not exist', () => {
    it('refuses an unknown comp', async () => {
      await refused(
        { method: 'GET', path: base, query: 'restype=share&comp=bogus' },
        400,
        'InvalidQueryParameterValue',
        {
          QueryParameterName: 'comp',
          QueryParameterValue: 'bogus',
        },
      );
      await refused({ method: 'PUT', path: `${base}/d/f`, query: 'comp=undelete' }, 400, 'InvalidQueryParameterValue');
    });

    it('refuses a NUL in any query value (a listing prefix, a marker)', async () => {
      await refused(
        { method: 'GET', path: base, query: 'restype=directory&comp=list&prefix=a%00b' },
        400,
        'InvalidQueryParameterValue',
        { QueryParameterName: 'prefix', QueryParameterValue: 'a%00b' },
      );
      await refused(
        { method: 'GET', path: base, query: 'restype=directory&comp=list&marker=%00' },
        400,
        'InvalidQueryParameterValue',
      );
    });

    it('refuses an unknown restype', async () => {
      await refused({ method: 'PUT', path: base, query: 'restype=container' }, 400, 'InvalidQueryParameterValue', {
        QueryParameterName: 'restype',
        QueryParameterValue: 'container',
      });
    });

    it('refuses a method the operation does not have', async () => {
      await refused({ method: 'POST', path: base, query: 'restype=share' }, 405, 'UnsupportedHttpVerb');
      await refused({ method: 'PATCH', path: `${base}/d/f` }, 405, 'UnsupportedHttpVerb');
    });

    it('refuses an HTTP method Azure Files has no operation for', async () => {
      await refused({ method: 'PROPFIND', path: `${base}/d/f` }, 405, 'UnsupportedHttpVerb');
    });

    it('refuses an operation on the wrong kind of path', async () => {
      // Share operations name a share, not a directory below it.
      await refused({ method: 'PUT', path: `${base}/d`, query: 'restype=share' }, 400, 'InvalidUri');
      // File operations name a file, not the share root.
      await refused(
        {
          method: 'PUT',
          path: base,
          query: 'comp=range',
          headers: { 'x-ms-range': 'bytes=0-0', 'x-ms-write': 'clear' },
        },
        400,
        'InvalidUri',
      );
    });
  });

  describe('URLs', () => {
    it('refuses malformed percent-encoding in the path', async () => {
      for (const path of [`${base}/%E0%A4%A`, `${base}/d/%ZZ`, `${base}/%`, `${base}/%C3%28`]) {
        await refused({ method: 'GET', path, query: 'restype=directory' }, 400, 'InvalidUri');
      }
    });

    it('refuses malformed percent-encoding in a query value', async () => {
      await refused(
        { method: 'GET', path: base, query: 'restype=directory&comp=list&prefix=%E0%A4%A' },
        400,
        'InvalidQueryParameterValue',
        {
          QueryParameterName: 'prefix',
        },
      );
    });

    it('refuses an empty path segment', async () => {
      await refused({ method: 'PUT', path: `${base}//x`, query: 'restype=directory' }, 400, 'InvalidUri');
    });

    it('refuses bad names sent raw', async () => {
      await refused({ method: 'PUT', path: `${base}/a%7Cb`, query: 'restype=directory' }, 400, 'InvalidResourceName');
      // `..` is what a trailing-dot trim leaves empty.
      await refused({ method: 'PUT', path: `${base}/%2E%2E`, query: 'restype=directory' }, 400, 'InvalidResourceName');
      await refused(
        { method: 'PUT', path: `${base}/${'n'.repeat(256)}`, query: 'restype=directory' },
        400,
        'InvalidFileOrDirectoryPathName',
      );
      await refused(
        { method: 'PUT', path: `/${account.name}/Bad_Share`, query: 'restype=share' },
        400,
        'InvalidResourceName',
      );
    });

    it('refuses a bad timeout', async () => {
      await refused(
        { method: 'GET', path: base, query: 'restype=share&timeout=soon' },
        400,
        'InvalidQueryParameterValue',
        { QueryParameterName: 'timeout' },
      );
    });
  });

  describe('versions', () => {
    it('refuses a request without x-ms-version', async () => {
      await refused(
        {
          method: 'PUT',
          path: `${base}/noversion`,
          query: 'restype=directory',
          headers: { 'x-ms-version': undefined },
        },
        400,
        'MissingRequiredHeader',
        {
          HeaderName: 'x-ms-version',
        },
      );
    });

    it('refuses a malformed x-ms-version', async () => {
      await refused(
        {
          method: 'PUT',
          path: `${base}/badversion`,
          query: 'restype=directory',
          headers: { 'x-ms-version': 'latest' },
        },
        400,
        'InvalidHeaderValue',
        {
          HeaderName: 'x-ms-version',
        },
      );
    });
  });

  describe('Create File', () => {
    it('refuses a missing x-ms-type', async () => {
      await refused(createFile('nokind', { 'x-ms-type': undefined }), 400, 'MissingRequiredHeader', {
        HeaderName: 'x-ms-type',
      });
    });

    it('refuses an x-ms-type other than file', async () => {
      await refused(createFile('dirkind', { 'x-ms-type': 'directory' }), 400, 'InvalidHeaderValue', {
        HeaderName: 'x-ms-type',
      });
    });

    it('refuses a missing x-ms-content-length', async () => {
      await refused(createFile('nolength', { 'x-ms-content-length': undefined }), 400, 'MissingRequiredHeader', {
        HeaderName: 'x-ms-content-length',
      });
    });

    it.each(['abc', '-1', '1.5', '1e3', '0x10', '', ' ', String(4 * 1024 ** 4 + 1), '99999999999999999999'])(
      'refuses x-ms-content-length %j',
      async (value) => {
        await refused(createFile('badlength', { 'x-ms-content-length': value }), 400, 'InvalidHeaderValue', {
          HeaderName: 'x-ms-content-length',
        });
      },
    );

    it('refuses a Content-MD5 property that is not an MD5', async () => {
      await refused(createFile('badmd5', { 'x-ms-content-md5': 'bm90IGFuIG1kNQ==' }), 400, 'InvalidHeaderValue', {
        HeaderName: 'x-ms-content-md5',
      });
    });

    it('refuses a malformed lease id', async () => {
      await refused(createFile('badlease', { 'x-ms-lease-id': 'not-a-guid' }), 400, 'InvalidHeaderValue', {
        HeaderName: 'x-ms-lease-id',
      });
    });
  });

  describe('Set File Properties', () => {
    it.each(['abc', '-5'])('refuses x-ms-content-length %j', async (value) => {
      await refused(
        { method: 'PUT', path: `${base}/d/f`, query: 'comp=properties', headers: { 'x-ms-content-length': value } },
        400,
        'InvalidHeaderValue',
      );
    });
  });

  describe('Put Range', () => {
    it.each(['bytes=5-2', 'bytes=abc', 'bytes=0-', 'bytes=-5', 'items=0-1', '0-1', 'bytes=0-1,3-4', 'bytes=1.5-2'])(
      'refuses x-ms-range %j',
      async (range) => {
        await refused(putRange(range, 'x'), 400, 'InvalidHeaderValue', { HeaderName: 'x-ms-range' });
      },
    );

    it('refuses a missing or empty x-ms-range', async () => {
      await refused(putRange(undefined, 'x'), 400, 'MissingRequiredHeader', { HeaderName: 'x-ms-range' });
      await refused(putRange('', 'x'), 400, 'MissingRequiredHeader', { HeaderName: 'x-ms-range' });
    });

    it('refuses a missing or unknown x-ms-write', async () => {
      await refused(
        { ...putRange('bytes=0-0', 'x'), headers: { 'x-ms-range': 'bytes=0-0' } },
        400,
        'MissingRequiredHeader',
        { HeaderName: 'x-ms-write' },
      );
      await refused(putRange('bytes=0-0', 'x', { 'x-ms-write': 'append' }), 400, 'InvalidHeaderValue', {
        HeaderName: 'x-ms-write',
      });
    });

    it('refuses a body whose length differs from the range', async () => {
      await refused(putRange('bytes=0-9', 'short'), 400, 'InvalidHeaderValue');
      await refused(putRange('bytes=0-1', 'too long'), 400, 'InvalidHeaderValue');
      await refused(putRange('bytes=0-3', ''), 400, 'InvalidHeaderValue');
    });

    it('refuses a body with Clear Range', async () => {
      await refused(putRange('bytes=0-3', 'abcd', { 'x-ms-write': 'clear' }), 400, 'InvalidHeaderValue');
    });

    it('refuses a range beyond the end of the file', async () => {
      await refused(putRange('bytes=15-16', 'ab'), 416, 'InvalidRange');
      await refused(putRange('bytes=100-100', '', { 'x-ms-write': 'clear' }), 416, 'InvalidRange');
    });

    it('refuses a Content-MD5 that does not match the body', async () => {
      await refused(
        putRange('bytes=0-3', 'abcd', { 'content-md5': createHash('md5').update('abce').digest('base64') }),
        400,
        'Md5Mismatch',
      );
    });

    it('refuses a range over 4 MiB with 413', async () => {
      const tooBig = Buffer.alloc(4 * MiB + 1, 1);
      await refused(putRange(`bytes=0-${4 * MiB}`, tooBig, {}, 'big'), 413, 'RequestBodyTooLarge');
      // The range alone is too large, whatever the body.
      await refused(putRange(`bytes=0-${4 * MiB}`, 'x', {}, 'big'), 413, 'RequestBodyTooLarge');
    });

    it('accepts a range of exactly 4 MiB', async () => {
      const res = await send(putRange(`bytes=0-${4 * MiB - 1}`, Buffer.alloc(4 * MiB, 2), {}, 'big'));
      expect(res.status).toBe(201);
    });
  });

  describe('Get File', () => {
    it.each(['bytes=5-2', 'bytes=x-', 'pages=0-1'])('refuses x-ms-range %j', async (range) => {
      await refused(
        { method: 'GET', path: `${base}/d/f`, headers: { 'x-ms-range': range } },
        400,
        'InvalidHeaderValue',
        { HeaderName: 'x-ms-range' },
      );
    });

    it('refuses a range that starts beyond the end', async () => {
      const res = await refused(
        { method: 'GET', path: `${base}/d/f`, headers: { 'x-ms-range': 'bytes=16-' } },
        416,
        'InvalidRange',
      );
      expect(res.header('content-range')).toBe('bytes */16');
    });

    it('refuses an MD5 of a range over 4 MiB', async () => {
      await refused(
        {
          method: 'GET',
          path: `${base}/d/big`,
          headers: { 'x-ms-range': `bytes=0-${4 * MiB}`, 'x-ms-range-get-content-md5': 'true' },
        },
        400,
        'OutOfRangeInput',
      );
    });
  });

  describe('listing', () => {
    it.each(['0', '-1', 'abc', '1.5', ''])('refuses maxresults=%j', async (value) => {
      await refused(
        { method: 'GET', path: base, query: `restype=directory&comp=list&maxresults=${value}` },
        400,
        'InvalidQueryParameterValue',
        {
          QueryParameterName: 'maxresults',
        },
      );
    });

    it.each(['not-a-marker!', '%2F%2F%2F', 'AAAA====', 'YQ=='])('refuses the marker %j', async (marker) => {
      await refused(
        { method: 'GET', path: base, query: `restype=directory&comp=list&marker=${marker}` },
        400,
        'InvalidContinuationToken',
      );
    });
  });

  describe('metadata', () => {
    const targets = (headers: Record<string, string>): RawRequestOptions[] => [
      { method: 'PUT', path: `/${account.name}/${uniqueShare('bad')}`, query: 'restype=share', headers },
      { method: 'PUT', path: `${base}/metadir`, query: 'restype=directory', headers },
      { method: 'PUT', path: `${base}/d`, query: 'restype=directory&comp=metadata', headers },
      createFile('metafile', headers),
      { method: 'PUT', path: `${base}/d/f`, query: 'comp=metadata', headers },
    ];

    it.each(['1abc', 'a-b', 'a.b', 'a$b'])('refuses the metadata name %j', async (name) => {
      for (const request of targets({ [`x-ms-meta-${name}`]: 'v' })) await refused(request, 400, 'InvalidMetadata');
    });

    it('refuses an empty metadata name', async () => {
      for (const request of targets({ 'x-ms-meta-': 'v' })) await refused(request, 400, 'EmptyMetadataKey');
    });

    it('refuses more than 8 KiB of metadata', async () => {
      for (const request of targets({ 'x-ms-meta-big': 'v'.repeat(8 * 1024) }))
        await refused(request, 400, 'MetadataTooLarge');
    });
  });

  it('refuses a bad share quota', async () => {
    for (const quota of ['0', 'abc', '102401']) {
      await refused(
        {
          method: 'PUT',
          path: `/${account.name}/${uniqueShare('bad')}`,
          query: 'restype=share',
          headers: { 'x-ms-share-quota': quota },
        },
        400,
        'InvalidHeaderValue',
        {
          HeaderName: 'x-ms-share-quota',
        },
      );
    }
  });
});
