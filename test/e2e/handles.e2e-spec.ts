// Handles end to end: the registry's extension operations (open and close, hand-signed since the
// SDK has no such calls), then List Handles and Force Close Handles through the official SDK,
// against the real service and PostgreSQL, checking the answers, the handles table and the events.
import { HandleItem, RestError, ShareClient, ShareDirectoryClient, ShareFileClient } from '@azure/storage-file-share';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { RawResponse, sendRaw } from '../support/signed-request';
import { startTestService, TestService, uniqueShare } from '../support/service';

const OWNER = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
const LEASE_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const LEASE_B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

type Target = { url: string };
type Signer = { account: string; key: string };

interface OpenOptions {
  clientIp?: string;
  clientName?: string;
  sessionId?: string;
  access?: string;
  leaseId?: string;
  signer?: Signer;
}

/** What a holder needs to close its handle. */
interface Held {
  handleId: string;
  sessionId: string;
  target: Target;
}

/** A handle as the test opened it: what List Handles must report back. */
interface Opened extends Held {
  fileId: string;
  clientIp: string;
  clientName: string;
  access: string[];
  /** The share-relative path, as the names were given (case preserved). */
  path: string;
  /** Wall-clock bounds of the request, to check OpenTime (RFC 1123, whole seconds) against. */
  before: number;
  after: number;
}

let ipCounter = 0;
const nextIp = () => `10.1.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}:${445 + (ipCounter % 1000)}`;

/** Where a client URL points, as it goes on the wire (the SDK's encoding). */
const wirePath = (target: Target) => new URL(target.url).pathname;
/** The share-relative path of a client, decoded: what List Handles reports as Path. */
const sharePath = (target: Target) => wirePath(target).split('/').slice(3).map(decodeURIComponent).join('/');

function rawOpen(service: TestService, target: Target, o: OpenOptions = {}): Promise<RawResponse> {
  return sendRaw(service.url, {
    method: 'PUT',
    path: wirePath(target),
    query: 'comp=openhandle',
    headers: {
      'x-leasehold-client-ip': o.clientIp,
      'x-leasehold-client-name': o.clientName,
      'x-leasehold-session-id': o.sessionId,
      'x-leasehold-access': o.access,
      'x-ms-lease-id': o.leaseId,
    },
    signer: o.signer ?? OWNER,
  });
}

/** Opens a handle and expects 201; returns what List Handles should show for it. */
async function open(service: TestService, target: Target, o: OpenOptions = {}): Promise<Opened> {
  const clientIp = o.clientIp ?? nextIp();
  const clientName = o.clientName ?? `client-${clientIp.split(':')[0]}`;
  const access = o.access ?? 'Read';
  const before = Date.now();
  const res = await rawOpen(service, target, { ...o, clientIp, clientName, access });
  const after = Date.now();
  if (res.status !== 201) throw new Error(`open ${target.url} answered ${res.status}: ${res.body}`);
  return {
    handleId: res.header('x-leasehold-handle-id')!,
    fileId: res.header('x-leasehold-file-id')!,
    sessionId: res.header('x-leasehold-session-id')!,
    clientIp,
    clientName,
    access: access.split(',').map((a) => a.trim()),
    path: sharePath(target),
    target,
    before,
    after,
  };
}

function rawClose(service: TestService, target: Target, handleId: string, sessionId: string): Promise<RawResponse> {
  return sendRaw(service.url, {
    method: 'PUT',
    path: wirePath(target),
    query: 'comp=closehandle',
    headers: { 'x-leasehold-handle-id': handleId, 'x-leasehold-session-id': sessionId },
    signer: OWNER,
  });
}

function rawForceClose(
  service: TestService,
  target: Target,
  headers: Record<string, string>,
  marker?: string,
  signer: Signer = OWNER,
): Promise<RawResponse> {
  return sendRaw(service.url, {
    method: 'PUT',
    path: wirePath(target),
    query:
      marker === undefined ? 'comp=forceclosehandles' : `marker=${encodeURIComponent(marker)}&comp=forceclosehandles`,
    headers,
    signer,
  });
}

/** `signer: null` sends the request unsigned. */
function rawList(
  service: TestService,
  target: Target,
  query: string,
  headers: Record<string, string> = {},
  signer: Signer | null = OWNER,
): Promise<RawResponse> {
  return sendRaw(service.url, {
    method: 'GET',
    path: wirePath(target),
    query: `${query}${query ? '&' : ''}comp=listhandles`,
    headers,
    signer: signer ?? undefined,
  });
}

/** Runs `work` over `items` with at most `width` in flight. */
async function inParallel<T, R>(items: T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

/** The failure of an SDK call, which must be a RestError. */
async function failure(call: Promise<unknown>): Promise<RestError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RestError);
  return error as RestError;
}

/** An SDK call refused with status and code, in the body (`code`) and in the header (`details.errorCode`). */
async function refused(call: Promise<unknown>, status: number, code: string): Promise<RestError> {
  const error = await failure(call);
  expect({
    status: error.statusCode,
    code: error.code,
    errorCode: (error.details as { errorCode?: string })?.errorCode,
  }).toEqual({
    status,
    code,
    errorCode: code,
  });
  return error;
}

/** A hand-signed request refused with status and code (body and header). */
function expectRefusal(res: RawResponse, status: number, code: string): void {
  expect({
    status: res.status,
    code: /<Code>([^<]*)<\/Code>/.exec(res.body)?.[1],
    errorCode: res.header('x-ms-error-code'),
  }).toEqual({
    status,
    code,
    errorCode: code,
  });
}

/** The handle as List Handles must show it. */
function expectListed(item: HandleItem, opened: Opened, parentId: string): void {
  expect({
    handleId: item.handleId,
    path: item.path,
    fileId: item.fileId,
    parentId: item.parentId,
    sessionId: item.sessionId,
    clientIp: item.clientIp,
    clientName: item.clientName,
    accessRightList: item.accessRightList,
  }).toEqual({
    handleId: opened.handleId,
    path: opened.path,
    fileId: opened.fileId,
    parentId,
    sessionId: opened.sessionId,
    clientIp: opened.clientIp,
    clientName: opened.clientName,
    accessRightList: opened.access,
  });
  // RFC 1123 has whole seconds: the open time lies in the second the request started in, or later.
  expect(item.openTime.getTime()).toBeGreaterThanOrEqual(Math.floor(opened.before / 1000) * 1000);
  expect(item.openTime.getTime()).toBeLessThanOrEqual(opened.after);
  expect(item.lastReconnectTime).toBeUndefined();
}

const byId = (a: { handleId: string }, b: { handleId: string }) => (BigInt(a.handleId) < BigInt(b.handleId) ? -1 : 1);

/** All pages of a file's handles through listHandlesSegment (the only file call that sends maxresults). */
async function fileListing(
  file: ShareFileClient,
  maxResults: number,
): Promise<{ pages: HandleItem[][]; markers: string[] }> {
  const pages: HandleItem[][] = [];
  const markers: string[] = [];
  let marker: string | undefined;
  do {
    // Private in the SDK's types, public in its JavaScript: file byPage() drops maxPageSize (docs/wire-format.md, SDK behaviour).
    const page = await file['listHandlesSegment'](marker, { maxResults });
    pages.push(page.handleList ?? []);
    markers.push(page.continuationToken);
    marker = page.continuationToken;
  } while (marker);
  return { pages, markers };
}

/** All pages of a directory's handles through the SDK's byPage, which sends maxresults on every page. */
async function directoryListing(
  dir: ShareDirectoryClient,
  recursive: boolean,
  maxPageSize: number | undefined,
): Promise<{ pages: HandleItem[][]; markers: string[] }> {
  const pages: HandleItem[][] = [];
  const markers: string[] = [];
  for await (const page of dir.listHandles({ recursive }).byPage({ maxPageSize })) {
    pages.push(page.handleList ?? []);
    markers.push(page.continuationToken);
  }
  return { pages, markers };
}

