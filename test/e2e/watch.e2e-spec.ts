// Watch (extension) end to end: Server-Sent Events and the long poll through the real gateway,
// with shares, files and leases made by the official SDK.
import {
  AccountSASPermissions,
  ShareClient,
  ShareSASPermissions,
  FileSASPermissions,
  ShareServiceClient,
  StorageSharedKeyCredential,
} from '@azure/storage-file-share';
import { randomUUID } from 'node:crypto';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { WatchFeed } from '../../libs/watch/src';
import { sendRaw } from '../support/signed-request';
import { SseStream } from '../support/sse';
import { startTestService, TestService, uniqueShare } from '../support/service';

const HOUR = 3_600_000;
const NO_RETRY = { retryOptions: { maxTries: 1 } };
const dev = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };

describe('Watch (extension)', () => {
  let service: TestService;
  let owner: ShareServiceClient;

  beforeAll(async () => {
    service = await startTestService({ WATCH_HEARTBEAT_SECONDS: '1' });
    owner = service.serviceClient();
  });
  afterAll(() => service.stop());

  const watchers = () => service.api.app.get(WatchFeed).size;
  /** Waits until the feed holds `n` watchers (the service notices a dropped connection by itself). */
  const watchersBecome = async (n: number) => {
    for (let i = 0; i < 200 && watchers() !== n; i++) await new Promise((r) => setTimeout(r, 25));
    expect(watchers()).toBe(n);
  };

  async function shareWith(paths: string[], client = owner): Promise<ShareClient> {
    const share = client.getShareClient(uniqueShare('watch'));
    await share.create();
    for (const path of paths) {
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++)
        await share.getDirectoryClient(parts.slice(0, i).join('/')).createIfNotExists();
      await share.rootDirectoryClient.getFileClient(path).create(16);
    }
    return share;
  }
  const sse = (
    path: string,
    query = '',
    headers: Record<string, string> = {},
    // null: unsigned (a SAS in the query); undefined would sign with the default, and a signature wins over a SAS.
    signer: { account: string; key: string } | null = dev,
  ) =>
    SseStream.open(service.url, {
      path,
      query: query ? `comp=watch&${query}` : 'comp=watch',
      headers,
      signer: signer ?? undefined,
    });
  const types = (messages: Array<{ data: any }>) => messages.map((m) => `${m.data.type} ${m.data.path}`);

  it('streams a file’s lease changes; after a forced disconnect, Last-Event-ID resumes with exactly the missed ones', async () => {
    const share = await shareWith(['doc.txt']);
    const file = share.rootDirectoryClient.getFileClient('doc.txt');
    const path = `/${DEVELOPMENT_ACCOUNT}/${share.name}/doc.txt`;
    // Lease changes only: a watch from now may begin with the file's creation (see WatchFeed.watch).
    const leaseChanges = 'type=LeaseAcquired,LeaseChanged,LeaseBroken,LeaseReleased';
    const first = await sse(path, leaseChanges);
    expect(first.response.statusCode).toBe(200);
    expect(first.response.headers['content-type']).toBe('text/event-stream');
    const lease = file.getShareLeaseClient();
    await lease.acquireLease();
    const [acquired] = await first.messages(1);
    expect(acquired.data).toMatchObject({
      type: 'LeaseAcquired',
      share: share.name,
      path: 'doc.txt',
      leaseId: lease.leaseId,
      epoch: 1,
      principal: DEVELOPMENT_ACCOUNT,
    });
    expect(acquired.data.cursor).toBe(acquired.id);

    first.close();
    await watchersBecome(0); // closing the socket unsubscribes
    const next = randomUUID();
    await lease.changeLease(next);
    await file.getShareLeaseClient(next).breakLease();
    await file.getShareLeaseClient(next).releaseLease();

    const resumed = await sse(path, leaseChanges, { 'last-event-id': acquired.id });
    expect(types(await resumed.messages(3))).toEqual([
      'LeaseChanged doc.txt',
      'LeaseBroken doc.txt',
      'LeaseReleased doc.txt',
    ]);
    await file.getShareLeaseClient().acquireLease();
    const live = await resumed.messages(1);
    expect(types(live)).toEqual(['LeaseAcquired doc.txt']);
    // Nothing else: the next block is a heartbeat (an id and no data).
    const heartbeat = await resumed.next(5_000);
    expect(heartbeat).toMatchObject({ comment: 'heartbeat' });
    expect(heartbeat?.data).toBeUndefined();
    resumed.close();
    await watchersBecome(0);
  });

  it('resumes from a heartbeat’s id with nothing repeated', async () => {
    const share = await shareWith([]);
    const path = `/${DEVELOPMENT_ACCOUNT}/${share.name}`;
    const query = 'recursive=true&type=FileCreated';
    const stream = await sse(path, query);
    await share.rootDirectoryClient.getFileClient('a.txt').create(1);
    expect(types(await stream.messages(1))).toEqual(['FileCreated a.txt']);
    const heartbeat = await stream.next(5_000);
    expect(heartbeat?.comment).toBe('heartbeat');
    stream.close();
    await share.rootDirectoryClient.getFileClient('b.txt').create(1);
    const resumed = await sse(path, query, { 'last-event-id': heartbeat!.id! });
    expect(types(await resumed.messages(1))).toEqual(['FileCreated b.txt']);
    resumed.close();
  });

  it('follows renames: a renamed file’s later changes at its new path, to the watchers of its new place; the rename reaches its old place too', async () => {
    const share = await shareWith(['a/doc.txt']);
    await share.getDirectoryClient('b').create();
    const base = `/${DEVELOPMENT_ACCOUNT}/${share.name}`;
    // Signed raw requests: the JS SDK's rename() cannot reach a path-style endpoint (file-operations e2e shows it).
    const rename = async (kind: 'file' | 'directory', from: string, to: string) => {
      const res = await sendRaw(service.url, {
        method: 'PUT',
        path: `${base}/${to}`,
        query: kind === 'file' ? 'comp=rename' : 'restype=directory&comp=rename',
        headers: { 'x-ms-file-rename-source': `${service.url}${base}/${from}` },
        signer: dev,
      });
      expect(res.status).toBe(200);
    };
    const changes = 'type=NodeRenamed,NodeMoved,LeaseAcquired,LeaseReleased';
    const oldDir = await sse(`${base}/a`, changes);
    // A SAS grants a place: it is shown no path outside it, a rename's included.
    const sas = new URL(
      share.generateSasUrl({ permissions: ShareSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + HOUR) }),
    ).search.slice(1);
    const oldDirBySas = await sse(`${base}/a`, `${changes}&${sas}`, {}, null);
    const newFile = await sse(`${base}/b/moved.txt`, changes);
    const laterDir = await sse(`${base}/c`, `recursive=true&${changes}`);

    await rename('file', 'a/doc.txt', 'b/moved.txt');
    const lease = await share.rootDirectoryClient.getFileClient('b/moved.txt').getShareLeaseClient().acquireLease();
    await rename('directory', 'b', 'c');
    await share.rootDirectoryClient.getFileClient('c/moved.txt').getShareLeaseClient(lease.leaseId).releaseLease();

    const [renamed] = await oldDir.messages(1);
    expect(renamed.data).toMatchObject({ type: 'NodeRenamed', path: 'b/moved.txt', from: 'a/doc.txt' });
    const [left] = await oldDirBySas.messages(1);
    expect(left.data).toMatchObject({ type: 'NodeRenamed', path: 'a/doc.txt' });
    expect(left.data.from).toBeUndefined();
    expect(types(await newFile.messages(3))).toEqual([
      'NodeRenamed b/moved.txt',
      'LeaseAcquired b/moved.txt',
      'NodeMoved c/moved.txt',
    ]);
    expect(types(await laterDir.messages(3))).toEqual([
      'NodeRenamed c',
      'NodeMoved c/moved.txt',
      'LeaseReleased c/moved.txt',
    ]);
    // Nothing of the file reached the places it had left: the next blocks are heartbeats.
    expect((await oldDir.next(5_000))?.data).toBeUndefined();
    expect((await newFile.next(5_000))?.data).toBeUndefined();
    expect((await oldDirBySas.next(5_000))?.data).toBeUndefined();
    for (const stream of [oldDir, oldDirBySas, newFile, laterDir]) stream.close();
  });

  it('never shows one tenant another tenant’s changes', async () => {
    // Two fresh accounts: nothing of theirs happened before their watches began.
    const [me, other] = [
      await service.createAccount(`watch${randomUUID().slice(0, 8)}`),
      await service.createAccount(`watch${randomUUID().slice(0, 8)}`),
    ];
    const client = (a: { name: string; key1: string }) =>
      new ShareServiceClient(service.accountUrl(a.name), new StorageSharedKeyCredential(a.name, a.key1), NO_RETRY);
    const [myClient, otherClient] = [client(me), client(other)];
    const mine = await sse(`/${me.name}`, '', {}, { account: me.name, key: me.key1 });
    const theirs = await sse(`/${other.name}`, '', {}, { account: other.name, key: other.key1 });
    // The same share name and path in both accounts.
    const name = uniqueShare('twin');
    for (const client of [myClient, otherClient]) {
      const share = client.getShareClient(name);
      await share.create();
      await share.rootDirectoryClient.getFileClient('same.txt').create(1);
    }
    await otherClient
      .getShareClient(name)
      .rootDirectoryClient.getFileClient('same.txt')
      .getShareLeaseClient()
      .acquireLease();
    await myClient.getShareClient(name).rootDirectoryClient.getFileClient('mine-only.txt').create(1);

    const theirMessages = await theirs.messages(3);
    expect(types(theirMessages)).toEqual(['ShareCreated ', 'FileCreated same.txt', 'LeaseAcquired same.txt']);
    expect(theirMessages.every((m) => m.data.principal === other.name)).toBe(true);
    const myMessages = await mine.messages(3);
    expect(types(myMessages)).toEqual(['ShareCreated ', 'FileCreated same.txt', 'FileCreated mine-only.txt']);
    // A cursor of one tenant's watch is refused on the other's.
    expect(myMessages.every((m) => m.data.principal === me.name)).toBe(true);
    const foreign = await sendRaw(service.url, {
      method: 'GET',
      path: `/${me.name}`,
      query: `comp=watch&timeout=0&cursor=${encodeURIComponent(theirMessages[0].id)}`,
      signer: { account: me.name, key: me.key1 },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.header('x-ms-error-code')).toBe('InvalidQueryParameterValue');
    mine.close();
    theirs.close();
  });

  it('gives a SAS only what is under the place it may read or list', async () => {
    const share = await shareWith(['inside/a.txt', 'inside/deep/b.txt', 'outside/c.txt', 'top.txt']);
    const shareSas = (permissions: string) =>
      new URL(
        share.generateSasUrl({
          permissions: ShareSASPermissions.parse(permissions),
          expiresOn: new Date(Date.now() + HOUR),
        }),
      ).search.slice(1);
    const fileSas = (path: string, permissions: string) =>
      new URL(
        share.rootDirectoryClient.getFileClient(path).generateSasUrl({
          permissions: FileSASPermissions.parse(permissions),
          expiresOn: new Date(Date.now() + HOUR),
        }),
      ).search.slice(1);
    const base = `/${DEVELOPMENT_ACCOUNT}/${share.name}`;

    // Lease changes only: a watch from now may begin with the files' creation (see WatchFeed.watch).
    const directory = await sse(`${base}/inside`, `recursive=true&type=LeaseAcquired&${shareSas('rl')}`, {}, null);
    expect(directory.response.statusCode).toBe(200);
    const file = await sse(`${base}/inside/a.txt`, `type=LeaseAcquired&${fileSas('inside/a.txt', 'r')}`, {}, null);
    expect(file.response.statusCode).toBe(200);
    for (const path of ['outside/c.txt', 'top.txt', 'inside/a.txt', 'inside/deep/b.txt']) {
      await share.rootDirectoryClient.getFileClient(path).getShareLeaseClient().acquireLease();
    }
    expect(types(await directory.messages(2))).toEqual([
      'LeaseAcquired inside/a.txt',
      'LeaseAcquired inside/deep/b.txt',
    ]);
    expect(types(await file.messages(1))).toEqual(['LeaseAcquired inside/a.txt']);
    // Nothing from outside came before or after: the next blocks are heartbeats.
    expect((await directory.next(5_000))?.data).toBeUndefined();
    expect((await file.next(5_000))?.data).toBeUndefined();
    directory.close();
    file.close();

    const refused = async (path: string, query: string, code: string) => {
      const res = await sendRaw(service.url, { method: 'GET', path, query: `comp=watch&timeout=0&${query}` });
      expect([res.status, res.header('x-ms-error-code')]).toEqual([403, code]);
    };
    await refused(`${base}/inside`, shareSas('r'), 'AuthorizationPermissionMismatch'); // a directory needs l
    await refused(`${base}/inside/a.txt`, shareSas('l'), 'AuthorizationPermissionMismatch'); // a file needs r
    await refused(`${base}/inside`, fileSas('inside/a.txt', 'r'), 'AuthenticationFailed'); // a file SAS names its file
    await refused(`/${DEVELOPMENT_ACCOUNT}`, shareSas('rl'), 'AuthenticationFailed'); // a share SAS names its share
    const accountSas = (permissions: string) =>
      new URL(
        owner.generateAccountSasUrl(new Date(Date.now() + HOUR), AccountSASPermissions.parse(permissions), 'sco'),
      ).search.slice(1);
    await refused(`/${DEVELOPMENT_ACCOUNT}`, accountSas('r'), 'AuthorizationPermissionMismatch'); // the account needs l
    await watchersBecome(0);
  });

  it('keeps only the asked event types', async () => {
    const share = await shareWith(['f.txt']);
    const stream = await sse(`/${DEVELOPMENT_ACCOUNT}/${share.name}`, 'recursive=true&type=LeaseBroken,LeaseReleased');
    const lease = share.rootDirectoryClient.getFileClient('f.txt').getShareLeaseClient();
    await lease.acquireLease();
    await lease.breakLease();
    await lease.releaseLease();
    expect(types(await stream.messages(2))).toEqual(['LeaseBroken f.txt', 'LeaseReleased f.txt']);
    stream.close();
    const bad = await sendRaw(service.url, {
      method: 'GET',
      path: `/${DEVELOPMENT_ACCOUNT}`,
      query: 'comp=watch&type=FileRangeWritten',
      signer: dev,
    });
    expect([bad.status, bad.header('x-ms-error-code')]).toEqual([400, 'InvalidQueryParameterValue']);
  });

  it('answers a long poll with the batch and the next cursor, in JSON or XML', async () => {
    const share = await shareWith(['p.txt']);
    const path = `/${DEVELOPMENT_ACCOUNT}/${share.name}/p.txt`;
    const poll = (query: string, headers: Record<string, string> = {}) =>
      sendRaw(service.url, {
        method: 'GET',
        path,
        query: `comp=watch&type=LeaseAcquired,LeaseReleased&${query}`,
        headers,
        signer: dev,
      });

    const empty = await poll('timeout=0');
    expect(empty.status).toBe(200);
    const start = JSON.parse(empty.body);
    expect(start.events).toEqual([]);
    const lease = share.rootDirectoryClient.getFileClient('p.txt').getShareLeaseClient();
    await lease.acquireLease();
    await lease.releaseLease();
    // A poll answers as soon as it has something: the release can come in the next one, when another
    // transaction in the cluster, open as it committed, held it back (the xid8 rule).
    const batch = { events: [] as Array<{ type: string; cursor: string }>, cursor: start.cursor };
    for (let polls = 0; batch.events.length < 2 && polls < 10; polls++) {
      const next = JSON.parse((await poll(`timeout=5&cursor=${encodeURIComponent(batch.cursor)}`)).body);
      batch.events.push(...next.events);
      batch.cursor = next.cursor;
    }
    expect(batch.events.map((e) => e.type)).toEqual(['LeaseAcquired', 'LeaseReleased']);
    expect(batch.cursor).toBe(batch.events[1].cursor);
    // A page at a time with maxresults; the cursor goes on from the last one given.
    const one = JSON.parse((await poll(`timeout=5&maxresults=1&cursor=${encodeURIComponent(start.cursor)}`)).body);
    expect(one.events.map((e: { type: string }) => e.type)).toEqual(['LeaseAcquired']);
    const xml = await poll(`timeout=5&cursor=${encodeURIComponent(one.cursor)}`, { accept: 'application/xml' });
    expect(xml.header('content-type')).toBe('application/xml');
    expect(xml.body).toContain('<Type>LeaseReleased</Type>');
    expect(xml.body).not.toContain('LeaseAcquired');
    expect(xml.body).toMatch(/<NextCursor>[^<]+<\/NextCursor>/);
    // Nothing new: the poll waits out its timeout and hands back a cursor past what it has seen.
    const idle = JSON.parse((await poll(`timeout=1&cursor=${encodeURIComponent(batch.cursor)}`)).body);
    expect(idle.events).toEqual([]);
    const forged = await poll(`timeout=0&cursor=${encodeURIComponent(`${batch.cursor}x`)}`);
    expect([forged.status, forged.header('x-ms-error-code')]).toEqual([400, 'InvalidQueryParameterValue']);
    // A cursor bound to another watch (here, the share) is refused too.
    const elsewhere = await sendRaw(service.url, {
      method: 'GET',
      path: `/${DEVELOPMENT_ACCOUNT}/${share.name}`,
      query: `comp=watch&type=LeaseAcquired,LeaseReleased&timeout=0&cursor=${encodeURIComponent(batch.cursor)}`,
      signer: dev,
    });
    expect(elsewhere.status).toBe(400);
  });
});

