import { randomBytes, randomUUID } from 'node:crypto';
import { RestError, ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { RawRequestOptions, RawResponse, sendRaw } from '../support/signed-request';
import { startTestService, TestService, uniqueShare } from '../support/service';

const MINUTE = 60_000;

describe('Shared Key authentication', () => {
  let service: TestService;
  let other: { name: string; key1: string; key2: string };
  /** One share per account, each with a directory `target` (metadata v=1) that attacks try to change. */
  const shares: Record<string, string> = {};
  const keys: Record<string, string> = {};

  const sdk = (urlAccount: string, credentialAccount: string, key: string) =>
    new ShareServiceClient(service.accountUrl(urlAccount), new StorageSharedKeyCredential(credentialAccount, key), {
      retryOptions: { maxTries: 1 },
    });

  beforeAll(async () => {
    service = await startTestService();
    other = await service.createAccount(`auth${Date.now().toString(36)}${process.pid % 1000}`);
    keys[DEVELOPMENT_ACCOUNT] = DEVELOPMENT_KEY;
    keys[other.name] = other.key1;
    for (const account of [DEVELOPMENT_ACCOUNT, other.name]) {
      shares[account] = uniqueShare('auth');
      const share = sdk(account, account, keys[account]).getShareClient(shares[account]);
      await share.create();
      await share.getDirectoryClient('target').create({ metadata: { v: '1' } });
    }
  });
  afterAll(() => service.stop());

  /**
   * Events of the account. Other suites write to the development account at the same time, so
   * there only the events about this suite's share count: its own stream, nodes created in it, and
   * the streams of its nodes.
   */
  const eventCount = async (tenant: string): Promise<number> => {
    if (tenant !== DEVELOPMENT_ACCOUNT) {
      return (await service.db.query(`SELECT count(*)::int AS n FROM events WHERE tenant = $1`, [tenant])).rows[0].n;
    }
    const { rows } = await service.db.query(
      `SELECT count(*)::int AS n FROM events e, shares s
       WHERE s.tenant = $1 AND s.name = $2 AND e.tenant = $1
         AND (e.stream_id = 'share-' || s.share_id OR e.data->>'shareId' = s.share_id::text
              OR e.stream_id IN (SELECT 'node-' || n.file_id FROM nodes n WHERE n.share_id = s.share_id))`,
      [tenant, shares[tenant]],
    );
    return rows[0].n;
  };

  const eventsOfRequest = async (requestId: string | undefined, clientRequestId: string | undefined): Promise<number> =>
    (
      await service.db.query(
        `SELECT count(*)::int AS n FROM events WHERE metadata->>'requestId' = $1 OR metadata->>'clientRequestId' = $2`,
        [requestId ?? '', clientRequestId ?? ''],
      )
    ).rows[0].n;

  const targetState = async (account: string) => {
    const share = sdk(account, account, keys[account]).getShareClient(shares[account]);
    const target = await share.getDirectoryClient('target').getProperties();
    return {
      etag: target.etag,
      metadata: target.metadata,
      intruder: await share.getDirectoryClient('intruder').exists(),
    };
  };

  /** What each refused attack tries: create a directory, or overwrite the target's metadata. */
  const attacks = (account: string): RawRequestOptions[] => [
    { method: 'PUT', path: `/${account}/${shares[account]}/intruder`, query: 'restype=directory' },
    {
      method: 'PUT',
      path: `/${account}/${shares[account]}/target`,
      query: 'restype=directory&comp=metadata',
      headers: { 'x-ms-meta-v': '2' },
    },
  ];

  const expectCommonHeaders = (res: RawResponse, clientRequestId?: string) => {
    expect(res.header('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.header('x-ms-version')).toBe('2026-04-06');
    expect(Number.isNaN(Date.parse(res.header('date')!))).toBe(false);
    if (clientRequestId) expect(res.header('x-ms-client-request-id')).toBe(clientRequestId);
  };

  /** Sends a raw request that must be refused as AuthenticationFailed and must change nothing. */
  const expectRefused = async (account: string, request: RawRequestOptions): Promise<RawResponse> => {
    const before = { events: await eventCount(account), target: await targetState(account) };
    const clientRequestId = randomUUID();
    const res = await sendRaw(service.url, {
      ...request,
      headers: { ...request.headers, 'x-ms-client-request-id': clientRequestId },
    });
    expect(res.status).toBe(403);
    expect(res.header('x-ms-error-code')).toBe('AuthenticationFailed');
    expect(res.header('content-type')).toMatch(/^application\/xml/);
    expect(res.body).toMatch(
      /<Error><Code>AuthenticationFailed<\/Code><Message>[^<]+<\/Message><AuthenticationErrorDetail>[^<]+<\/AuthenticationErrorDetail><\/Error>$/,
    );
    expectCommonHeaders(res, clientRequestId);
    expect(await eventsOfRequest(res.header('x-ms-request-id'), clientRequestId)).toBe(0);
    expect(await eventCount(account)).toBe(before.events);
    expect(await targetState(account)).toEqual(before.target);
    return res;
  };

  const signedBy = (account: string, key = keys[account]) => ({ signer: { account, key } });

  it('accepts the raw requests the attacks below break one thing in, and counts their events', async () => {
    for (const account of [DEVELOPMENT_ACCOUNT, other.name]) {
      const [, setMetadata] = attacks(account);
      const before = await eventCount(account);
      const res = await sendRaw(service.url, { ...setMetadata, ...signedBy(account), headers: { 'x-ms-meta-v': '1' } });
      expect(res.status).toBe(200);
      expectCommonHeaders(res);
      expect(res.header('x-ms-error-code')).toBeUndefined();
      const { rows } = await service.db.query(`SELECT type, metadata FROM events WHERE metadata->>'requestId' = $1`, [
        res.header('x-ms-request-id'),
      ]);
      expect(rows).toEqual([
        {
          type: 'DirectoryMetadataSet',
          metadata: expect.objectContaining({ principal: account, authentication: 'SharedKey' }),
        },
      ]);
      expect(await eventCount(account)).toBe(before + 1);
    }
  });

  describe.each([DEVELOPMENT_ACCOUNT, 'other account'])('against %s', (which) => {
    const account = () => (which === DEVELOPMENT_ACCOUNT ? DEVELOPMENT_ACCOUNT : other.name);

    it('refuses a tampered signature', async () => {
      for (const attack of attacks(account())) {
        await expectRefused(account(), {
          ...attack,
          ...signedBy(account()),
          afterSigning: (h) => {
            const [scheme, credentials] = h['authorization'].split(' ');
            const [name, signature] = credentials.split(':');
            // Flip one base64 digit of the signature.
            const flipped = signature[0] === 'A' ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
            h['authorization'] = `${scheme} ${name}:${flipped}`;
          },
        });
      }
    });

    it('refuses a request changed after signing', async () => {
      const [, setMetadata] = attacks(account());
      await expectRefused(account(), {
        ...setMetadata,
        ...signedBy(account()),
        afterSigning: (h) => void (h['x-ms-meta-v'] = '3'),
      });
      await expectRefused(account(), {
        ...setMetadata,
        ...signedBy(account()),
        afterSigning: (h) => void (h['x-ms-meta-extra'] = 'added'),
      });
    });

    it('refuses a date more than 15 minutes old or ahead, even when signed correctly', async () => {
      for (const offset of [-16 * MINUTE, 16 * MINUTE, -24 * 60 * MINUTE]) {
        for (const attack of attacks(account())) {
          const res = await expectRefused(account(), {
            ...attack,
            ...signedBy(account()),
            headers: { ...attack.headers, 'x-ms-date': new Date(Date.now() + offset).toUTCString() },
          });
          expect(res.body).toMatch(/Request date header too (old|far in the future)/);
        }
      }
    });

    it('refuses a request without credentials', async () => {
      for (const attack of attacks(account())) await expectRefused(account(), attack);
    });

    it('refuses malformed Authorization headers', async () => {
      const [createDir] = attacks(account());
      for (const authorization of [
        `Bearer ${randomUUID()}`,
        `SharedKey ${account()}`,
        `SharedKeyLite ${account()}:AAAA`,
        'SharedKey :AAAA',
        '',
      ]) {
        await expectRefused(account(), { ...createDir, headers: { authorization } });
      }
    });

    it("refuses a request signed with another account's key", async () => {
      const stranger = account() === DEVELOPMENT_ACCOUNT ? other : { name: DEVELOPMENT_ACCOUNT, key1: DEVELOPMENT_KEY };
      for (const attack of attacks(account())) {
        // The other account's name and key: a tenant's credentials never open another tenant's data.
        await expectRefused(account(), { ...attack, ...signedBy(stranger.name, stranger.key1) });
        // This account's name with the other account's key.
        await expectRefused(account(), { ...attack, ...signedBy(account(), stranger.key1) });
      }
    });

    it("refuses the SDK using another account's key, with the AuthenticationErrorDetail in the error", async () => {
      const stranger = account() === DEVELOPMENT_ACCOUNT ? other : { name: DEVELOPMENT_ACCOUNT, key1: DEVELOPMENT_KEY };
      const before = { events: await eventCount(account()), target: await targetState(account()) };
      for (const client of [sdk(account(), stranger.name, stranger.key1), sdk(account(), account(), stranger.key1)]) {
        const share = client.getShareClient(shares[account()]);
        for (const call of [
          () => share.getDirectoryClient('intruder').create(),
          () => share.getDirectoryClient('target').setMetadata({ v: '9' }),
          () => share.getDirectoryClient('target').getProperties(),
          () => share.delete(),
        ]) {
          const error = (await call().then(
            () => undefined,
            (e: unknown) => e,
          )) as RestError;
          expect(error).toBeInstanceOf(RestError);
          expect({
            status: error.statusCode,
            code: error.code,
            header: (error.details as { errorCode?: string }).errorCode,
          }).toEqual({
            status: 403,
            code: 'AuthenticationFailed',
            header: 'AuthenticationFailed',
          });
          expect(error.response?.bodyAsText).toMatch(/<AuthenticationErrorDetail>[^<]+<\/AuthenticationErrorDetail>/);
          expect((error.details as { authenticationErrorDetail?: string }).authenticationErrorDetail).toEqual(
            expect.any(String),
          );
        }
      }
      expect(await eventCount(account())).toBe(before.events);
      expect(await targetState(account())).toEqual(before.target);
    });
  });

  it('refuses an unknown account', async () => {
    const ghost = `ghost${Date.now().toString(36)}`;
    const key = randomBytes(64).toString('base64');
    const before = await eventCount(ghost);
    const raw = await sendRaw(service.url, {
      method: 'PUT',
      path: `/${ghost}/${uniqueShare('auth')}`,
      query: 'restype=share',
      ...signedBy(ghost, key),
    });
    expect(raw.status).toBe(403);
    expect(raw.header('x-ms-error-code')).toBe('AuthenticationFailed');
    expect(raw.body).toMatch(/<AuthenticationErrorDetail>[^<]+<\/AuthenticationErrorDetail>/);
    expectCommonHeaders(raw);
    expect(await eventCount(ghost)).toBe(before);
    expect(await eventsOfRequest(raw.header('x-ms-request-id'), raw.header('x-ms-client-request-id'))).toBe(0);

    const error = (await sdk(ghost, ghost, key)
      .getShareClient('anything')
      .create()
      .catch((e: unknown) => e)) as RestError;
    expect(error.statusCode).toBe(403);
    expect(error.code).toBe('AuthenticationFailed');
  });

  it('accepts both keys of an account, so a key can be rotated without downtime', async () => {
    for (const [i, key] of [other.key1, other.key2].entries()) {
      const dir = sdk(other.name, other.name, key)
        .getShareClient(shares[other.name])
        .getDirectoryClient(`rotated-${i}`);
      const created = await dir.create();
      expect(created._response.status).toBe(201);
      const { rows } = await service.db.query(`SELECT type, tenant FROM events WHERE metadata->>'requestId' = $1`, [
        created.requestId,
      ]);
      expect(rows).toEqual([{ type: 'DirectoryCreated', tenant: other.name }]);
    }
  });

  it('echoes x-ms-client-request-id and sends x-ms-request-id, x-ms-version and Date on successes and errors', async () => {
    const share = sdk(other.name, other.name, other.key1).getShareClient(shares[other.name]);
    const ok = await share.getDirectoryClient('target').getProperties();
    expect(ok._response.headers.get('x-ms-client-request-id')).toBe(ok._response.request.requestId);
    expect(ok.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.version).toBe('2026-04-06');
    expect(ok.date).toBeInstanceOf(Date);

    const error = (await share
      .getDirectoryClient('absent')
      .getProperties()
      .catch((e: unknown) => e)) as RestError;
    expect(error.statusCode).toBe(404);
    expect(error.response!.headers.get('x-ms-client-request-id')).toBe(error.request!.requestId);
    expect(error.response!.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.response!.headers.get('x-ms-version')).toBe('2026-04-06');
    expect(error.response!.headers.get('date')).toEqual(expect.any(String));

    // A HEAD error has no body; the headers still come.
    const head = (await share
      .getDirectoryClient('target')
      .getFileClient('absent')
      .getProperties()
      .catch((e: unknown) => e)) as RestError;
    expect(head.statusCode).toBe(404);
    expect(head.response!.headers.get('x-ms-error-code')).toBe('ResourceNotFound');
    expect(head.response!.headers.get('x-ms-client-request-id')).toBe(head.request!.requestId);
    expect(head.response!.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(head.response!.headers.get('x-ms-version')).toBe('2026-04-06');
    expect(head.response!.headers.get('date')).toEqual(expect.any(String));

    // Refused before authentication: still all of them.
    const clientRequestId = randomUUID();
    const bad = await sendRaw(service.url, {
      method: 'GET',
      path: `/${other.name}/${shares[other.name]}/%E0%A4%A`,
      headers: { 'x-ms-client-request-id': clientRequestId },
    });
    expect(bad.status).toBe(400);
    expectCommonHeaders(bad, clientRequestId);
  });
});