interface EventRow {
  /** The handle the row is about: its stream's, or one of those a HandlesForceClosed names (one row for each). */
  handle_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  position: string;
  data: Record<string, any>;
  metadata: Record<string, any>;
}

async function handleEvents(
  service: TestService,
  handleIds: string[],
  tenant = DEVELOPMENT_ACCOUNT,
): Promise<EventRow[]> {
  const { rows } = await service.db.query(
    `SELECT substr(stream_id, 8) AS handle_id, stream_id, stream_version, type, position::text, data, metadata FROM events
     WHERE tenant = $1 AND stream_id = ANY($2::text[])
     UNION ALL
     SELECT id, stream_id, stream_version, type, position::text, data, metadata FROM events, jsonb_array_elements_text(data->'handleIds') id
     WHERE tenant = $1 AND type = 'HandlesForceClosed' AND id = ANY($3::text[])
     ORDER BY 5`,
    [tenant, handleIds.map((id) => `handle-${id}`), handleIds],
  );
  return rows;
}

async function openRows(service: TestService, handleIds: string[]): Promise<string[]> {
  const { rows } = await service.db.query(
    `SELECT handle_id::text AS id FROM handles WHERE handle_id = ANY($1::bigint[])`,
    [handleIds],
  );
  return rows.map((r: { id: string }) => r.id);
}

/** The handle ids of the events, grouped by type. */
function idsByType(events: EventRow[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) (out[e.type] ??= []).push(e.handle_id);
  return out;
}