describe('Watch (extension) limits', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ WATCH_LIMIT_PER_TENANT: '1' });
  });
  afterAll(() => service.stop());

  it('refuses a tenant’s watch beyond its limit on the process with 503 ServerBusy, and takes it again once one closes', async () => {
    const first = await SseStream.open(service.url, {
      path: `/${DEVELOPMENT_ACCOUNT}`,
      query: 'comp=watch',
      signer: dev,
    });
    expect(first.response.statusCode).toBe(200);
    const second = await sendRaw(service.url, {
      method: 'GET',
      path: `/${DEVELOPMENT_ACCOUNT}`,
      query: 'comp=watch&timeout=0',
      signer: dev,
    });
    expect([second.status, second.header('x-ms-error-code'), second.header('retry-after')]).toEqual([
      503,
      'ServerBusy',
      '1',
    ]);
    const other = await service.createAccount(`limit${randomUUID().slice(0, 8)}`);
    const theirs = await sendRaw(service.url, {
      method: 'GET',
      path: `/${other.name}`,
      query: 'comp=watch&timeout=0',
      signer: { account: other.name, key: other.key1 },
    });
    expect(theirs.status).toBe(200); // the limit is per tenant
    first.close();
    let again = second;
    for (let i = 0; i < 100 && again.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      again = await sendRaw(service.url, {
        method: 'GET',
        path: `/${DEVELOPMENT_ACCOUNT}`,
        query: 'comp=watch&timeout=0',
        signer: dev,
      });
    }
    expect(again.status).toBe(200);
  });
});

describe('Watch (extension) on shutdown', () => {
  it('ends open streams when the API stops, so the stop does not wait on them and clients reconnect elsewhere', async () => {
    const service = await startTestService();
    const stream = await SseStream.open(service.url, {
      path: `/${DEVELOPMENT_ACCOUNT}`,
      query: 'comp=watch',
      signer: dev,
    });
    expect(stream.response.statusCode).toBe(200);
    await service.stop();
    for (let i = 0; i < 200 && !stream.ended; i++) await new Promise((r) => setTimeout(r, 25));
    expect(stream.ended).toBe(true);
  });
});
