// Retries that do no harm: the SDK retries a request whose connection broke, with the same
// x-ms-client-request-id. A proxy between the SDK and the service lets the first lease request
// commit, then cuts the connection before the answer; meanwhile another client moves the lease on.
// Lease File and Lease Share alike.
import {
  ShareClient,
  ShareFileClient,
  ShareServiceClient,
  StorageSharedKeyCredential,
} from '@azure/storage-file-share';
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { openHandle } from '../support/jobs';
import { breakShareLease, renewShareLease } from '../support/share-lease';
import { startTestService, TestService, uniqueShare } from '../support/service';

const signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };

describe('retried lease actions get their original answer', () => {
  let service: TestService;
  let proxy: Server;
  let proxyUrl: string;
  /** Runs once the service has answered the request to cut (it has committed), before the cut. */
  let onCut: ((req: IncomingMessage) => Promise<void>) | undefined;
  /** Which requests are cut (their first attempt). */
  let cutComp = 'comp=lease';
  const seen = new Map<string, number>();

  beforeAll(async () => {
    service = await startTestService();
    const target = new URL(service.url);
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const upstream = httpRequest(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (c: Buffer) => body.push(c));
            answer.on('end', () => {
              void forward();
            });
            const forward = async () => {
              const id = String(req.headers['x-ms-client-request-id']);
              const attempt = (seen.get(id) ?? 0) + 1;
              seen.set(id, attempt);
              if (onCut && req.url?.includes(cutComp) && attempt === 1) {
                await onCut(req);
                req.socket.destroy();
                return;
              }
              res.writeHead(answer.statusCode ?? 500, answer.headers);
              res.end(Buffer.concat(body));
            };
          },
        );
        upstream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/${DEVELOPMENT_ACCOUNT}`;
  });
  afterAll(async () => {
    await new Promise((done) => proxy.close(done));
    await service.stop();
  });

  const credential = new StorageSharedKeyCredential(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY);
  /** The SDK through the proxy, retrying at once. */
  const retrying = () =>
    new ShareServiceClient(proxyUrl, credential, {
      retryOptions: { maxTries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 5 },
    });

  async function newFile(): Promise<{ direct: ShareFileClient; viaProxy: ShareFileClient }> {
    const name = uniqueShare('retry');
    const share = service.serviceClient().getShareClient(name);
    await share.create();
    const direct = share.rootDirectoryClient.getFileClient('f.txt');
    await direct.create(8);
    return { direct, viaProxy: retrying().getShareClient(name).rootDirectoryClient.getFileClient('f.txt') };
  }

  async function newShare(): Promise<{ direct: ShareClient; viaProxy: ShareClient }> {
    const name = uniqueShare('retry');
    const direct = service.serviceClient().getShareClient(name);
    await direct.create();
    return { direct, viaProxy: retrying().getShareClient(name) };
  }

  /** The share's lease state and the lease id it holds now, from the shares projection. */
  const shareLease = async (share: ShareClient) =>
    (
      await service.db.query(
        `SELECT lease_status AS status, lease_id AS id FROM shares WHERE tenant = $1 AND name = $2`,
        [DEVELOPMENT_ACCOUNT, share.name],
      )
    ).rows[0] as { status: string; id: string };

  afterEach(() => {
    onCut = undefined;
    cutComp = 'comp=lease';
  });

  it('release: the retry answers 200 although another client holds the lease by then', async () => {
    const { direct, viaProxy } = await newFile();
    const mine = randomUUID();
    await direct.getShareLeaseClient(mine).acquireLease();
    const next = randomUUID();
    onCut = async () => void (await direct.getShareLeaseClient(next).acquireLease());
    const released = await viaProxy.getShareLeaseClient(mine).releaseLease();
    expect(released._response.status).toBe(200);
    const props = await direct.getProperties();
    expect([props.leaseState, props.leaseStatus]).toEqual(['leased', 'locked']);
  });

  it('break: the retry answers 202 and does not break the next holder', async () => {
    const { direct, viaProxy } = await newFile();
    await direct.getShareLeaseClient(randomUUID()).acquireLease();
    const next = randomUUID();
    onCut = async () => void (await direct.getShareLeaseClient(next).acquireLease());
    const broken = await viaProxy.getShareLeaseClient().breakLease();
    expect(broken._response.status).toBe(202);
    const props = await direct.getProperties();
    expect([props.leaseState, props.leaseStatus]).toEqual(['leased', 'locked']);
    // The next holder can still write under its lease.
    await direct.uploadRange(Buffer.from('next'), 0, 4, { leaseAccessConditions: { leaseId: next } });
  });

  it('change: the retry answers 200 with the new lease id although the lease moved on', async () => {
    const { direct, viaProxy } = await newFile();
    const first = randomUUID();
    const second = randomUUID();
    await direct.getShareLeaseClient(first).acquireLease();
    onCut = async () => {
      await direct.getShareLeaseClient(second).releaseLease();
      await direct.getShareLeaseClient(randomUUID()).acquireLease();
    };
    const changed = await viaProxy.getShareLeaseClient(first).changeLease(second);
    expect([changed._response.status, changed.leaseId]).toEqual([200, second]);
  });

  it('force close: the retry answers the handles the first attempt closed, and closes none opened since', async () => {
    const name = uniqueShare('retry');
    await service.serviceClient().getShareClient(name).create();
    await service.serviceClient().getShareClient(name).getDirectoryClient('d').create();
    await openHandle(service.url, signer, name, 'd');
    let late = '';
    cutComp = 'comp=forceclosehandles';
    onCut = async () => void (late = await openHandle(service.url, signer, name, 'd'));
    const closed = await retrying().getShareClient(name).getDirectoryClient('d').forceCloseAllHandles();
    expect(closed.closedHandlesCount).toBe(1);
    const open = await service.db.query(
      `SELECT h.handle_id::text AS id FROM handles h JOIN shares s ON s.share_id = h.share_id WHERE s.tenant = $1 AND s.name = $2`,
      [DEVELOPMENT_ACCOUNT, name],
    );
    const stillOpen = open.rows.map((r) => r.id);
    expect(stillOpen).toEqual([late]);
  });

  describe('Lease Share', () => {
    it('renew: the retry answers 200 with the lease id although the lease was broken and taken since', async () => {
      const { direct, viaProxy } = await newShare();
      const mine = randomUUID();
      await direct.getShareLeaseClient(mine).acquireLease(15);
      const next = randomUUID();
      onCut = async () => {
        await breakShareLease(direct.getShareLeaseClient(), 0);
        await direct.getShareLeaseClient(next).acquireLease(15);
      };
      const renewed = await renewShareLease(viaProxy.getShareLeaseClient(mine));
      expect([renewed._response.status, renewed.leaseId]).toEqual([200, mine]);
      expect(await shareLease(direct)).toEqual({ status: 'leased', id: next });
    });

    it('release: the retry answers 200 although another client holds the lease by then', async () => {
      const { direct, viaProxy } = await newShare();
      const mine = randomUUID();
      await direct.getShareLeaseClient(mine).acquireLease(-1);
      const next = randomUUID();
      onCut = async () => void (await direct.getShareLeaseClient(next).acquireLease(-1));
      const released = await viaProxy.getShareLeaseClient(mine).releaseLease();
      expect(released._response.status).toBe(200);
      expect(await shareLease(direct)).toEqual({ status: 'leased', id: next });
    });

    it('change: the retry answers 200 with the new lease id although the lease moved on', async () => {
      const { direct, viaProxy } = await newShare();
      const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
      await direct.getShareLeaseClient(first).acquireLease(-1);
      onCut = async () => {
        await direct.getShareLeaseClient(second).releaseLease();
        await direct.getShareLeaseClient(third).acquireLease(-1);
      };
      const changed = await viaProxy.getShareLeaseClient(first).changeLease(second);
      expect([changed._response.status, changed.leaseId]).toEqual([200, second]);
      expect(await shareLease(direct)).toEqual({ status: 'leased', id: third });
    });

    it('break: the retry answers 202 and does not break the next holder', async () => {
      const { direct, viaProxy } = await newShare();
      const mine = randomUUID();
      await direct.getShareLeaseClient(mine).acquireLease(-1);
      const next = randomUUID();
      onCut = async () => void (await direct.getShareLeaseClient(next).acquireLease(-1));
      const broken = await breakShareLease(viaProxy.getShareLeaseClient(), 0);
      expect([broken._response.status, broken.leaseId, broken._response.headers.get('x-ms-lease-time')]).toEqual([
        202,
        mine,
        '0',
      ]);
      expect(await shareLease(direct)).toEqual({ status: 'leased', id: next });
      // One break in the log, the original's.
      const breaks = await service.db.query(
        `SELECT count(*)::int AS n FROM events e JOIN shares s ON e.tenant = s.tenant AND e.stream_id = 'share-' || s.share_id
         WHERE s.tenant = $1 AND s.name = $2 AND e.type = 'ShareLeaseBroken'`,
        [DEVELOPMENT_ACCOUNT, direct.name],
      );
      expect(breaks.rows[0].n).toBe(1);
    });
  });

  it('answers a new request (another client request id) on its own merits', async () => {
    const { direct, viaProxy } = await newFile();
    const mine = randomUUID();
    await direct.getShareLeaseClient(mine).acquireLease();
    await viaProxy.getShareLeaseClient(mine).releaseLease();
    const again = await viaProxy
      .getShareLeaseClient(mine)
      .releaseLease()
      .catch((e) => e);
    expect([again.statusCode, again.code]).toEqual([409, 'LeaseNotPresentWithLeaseOperation']);
  });
});