describe('handles: open, List Handles, Force Close Handles', () => {
  let service: TestService;
  let share: ShareClient;

  beforeAll(async () => {
    // A tiny chunk, so even a handful of handles needs several Force Close calls and markers.
    service = await startTestService({ FORCE_CLOSE_CHUNK_SIZE: '3' });
    share = service.serviceClient().getShareClient(uniqueShare('handles'));
    await share.create();
  });
  afterAll(() => service.stop());

  describe('List Handles', () => {
    let dirA: ShareDirectoryClient;
    let subB: ShareDirectoryClient;
    let fileC: ShareFileClient;
    let file1: ShareFileClient;
    let ids: Record<string, { fileId: string; parentId: string }>;
    const opened: Record<'root' | 'dirA' | 'subB' | 'fileC' | 'file1', Opened[]> = {
      root: [],
      dirA: [],
      subB: [],
      fileC: [],
      file1: [],
    };

    beforeAll(async () => {
      // Mixed case, a space, '&' and non-ASCII: Path must come back exactly as created, escaped in XML.
      dirA = share.getDirectoryClient('Dir A');
      subB = dirA.getDirectoryClient('Sub R&D ü');
      fileC = subB.getFileClient('File C.TXT');
      file1 = dirA.getFileClient('file1.txt');
      await dirA.create();
      await subB.create();
      await fileC.create(1);
      await file1.create(1);
      const props = async (c: ShareDirectoryClient | ShareFileClient) => {
        const p = await c.getProperties();
        return { fileId: p.fileId!, parentId: p.fileParentId! };
      };
      ids = { dirA: await props(dirA), subB: await props(subB), fileC: await props(fileC), file1: await props(file1) };

      opened.root.push(await open(service, share.rootDirectoryClient, { access: 'Read' }));
      opened.dirA.push(await open(service, dirA, { access: 'Read', sessionId: '4242' }));
      opened.dirA.push(await open(service, dirA, { access: 'Read,Write,Delete', clientName: 'WORKSTATION-7' }));
      opened.subB.push(await open(service, subB));
      for (let i = 0; i < 3; i++)
        opened.fileC.push(await open(service, fileC, { access: i === 0 ? 'Read,Write' : 'Read' }));
      // Seven on one file: pages of 3 make 3 + 3 + 1.
      for (let i = 0; i < 7; i++) {
        opened.file1.push(
          await open(service, file1, {
            access: ['Read', 'Write', 'Delete', 'Read,Delete'][i % 4],
            clientIp: `[fe80::${i + 1}]:${50000 + i}`,
          }),
        );
      }
    });

    it('open answers the handle id, the FileId of the node and a session id (given or new)', () => {
      const all = Object.values(opened).flat();
      for (const h of all) {
        expect(h.handleId).toMatch(/^\d+$/);
        expect(h.sessionId).toMatch(/^\d+$/);
      }
      expect(new Set(all.map((h) => h.handleId)).size).toBe(all.length);
      expect(opened.dirA[0].sessionId).toBe('4242');
      // Ids that name the node, as Get Properties reports them; the share root is FileId 0.
      expect(opened.root[0].fileId).toBe('0');
      expect(opened.dirA.map((h) => h.fileId)).toEqual([ids.dirA.fileId, ids.dirA.fileId]);
      expect(opened.subB[0].fileId).toBe(ids.subB.fileId);
      expect(opened.fileC.map((h) => h.fileId)).toEqual(opened.fileC.map(() => ids.fileC.fileId));
      expect(opened.file1[0].fileId).toBe(ids.file1.fileId);
      expect(ids.dirA.parentId).toBe('0');
      expect(ids.subB.parentId).toBe(ids.dirA.fileId);
      expect(ids.fileC.parentId).toBe(ids.subB.fileId);
    });

    it("open records HandleOpened at version 1 of the handle's own stream", async () => {
      const h = opened.fileC[0];
      const events = await handleEvents(service, [h.handleId]);
      expect(events.map((e) => [e.type, e.stream_version])).toEqual([['HandleOpened', 1]]);
      expect(events[0].data).toMatchObject({
        handleId: h.handleId,
        path: 'Dir A/Sub R&D ü/File C.TXT',
        fileId: ids.fileC.fileId,
        clientIp: h.clientIp,
      });
      expect(events[0].metadata).toMatchObject({ principal: DEVELOPMENT_ACCOUNT, authentication: 'SharedKey' });
    });

    it("lists a file's handles across pages with listHandlesSegment(maxResults): exact set, every field", async () => {
      const { pages, markers } = await fileListing(file1, 3);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(markers[0]).not.toBe('');
      expect(markers[1]).not.toBe('');
      expect(markers[2]).toBe('');
      const listed = pages.flat();
      // Keyset order: (path, handle id); handle ids are random, so not the order of opening.
      const expected = [...opened.file1].sort(byId);
      expect(listed.map((h) => h.handleId)).toEqual(expected.map((h) => h.handleId));
      for (const [i, item] of listed.entries()) expectListed(item, expected[i], ids.file1.parentId);
    });

    it("lists a file's handles in one page when maxresults is absent, and NextMarker is empty", async () => {
      const page = await file1['listHandlesSegment'](undefined, {});
      expect(page.handleList!.map((h: HandleItem) => h.handleId)).toEqual(
        [...opened.file1].sort(byId).map((h) => h.handleId),
      );
      expect(page.continuationToken).toBe('');
    });

    it('lists a directory recursively with byPage({maxPageSize}): its own handles and everything below, once each', async () => {
      const { pages, markers } = await directoryListing(dirA, true, 2);
      const expected = [...opened.dirA, ...opened.subB, ...opened.fileC, ...opened.file1];
      expect(pages.every((p) => p.length <= 2)).toBe(true);
      expect(pages.length).toBe(Math.ceil(expected.length / 2));
      expect(markers.slice(0, -1).every((m) => m !== '')).toBe(true);
      expect(markers[markers.length - 1]).toBe('');
      const listed = pages.flat();
      expect(new Set(listed.map((h) => h.handleId)).size).toBe(listed.length);
      expect([...listed].sort(byId).map((h) => h.handleId)).toEqual([...expected].sort(byId).map((h) => h.handleId));
      const parentOf: Record<string, string> = {
        [ids.dirA.fileId]: ids.dirA.parentId,
        [ids.subB.fileId]: ids.subB.parentId,
        [ids.fileC.fileId]: ids.fileC.parentId,
        [ids.file1.fileId]: ids.file1.parentId,
      };
      for (const item of listed) {
        const h = expected.find((e) => e.handleId === item.handleId)!;
        expectListed(item, h, parentOf[h.fileId]);
      }
      expect(new Set(listed.map((h) => h.path))).toEqual(
        new Set(['Dir A', 'Dir A/Sub R&D ü', 'Dir A/Sub R&D ü/File C.TXT', 'Dir A/file1.txt']),
      );
    });

    it("lists a directory without recursion: only the directory's own handles", async () => {
      const { pages, markers } = await directoryListing(dirA, false, 5000);
      const expected = [...opened.dirA].sort(byId);
      expect(pages.flat().map((h) => h.handleId)).toEqual(expected.map((h) => h.handleId));
      expect(markers).toEqual(['']);
      for (const [i, item] of pages.flat().entries()) expectListed(item, expected[i], '0');
    });

    it('lists the share root: its own handle with an empty Path and FileId 0, and recursively everything', async () => {
      const own = await directoryListing(share.rootDirectoryClient, false, 10);
      expect(own.pages.flat().length).toBe(1);
      expectListed(own.pages.flat()[0], opened.root[0], '0');
      expect(own.pages.flat()[0].path).toBe('');
      const all = await directoryListing(share.rootDirectoryClient, true, 4);
      const everything = Object.values(opened).flat();
      expect(
        all.pages
          .flat()
          .map((h) => h.handleId)
          .sort(),
      ).toEqual(everything.map((h) => h.handleId).sort());
      expect(all.markers[all.markers.length - 1]).toBe('');
    });

    it('the XML has Path, AccessRightList and an empty NextMarker on the last page', async () => {
      const res = await rawList(service, subB, 'maxresults=10');
      expect(res.status).toBe(200);
      expect(res.header('content-type')).toMatch(/^application\/xml/);
      expect(res.body).toContain('<Path>Dir A/Sub R&amp;D ü</Path>');
      expect(res.body).toContain('<AccessRightList><AccessRight>Read</AccessRight></AccessRightList>');
      expect(res.body).toMatch(/<NextMarker ?\/>|<NextMarker><\/NextMarker>/);
    });

    it('a name with U+FFFE travels percent-encoded (Encoded="true") and comes back decoded; client names are escaped', async () => {
      const odd = share.rootDirectoryClient.getFileClient('Odd\uFFFE name.txt');
      await odd.create(0);
      const h = await open(service, odd, { clientName: 'PC <R&D> "x"' });
      const raw = await rawList(service, odd, '');
      expect(raw.body).toContain('<Path Encoded="true">Odd%EF%BF%BE%20name.txt</Path>');
      const [item] = (await fileListing(odd, 10)).pages.flat();
      expectListed(item, h, '0');
      expect(item.path).toBe('Odd\uFFFE name.txt');
      expect(item.clientName).toBe('PC <R&D> "x"');
      // Leave the share root's recursive listing as the other tests expect it.
      expect((await odd.forceCloseAllHandles()).closedHandlesCount).toBe(1);
    });

    it.each([['0'], ['-1'], ['abc'], ['']])('maxresults=%j is 400 InvalidQueryParameterValue', async (value) => {
      expectRefusal(await rawList(service, file1, `maxresults=${value}`), 400, 'InvalidQueryParameterValue');
    });

    it('maxresults=0 through the SDK is a 400 RestError', async () => {
      await refused(file1['listHandlesSegment'](undefined, { maxResults: 0 }), 400, 'InvalidQueryParameterValue');
      await refused(dirA.listHandles().byPage({ maxPageSize: 0 }).next(), 400, 'InvalidQueryParameterValue');
    });

    it('maxresults above 5,000 is capped, not refused', async () => {
      const res = await rawList(service, file1, 'maxresults=100000');
      expect(res.status).toBe(200);
      expect(res.body.match(/<Handle>/g)!.length).toBe(7);
    });

    it('x-ms-recursive on a file is 400; a missing file is 404', async () => {
      expectRefusal(await rawList(service, file1, '', { 'x-ms-recursive': 'true' }), 400, 'InvalidHeaderValue');
      await refused(dirA.getFileClient('nope.txt')['listHandlesSegment'](undefined, {}), 404, 'ResourceNotFound');
    });
  });

  describe('Force Close Handles', () => {
    it('Delete Share closes the handles still open in it, one HandleForceClosed each (reason ShareDeleted)', async () => {
      const doomed = service.serviceClient().getShareClient(uniqueShare('doomed'));
      await doomed.create();
      const file = doomed.rootDirectoryClient.getFileClient('open.bin');
      await file.create(0);
      const handles = [await open(service, file), await open(service, doomed.rootDirectoryClient)];
      await doomed.delete();

      const ids = handles.map((h) => h.handleId);
      expect(await openRows(service, ids)).toEqual([]);
      const closes = (await handleEvents(service, ids)).filter((e) => e.type !== 'HandleOpened');
      expect(closes.map((e) => [e.handle_id, e.type, e.stream_version, e.data.reason]).sort()).toEqual(
        ids.map((id) => [id, 'HandleForceClosed', 2, 'ShareDeleted']).sort(),
      );
    });

    it('forceCloseHandle(id) closes exactly that handle; an unknown id, or one open elsewhere, is 200 with 0', async () => {
      const dir = share.getDirectoryClient(`one-${Date.now()}`);
      await dir.create();
      const file = dir.getFileClient('f.bin');
      const other = dir.getFileClient('g.bin');
      await file.create(0);
      await other.create(0);
      const handles = [await open(service, file), await open(service, file), await open(service, file)];
      const elsewhere = await open(service, other);

      const closed = await file.forceCloseHandle(handles[1].handleId);
      expect({ closed: closed.closedHandlesCount, failed: closed.closeFailureCount }).toEqual({ closed: 1, failed: 0 });
      const left = (await fileListing(file, 10)).pages.flat().map((h) => h.handleId);
      expect(left).toEqual([handles[0], handles[2]].sort(byId).map((h) => h.handleId));

      for (const id of [handles[1].handleId, '99999999999999', '18446744073709551615', elsewhere.handleId]) {
        const none = await file.forceCloseHandle(id);
        expect({ id, closed: none.closedHandlesCount, failed: none.closeFailureCount }).toEqual({
          id,
          closed: 0,
          failed: 0,
        });
      }
      // The handle on the other file is untouched; a directory closes a handle id only if it is open on the directory itself.
      expect(await openRows(service, [elsewhere.handleId])).toEqual([elsewhere.handleId]);
      expect((await dir.forceCloseHandle(elsewhere.handleId)).closedHandlesCount).toBe(0);
      const dirHandle = await open(service, dir);
      expect((await dir.forceCloseHandle(dirHandle.handleId)).closedHandlesCount).toBe(1);

      const events = await handleEvents(service, [handles[1].handleId]);
      expect(events.map((e) => [e.type, e.stream_version])).toEqual([
        ['HandleOpened', 1],
        ['HandlesForceClosed', 1],
      ]);
      expect(events[1].data).toMatchObject({ path: file.path, recursive: false, handleIds: [handles[1].handleId] });
      expect(events[1].metadata).toMatchObject({ principal: DEVELOPMENT_ACCOUNT, authentication: 'SharedKey' });
      expect(events[1].metadata.requestId).toBe(closed.requestId);
    });

    it('x-ms-handle-id that is not an id or * is 400; a missing one is 400', async () => {
      const file = share.rootDirectoryClient.getFileClient(`bad-id-${Date.now()}`);
      await file.create(0);
      expectRefusal(await rawForceClose(service, file, { 'x-ms-handle-id': 'abc' }), 400, 'InvalidHeaderValue');
      expectRefusal(await rawForceClose(service, file, {}), 400, 'MissingRequiredHeader');
    });

    it('forceCloseAllHandles() on a file closes all of its handles over several markers, and only those', async () => {
      const dir = share.getDirectoryClient(`all-${Date.now()}`);
      await dir.create();
      const file = dir.getFileClient('busy.txt');
      const neighbour = dir.getFileClient('busy.txt2');
      await file.create(0);
      await neighbour.create(0);
      const handles = await inParallel(Array.from({ length: 8 }), 8, () => open(service, file));
      const kept = [await open(service, neighbour), await open(service, dir)];

      const result = await file.forceCloseAllHandles();
      expect(result).toEqual({ closedHandlesCount: 8, closeFailureCount: 0 });
      expect((await fileListing(file, 100)).pages.flat()).toEqual([]);
      expect(
        await openRows(
          service,
          handles.map((h) => h.handleId),
        ),
      ).toEqual([]);
      expect(
        (
          await openRows(
            service,
            kept.map((h) => h.handleId),
          )
        ).sort(),
      ).toEqual(kept.map((h) => h.handleId).sort());

      // Chunks of 3: three requests (3 + 3 + 2), each closing its chunk in one transaction.
      const events = await handleEvents(
        service,
        handles.map((h) => h.handleId),
      );
      const forceClosed = events.filter((e) => e.type === 'HandlesForceClosed');
      expect(forceClosed.map((e) => e.handle_id).sort()).toEqual(handles.map((h) => h.handleId).sort());
      // One event per request, naming its chunk.
      const perRequest = new Map<string, Set<string>>();
      for (const e of forceClosed)
        perRequest.set(e.metadata.requestId, (perRequest.get(e.metadata.requestId) ?? new Set()).add(e.stream_id));
      expect([...perRequest.values()].map((streams) => streams.size)).toEqual([1, 1, 1]);
      expect(forceClosed.map((e) => e.data.handleIds.length).sort()).toEqual([2, 2, 3, 3, 3, 3, 3, 3]);

      expect(await file.forceCloseAllHandles()).toEqual({ closedHandlesCount: 0, closeFailureCount: 0 });
    });

    it('a single call answers the counts on every response and x-ms-marker only while handles remain', async () => {
      const file = share.rootDirectoryClient.getFileClient(`counts-${Date.now()}`);
      await file.create(0);
      for (let i = 0; i < 4; i++) await open(service, file);
      const first = await rawForceClose(service, file, { 'x-ms-handle-id': '*' });
      expect([
        first.status,
        first.header('x-ms-number-of-handles-closed'),
        first.header('x-ms-number-of-handles-failed'),
      ]).toEqual([200, '3', '0']);
      const marker = first.header('x-ms-marker')!;
      expect(marker).toEqual(expect.any(String));
      const second = await rawForceClose(service, file, { 'x-ms-handle-id': '*' }, marker);
      expect([
        second.status,
        second.header('x-ms-number-of-handles-closed'),
        second.header('x-ms-number-of-handles-failed'),
      ]).toEqual([200, '1', '0']);
      expect(second.header('x-ms-marker')).toBeUndefined();
      const nothing = await rawForceClose(service, file, { 'x-ms-handle-id': '*' });
      expect([nothing.status, nothing.header('x-ms-number-of-handles-closed'), nothing.header('x-ms-marker')]).toEqual([
        200,
        '0',
        undefined,
      ]);
    });

    it('x-ms-recursive on a file is 400 and closes nothing', async () => {
      const file = share.rootDirectoryClient.getFileClient(`recursive-${Date.now()}`);
      await file.create(0);
      const h = await open(service, file);
      expectRefusal(
        await rawForceClose(service, file, { 'x-ms-handle-id': '*', 'x-ms-recursive': 'true' }),
        400,
        'InvalidHeaderValue',
      );
      expectRefusal(
        await rawForceClose(service, file, { 'x-ms-handle-id': h.handleId, 'x-ms-recursive': 'true' }),
        400,
        'InvalidHeaderValue',
      );
      expect(await openRows(service, [h.handleId])).toEqual([h.handleId]);
    });

    it("forceCloseAllHandles() on a directory without recursion closes only the directory's own handles", async () => {
      const dir = share.getDirectoryClient(`flat-${Date.now()}`);
      await dir.create();
      const child = dir.getFileClient('child');
      await child.create(0);
      const own = await inParallel(Array.from({ length: 5 }), 5, () => open(service, dir));
      const below = await open(service, child);
      expect(await dir.forceCloseAllHandles({ recursive: false })).toEqual({
        closedHandlesCount: 5,
        closeFailureCount: 0,
      });
      expect(await openRows(service, [...own.map((h) => h.handleId), below.handleId])).toEqual([below.handleId]);
      expect(await dir.forceCloseAllHandles({ recursive: true })).toEqual({
        closedHandlesCount: 1,
        closeFailureCount: 0,
      });
    });
  });

  describe('markers are bound to the account, path and query they came from', () => {
    let other: { name: string; key1: string };
    let dirX: ShareDirectoryClient;
    let dirY: ShareDirectoryClient;
    let foreignX: ShareDirectoryClient;
    let foreignSigner: Signer;

    beforeAll(async () => {
      other = await service.createAccount(`hother${Date.now().toString(36)}`.slice(0, 24));
      foreignSigner = { account: other.name, key: other.key1 };
      // The other account gets a share of the same name and a directory of the same path.
      const foreignShare = service.serviceClient(other.name, other.key1).getShareClient(share.name);
      await foreignShare.create();
      foreignX = foreignShare.getDirectoryClient('markers-x');
      await foreignX.create();
      dirX = share.getDirectoryClient('markers-x');
      dirY = share.getDirectoryClient('markers-y');
      await dirX.create();
      await dirY.create();
      for (let i = 0; i < 6; i++) {
        await open(service, dirX);
        await open(service, dirY);
        await open(service, foreignX, { signer: foreignSigner });
      }
    });

    /** A marker List Handles gave for `target` (a page of 1). */
    const listMarker = async (target: Target, signer: Signer = OWNER, query = 'maxresults=1') => {
      const res = await rawList(service, target, query, {}, signer);
      expect(res.status).toBe(200);
      const marker = /<NextMarker>([^<]+)<\/NextMarker>/.exec(res.body)?.[1];
      expect(marker).toEqual(expect.any(String));
      return marker!;
    };

    const openCount = async (shareName: string, tenant: string) => {
      const { rows } = await service.db.query(
        `SELECT count(*)::int AS n FROM handles h JOIN shares s ON s.share_id = h.share_id WHERE s.tenant = $1 AND s.name = $2`,
        [tenant, shareName],
      );
      return rows[0].n as number;
    };

    /** 400, the Azure code for a bad query value, no handles in the body. */
    const refusedMarker = (res: RawResponse) => {
      expectRefusal(res, 400, 'InvalidQueryParameterValue');
      expect(res.body).not.toContain('<Handle>');
      expect(res.header('x-ms-number-of-handles-closed')).toBeUndefined();
    };

    it('a marker works where it came from', async () => {
      const marker = await listMarker(dirX);
      const res = await rawList(service, dirX, `marker=${encodeURIComponent(marker)}&maxresults=100`);
      expect(res.status).toBe(200);
      expect(res.body.match(/<Handle>/g)!.length).toBe(5);
    });

    it.each([
      ['garbage', 'garbage'],
      ['only a dot', '.'],
      ['a payload with no signature', `${Buffer.from(JSON.stringify(['markers-x', '1'])).toString('base64url')}.`],
      [
        'a payload with a made-up signature',
        `${Buffer.from(JSON.stringify(['markers-x', '1'])).toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`,
      ],
      ['SQL', "x' OR 1=1 --"],
      ['a very long one', 'A'.repeat(5000)],
    ])('a forged marker (%s) is 400 for List Handles and Force Close Handles', async (_, forged) => {
      const before = await openCount(share.name, DEVELOPMENT_ACCOUNT);
      refusedMarker(await rawList(service, dirX, `marker=${encodeURIComponent(forged)}`));
      refusedMarker(await rawForceClose(service, dirX, { 'x-ms-handle-id': '*' }, forged));
      expect(await openCount(share.name, DEVELOPMENT_ACCOUNT)).toBe(before);
    });

    it('a tampered marker (payload changed, signature kept) is 400', async () => {
      const marker = await listMarker(dirX);
      const [, signature] = marker.split('.');
      const tampered = `${Buffer.from(JSON.stringify(['markers-x', '0'])).toString('base64url')}.${signature}`;
      refusedMarker(await rawList(service, dirX, `marker=${encodeURIComponent(tampered)}`));
    });

    it('a forged marker through the SDK is a RestError 400, not data', async () => {
      await refused(
        dirX.listHandles().byPage({ continuationToken: 'forged.marker', maxPageSize: 2 }).next(),
        400,
        'InvalidQueryParameterValue',
      );
    });

    it('a marker from another path, another query or another operation is 400', async () => {
      const marker = await listMarker(dirX);
      refusedMarker(await rawList(service, dirY, `marker=${encodeURIComponent(marker)}`));
      // Same path, other query: recursive listing.
      refusedMarker(await rawList(service, dirX, `marker=${encodeURIComponent(marker)}`, { 'x-ms-recursive': 'true' }));
      // A List Handles marker is not a Force Close Handles marker.
      const before = await openCount(share.name, DEVELOPMENT_ACCOUNT);
      refusedMarker(await rawForceClose(service, dirX, { 'x-ms-handle-id': '*' }, marker));

      // A Force Close marker (chunks of 3, six handles) refused on another path and for another query.
      const chunk = await rawForceClose(service, dirX, { 'x-ms-handle-id': '*' });
      expect(chunk.header('x-ms-number-of-handles-closed')).toBe('3');
      const closeMarker = chunk.header('x-ms-marker')!;
      expect(closeMarker).toEqual(expect.any(String));
      refusedMarker(await rawForceClose(service, dirY, { 'x-ms-handle-id': '*' }, closeMarker));
      refusedMarker(
        await rawForceClose(service, dirX, { 'x-ms-handle-id': '*', 'x-ms-recursive': 'true' }, closeMarker),
      );
      refusedMarker(await rawList(service, dirX, `marker=${encodeURIComponent(closeMarker)}`));
      expect(await openCount(share.name, DEVELOPMENT_ACCOUNT)).toBe(before - 3);
      // And it still finishes the job where it belongs.
      const rest = await rawForceClose(service, dirX, { 'x-ms-handle-id': '*' }, closeMarker);
      expect([rest.status, rest.header('x-ms-number-of-handles-closed'), rest.header('x-ms-marker')]).toEqual([
        200,
        '3',
        undefined,
      ]);
    });

    it('a marker taken by another account (same share name and path) is 400 there, and the reverse', async () => {
      const foreignBefore = await openCount(share.name, other.name);
      const ownBefore = await openCount(share.name, DEVELOPMENT_ACCOUNT);
      const mine = await listMarker(dirY);
      const theirs = await listMarker(foreignX, foreignSigner);
      refusedMarker(await rawList(service, foreignX, `marker=${encodeURIComponent(mine)}`, {}, foreignSigner));
      refusedMarker(await rawList(service, dirX, `marker=${encodeURIComponent(theirs)}`));
      refusedMarker(await rawForceClose(service, foreignX, { 'x-ms-handle-id': '*' }, mine, foreignSigner));

      const theirClose = await rawForceClose(service, foreignX, { 'x-ms-handle-id': '*' }, undefined, foreignSigner);
      expect(theirClose.header('x-ms-number-of-handles-closed')).toBe('3');
      refusedMarker(await rawForceClose(service, dirX, { 'x-ms-handle-id': '*' }, theirClose.header('x-ms-marker')));
      refusedMarker(await rawForceClose(service, dirY, { 'x-ms-handle-id': '*' }, theirClose.header('x-ms-marker')));
      expect(await openCount(share.name, other.name)).toBe(foreignBefore - 3);
      expect(await openCount(share.name, DEVELOPMENT_ACCOUNT)).toBe(ownBefore);
    });
  });

  describe('open handles block deletes until they are closed', () => {
    it('Delete File is 409 SharingViolation while a handle is open; Force Close unblocks it', async () => {
      const file = share.rootDirectoryClient.getFileClient(`held-${Date.now()}.txt`);
      await file.create(4);
      await open(service, file);
      await open(service, file, { access: 'Read,Write' });
      await refused(file.delete(), 409, 'SharingViolation');
      expect(await file.exists()).toBe(true);
      expect(await file.forceCloseAllHandles()).toEqual({ closedHandlesCount: 2, closeFailureCount: 0 });
      expect((await file.delete())._response.status).toBe(202);
      expect(await file.exists()).toBe(false);
    });

    it('Delete Directory is 409 SharingViolation while a handle is open on it; Force Close unblocks it', async () => {
      const dir = share.getDirectoryClient(`held-dir-${Date.now()}`);
      await dir.create();
      const h = await open(service, dir);
      await refused(dir.delete(), 409, 'SharingViolation');
      expect((await dir.forceCloseHandle(h.handleId)).closedHandlesCount).toBe(1);
      expect((await dir.delete())._response.status).toBe(202);
    });

    it('a handle its holder closed no longer blocks; closing needs the right session, and only once', async () => {
      const file = share.rootDirectoryClient.getFileClient(`holder-${Date.now()}.txt`);
      await file.create(0);
      const h = await open(service, file, { sessionId: '777' });
      expectRefusal(await rawClose(service, file, h.handleId, '778'), 404, 'ResourceNotFound');
      expectRefusal(
        await rawClose(service, share.rootDirectoryClient.getFileClient('elsewhere'), h.handleId, '777'),
        404,
        'ResourceNotFound',
      );
      await refused(file.delete(), 409, 'SharingViolation');
      expect((await rawClose(service, file, h.handleId, '777')).status).toBe(200);
      expectRefusal(await rawClose(service, file, h.handleId, '777'), 404, 'ResourceNotFound');
      expect((await handleEvents(service, [h.handleId])).map((e) => [e.type, e.stream_version])).toEqual([
        ['HandleOpened', 1],
        ['HandleClosed', 2],
      ]);
      expect((await file.delete())._response.status).toBe(202);
    });

    it('opening a handle on a missing file is 404; on a missing parent 404 ParentNotFound', async () => {
      expectRefusal(
        await rawOpen(service, share.rootDirectoryClient.getFileClient('missing.txt'), { clientIp: '10.0.0.1:1' }),
        404,
        'ResourceNotFound',
      );
      expectRefusal(
        await rawOpen(service, share.getDirectoryClient('no-dir').getFileClient('f'), { clientIp: '10.0.0.1:1' }),
        404,
        'ParentNotFound',
      );
    });

    it('open validates its headers: client ip required, access rights known', async () => {
      const file = share.rootDirectoryClient.getFileClient(`validate-${Date.now()}`);
      await file.create(0);
      expectRefusal(await rawOpen(service, file, {}), 400, 'MissingRequiredHeader');
      expectRefusal(
        await rawOpen(service, file, { clientIp: '10.0.0.1:1', access: 'Read,Execute' }),
        400,
        'InvalidHeaderValue',
      );
      expectRefusal(await rawOpen(service, file, { clientIp: 'not an ip' }), 400, 'InvalidHeaderValue');
      expectRefusal(
        await rawOpen(service, file, { clientIp: '10.0.0.1:1', sessionId: '-5' }),
        400,
        'InvalidHeaderValue',
      );
      expectRefusal(
        await rawOpen(service, file, { clientIp: '10.0.0.1:1', leaseId: 'not-a-guid' }),
        400,
        'InvalidHeaderValue',
      );
    });
  });

  describe('a lease gives exclusive write and delete access', () => {
    let file: ShareFileClient;

    beforeAll(async () => {
      file = share.rootDirectoryClient.getFileClient(`leased-${Date.now()}.txt`);
      await file.create(1);
      await file.getShareLeaseClient(LEASE_A).acquireLease();
    });

    it.each(['Write', 'Delete', 'Read,Write', 'Read,Delete'])(
      '%s without the lease id is 412 LeaseIdMissing',
      async (access) => {
        expectRefusal(await rawOpen(service, file, { clientIp: '10.0.0.2:445', access }), 412, 'LeaseIdMissing');
      },
    );

    it.each(['Write', 'Delete'])('%s with another lease id is 409 LeaseIdMismatchWithFileOperation', async (access) => {
      expectRefusal(
        await rawOpen(service, file, { clientIp: '10.0.0.2:445', access, leaseId: LEASE_B }),
        409,
        'LeaseIdMismatchWithFileOperation',
      );
    });

    it.each(['Write', 'Delete', 'Read,Write,Delete'])('%s with the lease id opens (201)', async (access) => {
      const h = await open(service, file, { access, leaseId: LEASE_A });
      expect(h.access).toEqual(access.split(','));
    });

    it('Read opens without a lease id', async () => {
      await open(service, file, { access: 'Read' });
    });

    it('refused opens leave nothing open and record nothing', async () => {
      const page = await file['listHandlesSegment'](undefined, {});
      // Three with the lease id, one Read.
      expect(page.handleList!.length).toBe(4);
      expect(page.handleList!.map((h: HandleItem) => (h.accessRightList ?? []).join(',')).sort()).toEqual([
        'Delete',
        'Read',
        'Read,Write,Delete',
        'Write',
      ]);
    });
  });

  describe('only the account owner', () => {
    it('an unsigned request, or one signed by another account, can neither list, close nor open', async () => {
      const file = share.rootDirectoryClient.getFileClient(`owner-${Date.now()}`);
      await file.create(0);
      const h = await open(service, file);
      const stranger = await service.createAccount(`hstranger${Date.now().toString(36)}`.slice(0, 24));
      const signer = { account: stranger.name, key: stranger.key1 };
      for (const res of [
        await rawList(service, file, '', {}, null),
        await rawList(service, file, '', {}, signer),
        await rawForceClose(service, file, { 'x-ms-handle-id': '*' }, undefined, signer),
        await rawOpen(service, file, { clientIp: '10.0.0.3:1', signer }),
      ]) {
        expect(res.status).toBe(403);
        expect(res.body).not.toContain('<Handle>');
      }
      expect(await openRows(service, [h.handleId])).toEqual([h.handleId]);
      // SAS is not implemented yet: "List Handles and Force Close Handles refuse a SAS" cannot be shown until it is.
    });
  });
});

