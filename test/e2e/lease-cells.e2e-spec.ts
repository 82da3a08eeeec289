// Lease File end to end: every cell of both outcome tables of docs/lease-file.md, through the
// official SDK against the real service and PostgreSQL, checking the answer, the resulting lease and
// the events the action recorded. The decider's unit tests cover the same cells without HTTP.
import { RestError, ShareClient, ShareFileClient } from '@azure/storage-file-share';
import { DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { evolveLease, initialLeaseState, LeaseEvent, LeaseState } from '../../libs/domain/src';
import {
  A,
  B,
  C,
  LEASE_ACTION_SUCCESS,
  LEASE_COLUMNS,
  LeaseActionRow,
  LeaseHolder,
  leaseActionCells,
  START_STATE,
  USE_TABLE,
  UseKind,
} from '../support/lease-tables';
import { RawResponse, sendRaw } from '../support/signed-request';
import { startTestService, TestService, uniqueShare } from '../support/service';
const EPOCH_HEADER = 'x-leasehold-lease-epoch';
const ACCOUNT = 'devstoreaccount1';
const LEASE_EVENTS = new Set(['LeaseAcquired', 'LeaseChanged', 'LeaseReleased', 'LeaseBroken', 'BrokenLeaseCleared']);
const CANONICAL_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One answer, success or failure, from the SDK or from a hand-signed request. */
interface Outcome {
  status: number;
  leaseId?: string;
  code?: string;
  errorCode?: string;
  /** Extra elements of the error body (HeaderName, …). */
  body?: string;
  header(name: string): string | undefined;
}

interface SdkResponse {
  _response: { status: number; headers: { get(name: string): string | undefined } };
  leaseId?: string;
}

async function attempt(call: () => Promise<SdkResponse>): Promise<Outcome> {
  try {
    const response = await call();
    return {
      status: response._response.status,
      leaseId: response.leaseId,
      header: (n) => response._response.headers.get(n),
    };
  } catch (error) {
    if (!(error instanceof RestError) || error.statusCode === undefined) throw error;
    return {
      status: error.statusCode,
      code: error.code,
      errorCode: (error.details as { errorCode?: string } | undefined)?.errorCode,
      body: error.response?.bodyAsText ?? undefined,
      header: (n) => error.response?.headers.get(n),
    };
  }
}

function fromRaw(raw: RawResponse): Outcome {
  const code = /<Code>([^<]*)<\/Code>/.exec(raw.body)?.[1];
  return {
    status: raw.status,
    leaseId: raw.header('x-ms-lease-id'),
    code,
    errorCode: raw.header('x-ms-error-code'),
    body: raw.body,
    header: (n) => raw.header(n),
  };
}

/** Lease File with exactly these headers, hand-signed: for what the SDK never sends. */
async function leaseRaw(file: ShareFileClient, headers: Record<string, string>): Promise<Outcome> {
  const url = new URL(file.url);
  return fromRaw(
    await sendRaw(url.origin, {
      method: 'PUT',
      path: url.pathname,
      query: 'comp=lease',
      headers,
      signer: { account: ACCOUNT, key: DEVELOPMENT_KEY },
    }),
  );
}

/** Drains a download so its connection is free again, and reports it like any other answer. */
async function download(file: ShareFileClient, leaseId?: string): Promise<SdkResponse> {
  const response = await file.download(0, undefined, {
    leaseAccessConditions: leaseId === undefined ? undefined : { leaseId },
  });
  for await (const _ of response.readableStreamBody!) void _;
  return response;
}

const leaseIdOf = (leaseId?: string) => (leaseId === undefined ? undefined : { leaseId });

describe('Lease File, end to end', () => {
  let service: TestService;
  let share: ShareClient;
  let files = 0;

  beforeAll(async () => {
    service = await startTestService();
    share = service.serviceClient().getShareClient(uniqueShare('lease'));
    await share.create();
  });
  afterAll(() => service.stop());

  /** A new file, brought into the column's state the way a client would: acquire (A), then break. */
  async function fileIn(start: LeaseState['status']): Promise<{ file: ShareFileClient; stream: string }> {
    const file = share.rootDirectoryClient.getFileClient(`cell-${files++}.bin`);
    const created = await file.create(16);
    if (start !== 'available') await file.getShareLeaseClient(A).acquireLease();
    if (start === 'broken') await file.getShareLeaseClient().breakLease();
    return { file, stream: `node-${created.fileId}` };
  }

  interface Recorded {
    type: string;
    data: any;
    metadata: Record<string, string>;
    version: number;
  }

  async function eventsOf(stream: string, afterVersion = 0): Promise<Recorded[]> {
    const { rows } = await service.db.query(
      `SELECT type, data, metadata, stream_version AS version FROM events
       WHERE tenant = $1 AND stream_id = $2 AND stream_version > $3 ORDER BY stream_version`,
      [ACCOUNT, stream, afterVersion],
    );
    return rows;
  }

  const versionOf = async (stream: string) => (await eventsOf(stream)).length;

  /** The lease the stream's events say the file has. */
  async function replay(stream: string): Promise<LeaseState> {
    const events = (await eventsOf(stream)).filter((e) => LEASE_EVENTS.has(e.type));
    return events.map((e) => ({ type: e.type, data: e.data }) as LeaseEvent).reduce(evolveLease, initialLeaseState);
  }

  /** What the service says about the file's lease, without a lease id. */
  async function reported(file: ShareFileClient) {
    const props = await file.getProperties();
    return {
      state: props.leaseState,
      status: props.leaseStatus,
      duration: props.leaseDuration,
      epoch: Number(props._response.headers.get(EPOCH_HEADER)),
    };
  }

  /**
   * The file's lease, seen three ways that must agree: Get File Properties, a read carrying the
   * holder's id (the only way the wire shows who holds it), and the replay of the stream.
   */
  async function expectLease(file: ShareFileClient, stream: string, expected: LeaseState): Promise<void> {
    expect(await reported(file)).toEqual({
      state: expected.status,
      status: expected.status === 'leased' ? 'locked' : 'unlocked',
      duration: expected.status === 'leased' ? 'infinite' : undefined,
      epoch: expected.epoch,
    });
    if (expected.status === 'leased') {
      expect(
        (await attempt(() => file.getProperties({ leaseAccessConditions: { leaseId: expected.leaseId } }))).status,
      ).toBe(200);
    }
    expect(await replay(stream)).toEqual(expected);
  }

  /** Every event an answer caused was recorded with that request's identity. */
  function expectMetadata(events: Recorded[], outcome: Outcome): void {
    for (const event of events) {
      expect(event.metadata).toEqual({
        requestId: outcome.header('x-ms-request-id'),
        clientRequestId: outcome.header('x-ms-client-request-id'),
        principal: ACCOUNT,
        authentication: 'SharedKey',
      });
    }
  }

  function expectFailure(outcome: Outcome, status: number, code: string): void {
    expect({ status: outcome.status, code: outcome.code, errorCode: outcome.errorCode }).toEqual({
      status,
      code,
      errorCode: code,
    });
  }

  describe('outcomes of lease operations by lease state (27 cells)', () => {
    /** The row's request through the SDK; it always proposes an id, so an acquire without one goes out hand-signed. */
    const run = (row: LeaseActionRow, file: ShareFileClient): Promise<Outcome> => {
      if (row.kind === 'acquire' && row.proposes === undefined)
        return leaseRaw(file, { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '-1' });
      const lease = file.getShareLeaseClient(row.holds ?? row.proposes);
      return attempt(() =>
        row.kind === 'acquire'
          ? lease.acquireLease()
          : row.kind === 'break'
            ? lease.breakLease()
            : row.kind === 'change'
              ? lease.changeLease(row.proposes!)
              : lease.releaseLease(),
      );
    };
    const cells = leaseActionCells();

    it('covers 9 rows × 3 columns', () => expect(cells).toHaveLength(27));

    it.each(cells)('%s on %s', async (_name, column, action, cell) => {
      const { file, stream } = await fileIn(column);
      const start = START_STATE[column];
      const { etag, lastModified } = await file.getProperties();
      const before = await versionOf(stream);

      const outcome = await run(action, file);
      const appended = await eventsOf(stream, before);

      if ('fail' in cell) {
        expectFailure(outcome, cell.fail, cell.code);
        expect(appended).toEqual([]);
        await expectLease(file, stream, start);
        return;
      }
      expect(outcome.status).toBe(LEASE_ACTION_SUCCESS[action.kind]);
      const ids = { A, B, X: outcome.leaseId! };
      let expected: LeaseState;
      if (cell.ok === 'Leased') {
        if (cell.holder === 'X') {
          // The service made the id up: a canonical GUID that nobody proposed.
          expect(outcome.leaseId).toMatch(CANONICAL_GUID);
          expect([A, B, C]).not.toContain(outcome.leaseId);
        }
        expected = { status: 'leased', leaseId: ids[cell.holder], epoch: cell.epoch };
      } else if (cell.ok === 'Broken') {
        expected = { status: 'broken', leaseId: A, epoch: cell.epoch };
      } else {
        expected = { status: 'available', epoch: start.epoch };
      }
      // x-ms-lease-id comes back on acquire and change only, always the id now in force.
      expect(outcome.leaseId).toBe(
        action.kind === 'acquire' || action.kind === 'change'
          ? ids[(cell as { holder: LeaseHolder }).holder]
          : undefined,
      );
      expect(outcome.header('x-ms-lease-time')).toBe(action.kind === 'break' ? '0' : undefined);
      expect(Number(outcome.header(EPOCH_HEADER))).toBe(expected.epoch);
      // Lease File modifies neither ETag nor Last-Modified.
      expect(outcome.header('etag')).toBe(etag);
      expect(outcome.header('last-modified')).toBe(lastModified!.toUTCString());

      expect(appended.map((e) => e.type)).toEqual(cell.event ? [cell.event] : []);
      expectMetadata(appended, outcome);
      if (cell.event === 'LeaseAcquired') {
        expect(appended[0].data).toEqual({
          leaseId: ids[(cell as { holder: LeaseHolder }).holder],
          epoch: expected.epoch,
          previousState: column,
        });
      }
      await expectLease(file, stream, expected);
      expect((await file.getProperties()).etag).toBe(etag);
    });
  });

  describe('outcomes of use attempts by lease state (18 cells, each with two operations)', () => {
    const operations: Record<
      UseKind,
      Array<{
        name: string;
        status: number;
        event?: string;
        run(file: ShareFileClient, leaseId?: string): Promise<SdkResponse>;
      }>
    > = {
      write: [
        {
          name: 'Put Range',
          status: 201,
          event: 'FileRangeWritten',
          run: (file, leaseId) =>
            file.uploadRange(Buffer.from('leasehold'), 0, 9, { leaseAccessConditions: leaseIdOf(leaseId) }),
        },
        {
          name: 'Set File Metadata',
          status: 200,
          event: 'FileMetadataSet',
          run: (file, leaseId) => file.setMetadata({ cell: 'yes' }, { leaseAccessConditions: leaseIdOf(leaseId) }),
        },
      ],
      read: [
        { name: 'Get File', status: 200, run: (file, leaseId) => download(file, leaseId) },
        {
          name: 'Get File Properties',
          status: 200,
          run: (file, leaseId) => file.getProperties({ leaseAccessConditions: leaseIdOf(leaseId) }),
        },
      ],
    };

    const cells = USE_TABLE.flatMap(([row, kind, leaseId, outcomes]) =>
      LEASE_COLUMNS.flatMap((column, i) =>
        operations[kind].map((op) => [row, column, op.name, kind, leaseId, op, outcomes[i]] as const),
      ),
    );

    it('covers 6 rows × 3 columns, each cell with two operations', () => {
      expect(new Set(cells.map(([row, column]) => `${row}/${column}`)).size).toBe(18);
      expect(cells).toHaveLength(36);
    });

    it.each(cells)('%s on %s: %s', async (_row, column, _op, kind, leaseId, op, cell) => {
      const { file, stream } = await fileIn(column);
      const start = START_STATE[column];
      const before = await versionOf(stream);

      const outcome = await attempt(() => op.run(file, leaseId));
      const appended = await eventsOf(stream, before);

      if (cell !== 'ok') {
        // Get File Properties is a HEAD: no body, so only the x-ms-error-code header carries the code.
        const headOnly = op.name === 'Get File Properties';
        expect({ status: outcome.status, code: outcome.code, errorCode: outcome.errorCode }).toEqual({
          status: cell.fail,
          code: headOnly ? undefined : cell.code,
          errorCode: cell.code,
        });
        expect(appended).toEqual([]);
        await expectLease(file, stream, start);
        return;
      }
      expect(outcome.status).toBe(op.status);
      // A write with no lease id on a broken lease clears it: the file becomes Available.
      const clears = kind === 'write' && column === 'broken' && leaseId === undefined;
      const expectedEvents = kind === 'read' ? [] : [...(clears ? ['BrokenLeaseCleared'] : []), op.event!];
      expect(appended.map((e) => e.type)).toEqual(expectedEvents);
      expectMetadata(appended, outcome);
      if (clears) expect(appended[0].data).toEqual({ leaseId: A, by: 'write' });
      await expectLease(file, stream, clears ? { status: 'available', epoch: start.epoch } : start);
    });
  });

  describe('the writes a lease gates', () => {
    type Conditions = { leaseId: string } | undefined;
    // Every write the issue lists; Delete File last, since it ends the file.
    const writes: Array<[string, number, string, (file: ShareFileClient, c: Conditions) => Promise<SdkResponse>]> = [
      ['Create File over the existing file', 201, 'FileCreated', (f, c) => f.create(16, { leaseAccessConditions: c })],
      [
        'Put Range',
        201,
        'FileRangeWritten',
        (f, c) => f.uploadRange(Buffer.from('abcd'), 0, 4, { leaseAccessConditions: c }),
      ],
      ['Put Range (clear)', 201, 'FileRangeCleared', (f, c) => f.clearRange(0, 4, { leaseAccessConditions: c })],
      ['Set File Metadata', 200, 'FileMetadataSet', (f, c) => f.setMetadata({ k: 'v' }, { leaseAccessConditions: c })],
      [
        'Set File Properties (HTTP headers)',
        200,
        'FilePropertiesSet',
        (f, c) => f.setHttpHeaders({ fileContentType: 'text/plain' }, { leaseAccessConditions: c }),
      ],
      ['Set File Properties (resize)', 200, 'FilePropertiesSet', (f, c) => f.resize(32, { leaseAccessConditions: c })],
      ['Delete File', 202, 'FileDeleted', (f, c) => f.delete({ leaseAccessConditions: c })],
    ];

    it('refuses each on Leased(A) without a lease id (412) or with another (409), and lets it through with (A)', async () => {
      const { file, stream } = await fileIn('leased');
      for (const [name, status, event, write] of writes) {
        const before = await versionOf(stream);
        const missing = await attempt(() => write(file, undefined));
        const other = await attempt(() => write(file, { leaseId: B }));
        const held = await attempt(() => write(file, { leaseId: A }));
        expect([name, missing.status, missing.errorCode]).toEqual([name, 412, 'LeaseIdMissing']);
        expect([name, other.status, other.errorCode]).toEqual([name, 409, 'LeaseIdMismatchWithFileOperation']);
        expect([name, held.status]).toEqual([name, status]);
        expect((await eventsOf(stream, before)).map((e) => e.type)).toEqual([event]);
      }
      expect((await attempt(() => file.getProperties())).status).toBe(404);
    });

    it('needs no lease id for reads and listings of a leased file', async () => {
      const { file } = await fileIn('leased');
      expect((await attempt(() => file.getProperties())).status).toBe(200);
      expect((await attempt(() => download(file))).status).toBe(200);
      const names: string[] = [];
      for await (const entry of share.rootDirectoryClient.listFilesAndDirectories({ prefix: file.name }))
        names.push(entry.name);
      expect(names).toEqual([file.name]);
    });
  });

  describe('lease ids', () => {
    const G = '4b2a1c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
    const H = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
    // Every format .NET's Guid(String) accepts: N, D, B, P and X.
    const forms = (g: string) => {
      const hex = g.replace(/-/g, '');
      const bytes = hex
        .slice(16)
        .match(/../g)!
        .map((b) => `0x${b}`);
      return {
        '32 digits': hex,
        'hyphenated, upper case': g.toUpperCase(),
        braces: `{${g}}`,
        parentheses: `(${g.toUpperCase()})`,
        '{0x…} form': `{0x${hex.slice(0, 8)},0x${hex.slice(8, 12)},0x${hex.slice(12, 16)},{${bytes.join(',')}}}`,
      };
    };
    const gForms = Object.entries(forms(G));
    const hForms = Object.values(forms(H));

    it.each(gForms.map(([name, form], i) => [name, form, i] as const))(
      'accepts the %s format (%s) everywhere and answers in canonical lowercase',
      async (_name, form, i) => {
        const other = (k: number) => gForms[(i + k) % gForms.length][1];
        const { file, stream } = await fileIn('available');
        const acquired = await file.getShareLeaseClient(form).acquireLease();
        expect(acquired._response.status).toBe(201);
        expect(acquired.leaseId).toBe(G);
        // Compared as GUIDs: another spelling of the same id is the same lease.
        expect((await file.getShareLeaseClient(other(1)).acquireLease())._response.status).toBe(201);
        expect(
          (
            await attempt(() =>
              file.uploadRange(Buffer.from('x'), 0, 1, { leaseAccessConditions: { leaseId: other(2) } }),
            )
          ).status,
        ).toBe(201);
        expect((await attempt(() => download(file, other(3)))).status).toBe(200);
        const changed = await file.getShareLeaseClient(other(4)).changeLease(hForms[i]);
        expect(changed.leaseId).toBe(H);
        expect((await file.getShareLeaseClient(hForms[(i + 1) % hForms.length]).releaseLease())._response.status).toBe(
          200,
        );
        const lease = (await eventsOf(stream)).filter((e) => LEASE_EVENTS.has(e.type));
        expect(lease.map((e) => [e.type, e.data])).toEqual([
          ['LeaseAcquired', { leaseId: G, epoch: 1, previousState: 'available' }],
          ['LeaseChanged', { fromLeaseId: G, toLeaseId: H, epoch: 2 }],
          ['LeaseReleased', { leaseId: H, fromState: 'leased' }],
        ]);
      },
    );

    const malformed = [
      'not-a-guid',
      'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaag',
      'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaaa',
      '{aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
      '(aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa}',
      'aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa0',
      '{0xaaaaaaaa,0xaaaa,0x4aaa,{0x8a,0xaa,0xaa,0xaa,0xaa,0xaa,0xaa}}',
    ];

    it.each(malformed)('refuses the malformed id %j with 400 InvalidHeaderValue, changing nothing', async (bad) => {
      const { file, stream } = await fileIn('leased');
      const before = await versionOf(stream);
      const refusals: Array<[string, Outcome]> = [
        ['x-ms-proposed-lease-id', await attempt(() => file.getShareLeaseClient(bad).acquireLease())],
        ['x-ms-proposed-lease-id', await attempt(() => file.getShareLeaseClient(A).changeLease(bad))],
        ['x-ms-lease-id', await attempt(() => file.getShareLeaseClient(bad).changeLease(B))],
        ['x-ms-lease-id', await attempt(() => file.getShareLeaseClient(bad).releaseLease())],
        [
          'x-ms-lease-id',
          await attempt(() => file.uploadRange(Buffer.from('x'), 0, 1, { leaseAccessConditions: { leaseId: bad } })),
        ],
        ['x-ms-lease-id', await attempt(() => file.setMetadata({}, { leaseAccessConditions: { leaseId: bad } }))],
        ['x-ms-lease-id', await attempt(() => download(file, bad))],
      ];
      for (const [headerName, outcome] of refusals) {
        expectFailure(outcome, 400, 'InvalidHeaderValue');
        expect(outcome.body).toContain(`<HeaderName>${headerName}</HeaderName>`);
      }
      expect(await eventsOf(stream, before)).toEqual([]);
      await expectLease(file, stream, START_STATE.leased);
    });
  });

  describe('lease headers', () => {
    const lease = leaseRaw;

    it('refuses a request without x-ms-lease-action (400 MissingRequiredHeader)', async () => {
      const { file, stream } = await fileIn('available');
      const outcome = await lease(file, { 'x-ms-lease-duration': '-1', 'x-ms-proposed-lease-id': A });
      expectFailure(outcome, 400, 'MissingRequiredHeader');
      expect(outcome.body).toContain('<HeaderName>x-ms-lease-action</HeaderName>');
      expect(await versionOf(stream)).toBe(1);
    });

    it.each(['renew', 'steal', 'acquire,break', ''])('refuses the action %j (400)', async (action) => {
      const { file, stream } = await fileIn('leased');
      const outcome = await lease(file, { 'x-ms-lease-action': action, 'x-ms-lease-id': A });
      // An empty value is a missing header; anything else unknown is an invalid one.
      expectFailure(outcome, 400, action === '' ? 'MissingRequiredHeader' : 'InvalidHeaderValue');
      expect(outcome.body).toContain('<HeaderName>x-ms-lease-action</HeaderName>');
      expect(await versionOf(stream)).toBe(2);
    });

    it('takes the action case-insensitively', async () => {
      const { file } = await fileIn('available');
      const outcome = await lease(file, {
        'x-ms-lease-action': 'Acquire',
        'x-ms-lease-duration': '-1',
        'x-ms-proposed-lease-id': B,
      });
      expect([outcome.status, outcome.leaseId]).toEqual([201, B]);
    });

    it('requires x-ms-lease-duration on acquire (400 MissingRequiredHeader)', async () => {
      const { file, stream } = await fileIn('available');
      const outcome = await lease(file, { 'x-ms-lease-action': 'acquire', 'x-ms-proposed-lease-id': A });
      expectFailure(outcome, 400, 'MissingRequiredHeader');
      expect(outcome.body).toContain('<HeaderName>x-ms-lease-duration</HeaderName>');
      expect(await versionOf(stream)).toBe(1);
    });

    it.each(['15', '60', '0', 'infinite', '-2'])(
      'refuses x-ms-lease-duration %s on acquire: file leases are infinite (400 InvalidHeaderValue)',
      async (duration) => {
        const { file, stream } = await fileIn('available');
        const outcome =
          duration === '15'
            ? await attempt(() => file.getShareLeaseClient(A).acquireLease(15)) // what the SDK passes through
            : await lease(file, {
                'x-ms-lease-action': 'acquire',
                'x-ms-lease-duration': duration,
                'x-ms-proposed-lease-id': A,
              });
        expectFailure(outcome, 400, 'InvalidHeaderValue');
        expect(outcome.body).toContain('<HeaderName>x-ms-lease-duration</HeaderName>');
        expect(await versionOf(stream)).toBe(1);
      },
    );

    it.each([
      ['release', { 'x-ms-lease-id': A }],
      ['change', { 'x-ms-lease-id': A, 'x-ms-proposed-lease-id': B }],
      ['break', {}],
    ])('refuses x-ms-lease-duration on %s (400 InvalidHeaderValue)', async (action, ids) => {
      const { file, stream } = await fileIn('leased');
      const outcome = await lease(file, { 'x-ms-lease-action': action, 'x-ms-lease-duration': '-1', ...ids });
      expectFailure(outcome, 400, 'InvalidHeaderValue');
      expect(outcome.body).toContain('<HeaderName>x-ms-lease-duration</HeaderName>');
      expect(await versionOf(stream)).toBe(2);
      await expectLease(file, stream, START_STATE.leased);
    });

    it.each([
      ['change without x-ms-lease-id', { 'x-ms-lease-action': 'change', 'x-ms-proposed-lease-id': B }, 'x-ms-lease-id'],
      [
        'change without x-ms-proposed-lease-id',
        { 'x-ms-lease-action': 'change', 'x-ms-lease-id': A },
        'x-ms-proposed-lease-id',
      ],
      ['release without x-ms-lease-id', { 'x-ms-lease-action': 'release' }, 'x-ms-lease-id'],
    ])('refuses %s (400 MissingRequiredHeader)', async (_name, headers, missing) => {
      const { file, stream } = await fileIn('leased');
      const outcome = await lease(file, headers);
      expectFailure(outcome, 400, 'MissingRequiredHeader');
      expect(outcome.body).toContain(`<HeaderName>${missing}</HeaderName>`);
      expect(await versionOf(stream)).toBe(2);
    });
  });

  describe('what can and cannot be leased', () => {
    it('answers 404 ResourceNotFound, ParentNotFound or ShareNotFound for a file that is not there', async () => {
      const missingFile = share.rootDirectoryClient.getFileClient('no-such-file');
      const missingParent = share.getDirectoryClient('no-such-dir').getFileClient('file');
      const missingShare = service
        .serviceClient()
        .getShareClient(uniqueShare('gone'))
        .rootDirectoryClient.getFileClient('file');
      for (const [file, code] of [
        [missingFile, 'ResourceNotFound'],
        [missingParent, 'ParentNotFound'],
        [missingShare, 'ShareNotFound'],
      ] as const) {
        expectFailure(await attempt(() => file.getShareLeaseClient(A).acquireLease()), 404, code);
        expectFailure(await attempt(() => file.getShareLeaseClient().breakLease()), 404, code);
        expectFailure(await attempt(() => file.getShareLeaseClient(A).releaseLease()), 404, code);
        expectFailure(await attempt(() => file.getShareLeaseClient(A).changeLease(B)), 404, code);
      }
    });

    it('refuses to lease a directory with 409 ResourceTypeMismatch, recording nothing', async () => {
      const dir = share.getDirectoryClient(`dir-${files++}`);
      const created = await dir.create();
      const asFile = share.rootDirectoryClient.getFileClient(dir.name);
      expectFailure(await attempt(() => asFile.getShareLeaseClient(A).acquireLease()), 409, 'ResourceTypeMismatch');
      expectFailure(await attempt(() => asFile.getShareLeaseClient().breakLease()), 409, 'ResourceTypeMismatch');
      expect((await eventsOf(`node-${created.fileId}`)).map((e) => e.type)).toEqual(['DirectoryCreated']);
    });

    it('refuses to lease a file in a share snapshot (400), leaving the live file alone', async () => {
      const { file, stream } = await fileIn('leased');
      const inSnapshot = share
        .withSnapshot('2024-01-01T00:00:00.0000000Z')
        .rootDirectoryClient.getFileClient(file.name);
      const code = 'ShareSnapshotOperationNotSupported';
      expectFailure(await attempt(() => inSnapshot.getShareLeaseClient(B).acquireLease()), 400, code);
      expectFailure(await attempt(() => inSnapshot.getShareLeaseClient().breakLease()), 400, code);
      expectFailure(await attempt(() => inSnapshot.getShareLeaseClient(A).changeLease(B)), 400, code);
      expectFailure(await attempt(() => inSnapshot.getShareLeaseClient(A).releaseLease()), 400, code);
      expect(await versionOf(stream)).toBe(2);
      await expectLease(file, stream, START_STATE.leased);
    });

    it('deletes a share whose files are leased or broken', async () => {
      const doomed = service.serviceClient().getShareClient(uniqueShare('doomed'));
      await doomed.create();
      const leasedFile = doomed.rootDirectoryClient.getFileClient('leased');
      const brokenFile = doomed.rootDirectoryClient.getFileClient('broken');
      await leasedFile.create(1);
      await brokenFile.create(1);
      await leasedFile.getShareLeaseClient(A).acquireLease();
      await brokenFile.getShareLeaseClient(B).acquireLease();
      await brokenFile.getShareLeaseClient().breakLease();
      expect((await doomed.delete())._response.status).toBe(202);
      const gone = await attempt(() => leasedFile.getProperties());
      expect([gone.status, gone.errorCode]).toEqual([404, 'ShareNotFound']);
      expect((await attempt(() => leasedFile.getShareLeaseClient(A).releaseLease())).errorCode).toBe('ShareNotFound');
    });
  });

  describe('response headers and the fencing epoch', () => {
    it('keeps ETag and Last-Modified through every lease action', async () => {
      const { file } = await fileIn('available');
      const { etag, lastModified } = await file.getProperties();
      const answers = [
        await file.getShareLeaseClient(A).acquireLease(),
        await file.getShareLeaseClient(A).acquireLease(),
        await file.getShareLeaseClient(A).changeLease(B),
        await file.getShareLeaseClient().breakLease(),
        await file.getShareLeaseClient(C).acquireLease(),
        await file.getShareLeaseClient(C).releaseLease(),
      ];
      for (const answer of answers) expect([answer.etag, answer.lastModified]).toEqual([etag, lastModified]);
      const after = await file.getProperties();
      expect([after.etag, after.lastModified]).toEqual([etag, lastModified]);
    });

    it('says x-ms-lease-time: 0 on break (immediate) and only there', async () => {
      const { file } = await fileIn('available');
      const acquired = await file.getShareLeaseClient(A).acquireLease();
      const broken = await file.getShareLeaseClient().breakLease();
      const again = await file.getShareLeaseClient().breakLease();
      const released = await file.getShareLeaseClient(A).releaseLease();
      expect(acquired._response.headers.get('x-ms-lease-time')).toBeUndefined();
      expect(broken._response.headers.get('x-ms-lease-time')).toBe('0');
      expect(again._response.headers.get('x-ms-lease-time')).toBe('0');
      expect(released._response.headers.get('x-ms-lease-time')).toBeUndefined();
    });

    it('reports x-ms-lease-duration: infinite only while the file is leased', async () => {
      const { file } = await fileIn('available');
      const duration = async () => {
        const [props, got] = [await file.getProperties(), await file.download()];
        for await (const _ of got.readableStreamBody!) void _;
        expect(got.leaseDuration).toBe(props.leaseDuration);
        expect([got.leaseState, got.leaseStatus]).toEqual([props.leaseState, props.leaseStatus]);
        return props.leaseDuration;
      };
      expect(await duration()).toBeUndefined();
      await file.getShareLeaseClient(A).acquireLease();
      expect(await duration()).toBe('infinite');
      await file.getShareLeaseClient().breakLease();
      expect(await duration()).toBeUndefined();
      await file.getShareLeaseClient(B).acquireLease();
      expect(await duration()).toBe('infinite');
      await file.getShareLeaseClient(B).releaseLease();
      expect(await duration()).toBeUndefined();
    });

    it('bumps the fencing epoch on every new holder, change and break, and on nothing else', async () => {
      const { file, stream } = await fileIn('available');
      const epochOf = async () => {
        const props = await file.getProperties();
        const got = await file.download();
        for await (const _ of got.readableStreamBody!) void _;
        expect(got._response.headers.get(EPOCH_HEADER)).toBe(props._response.headers.get(EPOCH_HEADER));
        return Number(props._response.headers.get(EPOCH_HEADER));
      };
      const steps: Array<[string, () => Promise<SdkResponse>, number]> = [
        ['acquire (A)', () => file.getShareLeaseClient(A).acquireLease(), 1],
        ['acquire (A) again: same holder', () => file.getShareLeaseClient(A).acquireLease(), 1],
        ['change (B) to (A): already (A)', () => file.getShareLeaseClient(B).changeLease(A), 1],
        ['change (A) to (B)', () => file.getShareLeaseClient(A).changeLease(B), 2],
        ['write with (B)', () => file.setMetadata({ v: '1' }, { leaseAccessConditions: { leaseId: B } }), 2],
        ['break', () => file.getShareLeaseClient().breakLease(), 3],
        ['break again', () => file.getShareLeaseClient().breakLease(), 3],
        [
          'acquire (B) of the broken lease: a new holder all the same',
          () => file.getShareLeaseClient(B).acquireLease(),
          4,
        ],
        ['release (B)', () => file.getShareLeaseClient(B).releaseLease(), 4],
        ['acquire (C)', () => file.getShareLeaseClient(C).acquireLease(), 5],
        ['break', () => file.getShareLeaseClient().breakLease(), 6],
        ['write without a lease id clears the broken lease', () => file.setMetadata({ v: '2' }), 6],
        ['acquire (A)', () => file.getShareLeaseClient(A).acquireLease(), 7],
      ];
      expect(await epochOf()).toBe(0);
      const seen: Array<[string, number, number]> = [];
      for (const [name, step, epoch] of steps) {
        const answer = await step();
        const onLease = answer._response.headers.get(EPOCH_HEADER);
        // Lease File answers carry the epoch; other writes need not.
        seen.push([name, onLease === undefined ? epoch : Number(onLease), await epochOf()]);
      }
      expect(seen).toEqual(steps.map(([name, , epoch]) => [name, epoch, epoch]));
      expect((await replay(stream)).epoch).toBe(7);
    });

    it('records the clearing of a broken lease by a lease-less write, then the write', async () => {
      const { file, stream } = await fileIn('broken');
      const before = await versionOf(stream);
      const written = await attempt(() => file.uploadRange(Buffer.from('0123456789abcdef'), 0, 16));
      expect(written.status).toBe(201);
      const appended = await eventsOf(stream, before);
      expect(appended.map((e) => [e.type, e.type === 'BrokenLeaseCleared' ? e.data : undefined])).toEqual([
        ['BrokenLeaseCleared', { leaseId: A, by: 'write' }],
        ['FileRangeWritten', undefined],
      ]);
      expectMetadata(appended, written);
      await expectLease(file, stream, { status: 'available', epoch: 2 });
      // Available again: any id now fails, and a new holder can acquire at once.
      expectFailure(
        await attempt(() => file.getShareLeaseClient(A).releaseLease()),
        409,
        'LeaseNotPresentWithLeaseOperation',
      );
      expect((await file.getShareLeaseClient(B).acquireLease())._response.status).toBe(201);
    });

    it('records who did what on every event, with the request and client request ids', async () => {
      const { file, stream } = await fileIn('available');
      const answers: Outcome[] = [];
      const run = async (call: () => Promise<SdkResponse>) => answers.push(await attempt(call));
      await run(() => file.getShareLeaseClient(A).acquireLease());
      await run(() => file.getShareLeaseClient(A).changeLease(B));
      await run(() => file.uploadRange(Buffer.from('x'), 0, 1, { leaseAccessConditions: { leaseId: B } }));
      await run(() => file.getShareLeaseClient().breakLease());
      await run(() => file.setMetadata({ a: 'b' }));
      await run(() => file.getShareLeaseClient(C).acquireLease());
      await run(() => file.getShareLeaseClient(C).releaseLease());
      const events = await eventsOf(stream, 1);
      expect(events.map((e) => e.type)).toEqual([
        'LeaseAcquired',
        'LeaseChanged',
        'FileRangeWritten',
        'LeaseBroken',
        'BrokenLeaseCleared',
        'FileMetadataSet',
        'LeaseAcquired',
        'LeaseReleased',
      ]);
      const byRequest = [0, 1, 2, 3, 4, 4, 5, 6];
      events.forEach((event, i) => expectMetadata([event], answers[byRequest[i]]));
      const requestIds = new Set(events.map((e) => e.metadata.requestId));
      expect(requestIds.size).toBe(7);
      for (const event of events) expect(event.metadata.clientRequestId).toMatch(CANONICAL_GUID);
    });
  });
});