describe('Force Close Handles on a tree of 3,000 handles', () => {
  const CHUNK = 250;
  const TOTAL = 3000;
  let service: TestService;
  let share: ShareClient;

  beforeAll(async () => {
    service = await startTestService({ FORCE_CLOSE_CHUNK_SIZE: String(CHUNK) });
    share = service.serviceClient().getShareClient(uniqueShare('bulk'));
    await share.create();
  });
  afterAll(() => service.stop());

  it('closes every handle below the directory in chunks, one HandlesForceClosed each, and nothing outside it', async () => {
    // Three levels: tree/dN/eM/fK (1 + 10 + 50 + 100 nodes), handles spread round-robin.
    const tree = share.getDirectoryClient('Tree');
    await tree.create();
    const nodes: Target[] = [tree];
    for (let d = 0; d < 10; d++) {
      const dn = tree.getDirectoryClient(`D${d}`);
      await dn.create();
      nodes.push(dn);
      await inParallel(
        Array.from({ length: 5 }, (_, e) => e),
        5,
        async (e) => {
          const em = dn.getDirectoryClient(`e${e}`);
          await em.create();
          nodes.push(em);
          for (let f = 0; f < 2; f++) {
            const file = em.getFileClient(`f${f}.dat`);
            await file.create(0);
            nodes.push(file);
          }
        },
      );
    }
    expect(nodes.length).toBe(161);
    // Outside the tree, and a sibling whose name starts like it: neither may be touched.
    const sibling = share.getDirectoryClient('Tree2');
    await sibling.create();
    // 2,003 of them: with the tree's 3,000 the share holds 5,003, past one page of 5,000 (per-node limit 2,000).
    const outside = await inParallel(
      Array.from({ length: 2003 }, (_, i) => (i % 2 ? sibling : share.rootDirectoryClient)),
      32,
      (node) => open(service, node),
    );

    const opened = await inParallel(
      Array.from({ length: TOTAL }, (_, i) => nodes[i % nodes.length]),
      32,
      (node) => open(service, node),
    );
    const ids = opened.map((h) => h.handleId);
    expect(new Set(ids).size).toBe(TOTAL);

    // maxresults defaults to 5,000 and larger values are capped at 5,000.
    const byDefault = await directoryListing(share.rootDirectoryClient, true, undefined);
    expect(byDefault.pages.map((p) => p.length)).toEqual([5000, 3]);
    const capped = await rawList(service, share.rootDirectoryClient, 'maxresults=6000', { 'x-ms-recursive': 'true' });
    expect(capped.body.match(/<Handle>/g)!.length).toBe(5000);
    expect(capped.body).toMatch(/<NextMarker>[^<]+<\/NextMarker>/);

    // The recursive listing, in pages, is exactly this set.
    const listing = await directoryListing(tree, true, 700);
    expect(listing.pages.map((p) => p.length)).toEqual([700, 700, 700, 700, 200]);
    expect(listing.markers[4]).toBe('');
    expect(
      listing.pages
        .flat()
        .map((h) => h.handleId)
        .sort(),
    ).toEqual([...ids].sort());

    const result = await tree.forceCloseAllHandles({ recursive: true });
    expect(result).toEqual({ closedHandlesCount: TOTAL, closeFailureCount: 0 });

    const { rows: left } = await service.db.query(
      `SELECT h.handle_id::text AS id FROM handles h JOIN shares s USING (share_id) WHERE s.name = $1 ORDER BY 1`,
      [share.name],
    );
    expect(left.map((r: { id: string }) => r.id).sort()).toEqual(outside.map((h) => h.handleId).sort());

    const events = await handleEvents(service, ids);
    const forceClosed = events.filter((e) => e.type === 'HandlesForceClosed');
    expect(forceClosed.length).toBe(TOTAL);
    expect(new Set(forceClosed.map((e) => e.handle_id)).size).toBe(TOTAL);
    expect(events.length).toBe(2 * TOTAL);
    // Twelve Force Close calls (several markers), each closing a full chunk in one transaction and one event.
    const perRequest = new Map<string, Set<string>>();
    for (const e of forceClosed)
      perRequest.set(e.metadata.requestId, (perRequest.get(e.metadata.requestId) ?? new Set()).add(e.stream_id));
    expect([...perRequest.values()].map((streams) => streams.size)).toEqual(Array(TOTAL / CHUNK).fill(1));
    expect(forceClosed.every((e) => e.data.handleIds.length === CHUNK && e.data.recursive === true)).toBe(true);

    expect(await tree.forceCloseAllHandles({ recursive: true })).toEqual({
      closedHandlesCount: 0,
      closeFailureCount: 0,
    });
    expect((await directoryListing(tree, true, 5000)).pages.flat()).toEqual([]);
  }, 300_000);
});

describe('Force Close Handles while other clients open and close handles', () => {
  const INITIAL = 400;
  const CLIENTS = 8;
  let service: TestService;
  let share: ShareClient;

  beforeAll(async () => {
    // Small chunks: the close takes many calls, and the clients run through all of them.
    service = await startTestService({ FORCE_CLOSE_CHUNK_SIZE: '15' });
    share = service.serviceClient().getShareClient(uniqueShare('race'));
    await share.create();
  });
  afterAll(() => service.stop());

  it('every handle open when the close began is closed exactly once, by the closer or by its holder, and the counts add up', async () => {
    const busy = share.getDirectoryClient('busy');
    await busy.create();
    const nodes: Target[] = [busy];
    for (let a = 0; a < 4; a++) {
      const dir = busy.getDirectoryClient(`a${a}`);
      await dir.create();
      nodes.push(dir);
      for (let f = 0; f < 5; f++) {
        const file = dir.getFileClient(`f${f}`);
        await file.create(0);
        nodes.push(file);
      }
    }
    const initial = await inParallel(
      Array.from({ length: INITIAL }, (_, i) => nodes[i % nodes.length]),
      16,
      (n) => open(service, n),
    );

    // Holders close their initial handles in a random order while the close runs.
    const toClose = [...initial].sort(() => Math.random() - 0.5);
    const holderCloses: { handle: Held; status: number; initial: boolean }[] = [];
    const opens: { status: number; handle?: Held }[] = [];
    const mine: Held[] = [];
    let closing = true;
    let operations = 0;
    let started!: () => void;
    const warmedUp = new Promise<void>((resolve) => (started = resolve));

    const client = async (n: number) => {
      for (let step = 0; closing; step++) {
        const kind = (step + n) % 3;
        if (kind === 0 || (kind === 1 && toClose.length === 0)) {
          const node = nodes[Math.floor(Math.random() * nodes.length)];
          const res = await rawOpen(service, node, { clientIp: `10.9.${n}.${step % 250}:445` });
          const handle: Held | undefined =
            res.status === 201
              ? {
                  handleId: res.header('x-leasehold-handle-id')!,
                  sessionId: res.header('x-leasehold-session-id')!,
                  target: node,
                }
              : undefined;
          opens.push({ status: res.status, handle });
          if (handle) mine.push(handle);
        } else {
          const initialOne = kind === 1 ? toClose.pop() : undefined;
          const handle = initialOne ?? mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
          if (handle) {
            const res = await rawClose(service, handle.target, handle.handleId, handle.sessionId);
            holderCloses.push({ handle, status: res.status, initial: initialOne !== undefined });
          }
        }
        if (++operations === CLIENTS * 3) started();
      }
    };

    const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
    await warmedUp;
    const result = await busy.forceCloseAllHandles({ recursive: true }).finally(() => (closing = false));
    await Promise.all(clients);

    // Every answer was a success or the one refusal a lost race gives: no 5xx, no ServerBusy.
    expect(new Set(opens.map((o) => o.status))).toEqual(new Set([201]));
    expect(holderCloses.every((c) => c.status === 200 || c.status === 404)).toBe(true);

    const newOnes = opens.map((o) => o.handle!);
    const allIds = [...initial, ...newOnes].map((h) => h.handleId);
    const events = await handleEvents(service, allIds);
    const byStream = new Map<string, string[]>();
    for (const e of events) byStream.set(e.handle_id, [...(byStream.get(e.handle_id) ?? []), e.type]);
    const stillOpen = new Set(await openRows(service, allIds));

    // Each stream: opened, then at most one close of either kind, never both.
    for (const id of allIds) {
      const types = byStream.get(id)!;
      expect({ id, types }).toEqual({
        id,
        types: stillOpen.has(id)
          ? ['HandleOpened']
          : ['HandleOpened', expect.stringMatching(/^Handles?(Force)?Closed$/)],
      });
    }
    // Every initial handle is closed exactly once.
    for (const h of initial) expect(stillOpen.has(h.handleId)).toBe(false);

    // A holder's close succeeded exactly when the closer had not got there first.
    for (const c of holderCloses) {
      expect({ id: c.handle.handleId, status: c.status, closedBy: byStream.get(c.handle.handleId)![1] }).toEqual({
        id: c.handle.handleId,
        status: c.status,
        closedBy: c.status === 200 ? 'HandleClosed' : 'HandlesForceClosed',
      });
    }

    const types = idsByType(events);
    const forceClosed = types.HandlesForceClosed ?? [];
    const closedByHolder = types.HandleClosed ?? [];
    expect(result.closedHandlesCount).toBe(forceClosed.length);
    expect(result.closeFailureCount).toBe(0);
    const initialIds = new Set(initial.map((h) => h.handleId));
    const initialForce = forceClosed.filter((id) => initialIds.has(id)).length;
    const initialHolder = closedByHolder.filter((id) => initialIds.has(id)).length;
    expect(initialForce + initialHolder).toBe(INITIAL);
    expect(holderCloses.filter((c) => c.status === 200).length).toBe(closedByHolder.length);
    expect(types.HandleOpened.length).toBe(forceClosed.length + closedByHolder.length + stillOpen.size);

    // The test raced for real: holders' events fall between the closer's first and last chunk.
    const positions = events.filter((e) => e.type === 'HandlesForceClosed').map((e) => BigInt(e.position));
    const first = positions.reduce((a, b) => (a < b ? a : b));
    const last = positions.reduce((a, b) => (a > b ? a : b));
    const during = events.filter(
      (e) => e.type !== 'HandlesForceClosed' && BigInt(e.position) > first && BigInt(e.position) < last,
    );
    expect(during.length).toBeGreaterThan(0);
    expect(initialHolder).toBeGreaterThan(0);
    expect(initialForce).toBeGreaterThan(0);
  }, 300_000);

  it('three closers at once (the tree twice, recursively, and one of its subdirectories) close each handle exactly once between them', async () => {
    const top = share.getDirectoryClient('twice');
    await top.create();
    const nodes: Target[] = [top];
    const subs: ShareDirectoryClient[] = [];
    for (let a = 0; a < 3; a++) {
      const sub = top.getDirectoryClient(`s${a}`);
      await sub.create();
      subs.push(sub);
      nodes.push(sub);
      for (let f = 0; f < 3; f++) {
        const file = sub.getFileClient(`f${f}`);
        await file.create(0);
        nodes.push(file);
      }
    }
    const handles = await inParallel(
      Array.from({ length: 300 }, (_, i) => nodes[i % nodes.length]),
      16,
      (n) => open(service, n),
    );
    const ids = handles.map((h) => h.handleId);
    const results = await Promise.all([
      top.forceCloseAllHandles({ recursive: true }),
      subs[1].forceCloseAllHandles({ recursive: true }),
      top.forceCloseAllHandles({ recursive: true }),
    ]);
    expect(results.reduce((sum, r) => sum + r.closedHandlesCount, 0)).toBe(300);
    expect(results.every((r) => r.closeFailureCount === 0)).toBe(true);
    expect(await openRows(service, ids)).toEqual([]);
    const events = await handleEvents(service, ids);
    expect(events.length).toBe(600);
    const forceClosed = idsByType(events).HandlesForceClosed;
    expect(forceClosed.length).toBe(300);
    expect(new Set(forceClosed)).toEqual(new Set(ids));
  });
});

describe('List Handles and deletes while other clients open and close handles', () => {
  let service: TestService;
  let share: ShareClient;

  beforeAll(async () => {
    service = await startTestService();
    share = service.serviceClient().getShareClient(uniqueShare('churn'));
    await share.create();
  });
  afterAll(() => service.stop());

  /** Clients that keep opening handles on random nodes and closing their own, until stopped. */
  function churn(nodes: Target[], clients: number) {
    let running = true;
    const opened: string[] = [];
    const statuses: number[] = [];
    const live: Held[] = [];
    const loops = Array.from({ length: clients }, async (_, n) => {
      for (let step = 0; running; step++) {
        if (step % 2 === 0 || live.length === 0) {
          const target = nodes[Math.floor(Math.random() * nodes.length)];
          const res = await rawOpen(service, target, { clientIp: `10.7.${n}.${step % 250}:445` });
          statuses.push(res.status);
          if (res.status === 201) {
            opened.push(res.header('x-leasehold-handle-id')!);
            live.push({
              handleId: res.header('x-leasehold-handle-id')!,
              sessionId: res.header('x-leasehold-session-id')!,
              target,
            });
          }
        } else {
          const h = live.splice(Math.floor(Math.random() * live.length), 1)[0];
          statuses.push((await rawClose(service, h.target, h.handleId, h.sessionId)).status);
        }
      }
    });
    return {
      opened,
      statuses,
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  it('pages skip no handle that stays open throughout and list none twice', async () => {
    const dir = share.getDirectoryClient('paged');
    await dir.create();
    const nodes: Target[] = [dir];
    for (let a = 0; a < 3; a++) {
      const sub = dir.getDirectoryClient(`s${a}`);
      await sub.create();
      nodes.push(sub);
      for (let f = 0; f < 3; f++) {
        const file = sub.getFileClient(`f${f}`);
        await file.create(0);
        nodes.push(file);
      }
    }
    const stable = await inParallel(
      Array.from({ length: 260 }, (_, i) => nodes[i % nodes.length]),
      16,
      (n) => open(service, n),
    );

    const clients = churn(nodes, 6);
    while (clients.statuses.length < 20) await new Promise((r) => setImmediate(r));
    const opsBefore = clients.statuses.length;
    const { pages, markers } = await directoryListing(dir, true, 7);
    const opsDuring = clients.statuses.length - opsBefore;
    await clients.stop();

    expect(new Set(clients.statuses)).toEqual(new Set([200, 201]));
    expect(markers[markers.length - 1]).toBe('');
    const listed = pages.flat().map((h) => h.handleId);
    expect(new Set(listed).size).toBe(listed.length);
    const listedSet = new Set(listed);
    expect(stable.filter((h) => !listedSet.has(h.handleId))).toEqual([]);
    const known = new Set([...stable.map((h) => h.handleId), ...clients.opened]);
    expect(listed.filter((id) => !known.has(id))).toEqual([]);
    // The clients really ran while the pages were read.
    expect(opsDuring).toBeGreaterThan(0);
  });

  it('Delete File or Delete Directory racing an open: the delete wins (open 404) or the open wins (delete 409), never both', async () => {
    const parent = share.getDirectoryClient('doomed');
    await parent.create();
    const targets: (ShareFileClient | ShareDirectoryClient)[] = [];
    for (let i = 0; i < 20; i++) {
      const file = parent.getFileClient(`f${i}`);
      await file.create(0);
      targets.push(file);
      const sub = parent.getDirectoryClient(`d${i}`);
      await sub.create();
      targets.push(sub);
    }
    // Both hand-signed so neither has a head start from client-side work; which goes first alternates.
    const rawDelete = (target: ShareFileClient | ShareDirectoryClient) =>
      sendRaw(service.url, {
        method: 'DELETE',
        path: wirePath(target),
        query: target instanceof ShareDirectoryClient ? 'restype=directory' : '',
        signer: OWNER,
      });
    const outcomes = await Promise.all(
      targets.map(async (target, i) => {
        const opening = () => rawOpen(service, target, { clientIp: '10.8.0.1:445' });
        const deleting = () => rawDelete(target);
        const [opened, deleted] =
          i % 4 < 2
            ? await Promise.all([opening(), deleting()])
            : (await Promise.all([deleting(), opening()])).reverse();
        return {
          target,
          open: [opened.status, opened.header('x-ms-error-code')],
          del: [deleted.status, deleted.header('x-ms-error-code')],
        };
      }),
    );
    for (const o of outcomes) {
      const exists = await o.target.exists();
      const { rows } = await service.db.query(
        `SELECT count(*)::int AS n FROM handles h JOIN shares s USING (share_id) WHERE s.name = $1 AND h.path = $2`,
        [share.name, sharePath(o.target)],
      );
      const outcome = { path: sharePath(o.target), open: o.open, del: o.del, exists, handles: rows[0].n };
      const openWon = { ...outcome, open: [201, undefined], del: [409, 'SharingViolation'], exists: true, handles: 1 };
      const deleteWon = {
        ...outcome,
        open: [404, 'ResourceNotFound'],
        del: [202, undefined],
        exists: false,
        handles: 0,
      };
      expect([openWon, deleteWon]).toContainEqual(outcome);
    }
  });
});

describe('handle limits', () => {
  let service: TestService;
  let share: ShareClient;

  beforeAll(async () => {
    service = await startTestService({ HANDLE_LIMIT_PER_NODE: '5', HANDLE_LIMIT_SHARE_ROOT: '7' });
    share = service.serviceClient().getShareClient(uniqueShare('limits'));
    await share.create();
  });
  afterAll(() => service.stop());

  it('the 6th handle on a file or a directory is 400 HandleLimitExceeded; closing one makes room', async () => {
    const dir = share.getDirectoryClient('limited');
    await dir.create();
    const file = dir.getFileClient('f');
    await file.create(0);
    for (const target of [file, dir] as Target[]) {
      const handles: Opened[] = [];
      for (let i = 0; i < 5; i++) handles.push(await open(service, target));
      expectRefusal(await rawOpen(service, target, { clientIp: '10.0.0.9:1' }), 400, 'HandleLimitExceeded');
      expect((await rawClose(service, target, handles[0].handleId, handles[0].sessionId)).status).toBe(200);
      await open(service, target);
      expectRefusal(await rawOpen(service, target, { clientIp: '10.0.0.9:1' }), 400, 'HandleLimitExceeded');
    }
  });

  it('the share root has its own limit', async () => {
    for (let i = 0; i < 7; i++) await open(service, share.rootDirectoryClient);
    expectRefusal(
      await rawOpen(service, share.rootDirectoryClient, { clientIp: '10.0.0.9:1' }),
      400,
      'HandleLimitExceeded',
    );
  });

  it('the limit holds when many clients open at once', async () => {
    const file = share.rootDirectoryClient.getFileClient('contended');
    await file.create(0);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => rawOpen(service, file, { clientIp: `10.0.1.${i}:445` })),
    );
    expect(answers.filter((a) => a.status === 201).length).toBe(5);
    for (const a of answers.filter((x) => x.status !== 201)) expectRefusal(a, 400, 'HandleLimitExceeded');
    expect((await file['listHandlesSegment'](undefined, {})).handleList!.length).toBe(5);
  });
});
