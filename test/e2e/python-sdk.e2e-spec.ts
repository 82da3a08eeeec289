// Every operation Leasehold offers that the other Python suites (share-surface-python, and the Python
// cases of file-operations, share-snapshots and share-snapshot-lease) leave out, through the official
// Python SDK (azure.storage.fileshare 12.11) unchanged: directories, files, both Lease File tables,
// handles, Copy File under a destination lease and Delete Share. The assertions are the JS suites':
// values, statuses, x-ms-error-code, and the events each write recorded. One Python process serves the
// whole file (test/support/python.ts).
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { LeaseState } from '../../libs/domain/src';
import {
  A,
  B,
  LEASE_ACTION_SUCCESS,
  LEASE_COLUMNS,
  LeaseActionRow,
  LeaseColumn,
  leaseActionCells,
  START_STATE,
  USE_TABLE,
  UseKind,
} from '../support/lease-tables';
import { PythonAnswer, PythonCall, PythonSdk } from '../support/python';
import { eventsOf, onlyEvent, StoredEvent } from '../support/recorded';
import { startTestService, TestService, uniqueShare } from '../support/service';
import { sendRaw } from '../support/signed-request';

const dev = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
/** The success status Azure documents for each write the tests make, by SDK method. */
const WRITE_STATUS: Record<string, number> = {
  create_share: 201,
  create_directory: 201,
  set_directory_metadata: 200,
  set_http_headers: 200,
  delete_directory: 202,
  create_file: 201,
  upload_range: 201,
  clear_range: 201,
  set_file_metadata: 200,
  resize_file: 200,
  delete_file: 202,
  start_copy_from_url: 202,
};

describe('the Python SDK, operation by operation', () => {
  let service: TestService;
  let python: PythonSdk;
  let shareName: string;
  let files = 0;

  beforeAll(async () => {
    service = await startTestService();
    python = new PythonSdk(service.url);
    shareName = uniqueShare('pysdk');
    await recorded({ client: 'share', method: 'create_share', kwargs: { quota: 5 } }, 'ShareCreated');
  });
  afterAll(async () => {
    await python.stop();
    await service.stop();
  });

  const py = (...calls: PythonCall[]): Promise<PythonAnswer[]> => python.answers({ ...dev, share: shareName }, calls);
  const file = (path: string, method: string, kwargs?: Record<string, unknown>): PythonCall => ({
    client: 'file',
    path,
    method,
    kwargs,
  });
  const dir = (path: string, method: string, kwargs?: Record<string, unknown>): PythonCall => ({
    client: 'directory',
    path,
    method,
    kwargs,
  });
  const lease = (path: string, leaseId: string | undefined, method: string, kwargs?: Record<string, unknown>) =>
    ({ client: 'lease', path, leaseId, method, kwargs }) as PythonCall;

  /** The result of a call that must succeed. */
  async function ok(call: PythonCall): Promise<any> {
    const [answer] = await py(call);
    if (!answer.ok) throw new Error(`${call.method}: ${answer.status} ${answer.code} ${answer.message}`);
    return answer.result;
  }
  /**
   * A write that succeeded with Azure's status for it and recorded exactly one event of `type`,
   * stamped with its request.
   */
  async function recorded(call: PythonCall, type: string): Promise<{ result: any; event: StoredEvent }> {
    const [answer] = await py(call);
    if (!answer.ok) throw new Error(`${call.method}: ${answer.status} ${answer.code} ${answer.message}`);
    expect([call.method, answer.status]).toEqual([call.method, WRITE_STATUS[call.method]]);
    return { result: answer.result, event: await onlyEvent(service.db, answer, type) };
  }
  /** The status and x-ms-error-code of an answer ({ ok } when it succeeded). */
  const outcome = (answer: PythonAnswer) => (answer.ok ? 'ok' : { status: answer.status, code: answer.code });
  /** A call refused as Azure documents, which recorded nothing. */
  async function refused(call: PythonCall, status: number, code: string): Promise<void> {
    const [answer] = await py(call);
    expect([call.method, outcome(answer)]).toEqual([call.method, { status, code }]);
    expect(await eventsOf(service.db, answer.requestId)).toEqual([]);
  }

  /** Opens a handle on a file or directory (a Leasehold extension no SDK calls, so hand-signed). */
  async function openHandle(path: string): Promise<string> {
    const res = await sendRaw(service.url, {
      method: 'PUT',
      path: `/${DEVELOPMENT_ACCOUNT}/${shareName}/${path}`,
      query: 'comp=openhandle',
      headers: { 'x-leasehold-client-ip': `10.2.0.${files++ % 250}:445` },
      signer: dev,
    });
    expect(res.status).toBe(201);
    return res.header('x-leasehold-handle-id')!;
  }

  describe('directories', () => {
    it('create_directory, get_directory_properties, set_directory_metadata, set_http_headers, delete_directory', async () => {
      const created = await recorded(
        dir('pydir', 'create_directory', { metadata: { Team: 'blue' } }),
        'DirectoryCreated',
      );
      expect(created.result).toMatchObject({ etag: expect.stringMatching(/^"0x8[0-9A-F]+"$/) });
      expect(created.event.data).toMatchObject({ path: 'pydir', metadata: { Team: 'blue' } });
      await refused(dir('pydir', 'create_directory'), 409, 'ResourceAlreadyExists');
      await refused(dir('ghost/child', 'create_directory'), 404, 'ParentNotFound');

      const props = await ok(dir('pydir', 'get_directory_properties'));
      expect(props).toMatchObject({ is_directory: true, metadata: { team: 'blue' }, etag: created.result.etag });
      expect(props.file_id).toEqual(expect.any(String));

      const meta = await recorded(
        dir('pydir', 'set_directory_metadata', { metadata: { fresh: '2' } }),
        'DirectoryMetadataSet',
      );
      expect(meta.event.data).toMatchObject({ metadata: { fresh: '2' } });
      const set = await recorded(dir('pydir', 'set_http_headers'), 'DirectoryPropertiesSet');
      const after = await ok(dir('pydir', 'get_directory_properties'));
      expect(after).toMatchObject({ metadata: { fresh: '2' }, etag: set.result.etag, file_id: props.file_id });

      // The share root is a directory too.
      expect(await ok(dir('', 'get_directory_properties'))).toMatchObject({ is_directory: true });

      await ok(dir('pydir/sub', 'create_directory'));
      await refused(dir('pydir', 'delete_directory'), 409, 'DirectoryNotEmpty');
      const deleted = await recorded(dir('pydir/sub', 'delete_directory'), 'DirectoryDeleted');
      expect(deleted.event.data).toMatchObject({ path: 'pydir/sub' });
      await refused(dir('pydir/sub', 'delete_directory'), 404, 'ResourceNotFound');
      await refused(dir('pydir/sub', 'get_directory_properties'), 404, 'ResourceNotFound');
      await recorded(dir('pydir', 'delete_directory'), 'DirectoryDeleted');
      await refused(dir('pydir/sub', 'get_directory_properties'), 404, 'ParentNotFound');
    });

    it('list_directories_and_files: every entry once across pages, directories told from files, by prefix', async () => {
      await ok(dir('listed', 'create_directory'));
      for (const name of ['beta', 'alpha']) await ok(dir(`listed/${name}`, 'create_directory'));
      for (const name of ['al.txt', 'zed.bin']) await ok(file(`listed/${name}`, 'create_file', { size: 7 }));
      const entries = (listing: any[]) => listing.map((e) => [e.name, e.is_directory, e.size ?? null]);
      const all = await ok(dir('listed', 'list_directories_and_files', { results_per_page: 2 }));
      expect(entries(all).sort()).toEqual([
        ['al.txt', false, 7],
        ['alpha', true, null],
        ['beta', true, null],
        ['zed.bin', false, 7],
      ]);
      // One page: 12.11 sends a later page's prefix as the repr of its StringEncoded model (README).
      const prefixed = await ok(dir('listed', 'list_directories_and_files', { name_starts_with: 'al' }));
      expect(entries(prefixed).sort()).toEqual([
        ['al.txt', false, 7],
        ['alpha', true, null],
      ]);
      await refused(dir('nope', 'list_directories_and_files'), 404, 'ResourceNotFound');
    });
  });

  describe('files', () => {
    it('create_file, upload_range, download_file, get_file_properties, clear_range, get_ranges', async () => {
      await ok(dir('pyfiles', 'create_directory'));
      const path = 'pyfiles/report.txt';
      const created = await recorded(
        file(path, 'create_file', {
          size: 1024,
          metadata: { Owner: 'alice' },
          content_settings: {
            content_type: 'text/plain; charset=utf-8',
            cache_control: 'no-cache',
            content_language: 'en-GB',
          },
        }),
        'FileCreated',
      );
      expect(created.event.data).toMatchObject({
        path,
        contentLength: 1024,
        metadata: { Owner: 'alice' },
        replaced: false,
      });
      const props = await ok(file(path, 'get_file_properties'));
      expect(props).toMatchObject({
        size: 1024,
        etag: created.result.etag,
        metadata: { owner: 'alice' },
        content_settings: {
          content_type: 'text/plain; charset=utf-8',
          cache_control: 'no-cache',
          content_language: 'en-GB',
        },
        lease: { status: 'unlocked', state: 'available' },
      });

      const put = await recorded(
        file(path, 'upload_range', { data: 'hello world', offset: 0, length: 11 }),
        'FileRangeWritten',
      );
      expect(put.event.data).toMatchObject({ start: 0, end: 10, length: 11 });
      await recorded(
        file(path, 'upload_range', { data: 'x'.repeat(512), offset: 512, length: 512 }),
        'FileRangeWritten',
      );
      expect(await ok(file(path, 'download_file', { offset: 6, length: 5 }))).toBe('world');
      expect(await ok(file(path, 'get_ranges'))).toEqual([
        { start: 0, end: 10 },
        { start: 512, end: 1023 },
      ]);
      // The SDK itself insists on 512-byte alignment for clear_range.
      const cleared = await recorded(file(path, 'clear_range', { offset: 512, length: 512 }), 'FileRangeCleared');
      expect(cleared.event.data).toMatchObject({ start: 512, end: 1023 });
      expect(await ok(file(path, 'get_ranges'))).toEqual([{ start: 0, end: 10 }]);
      const whole = await ok(file(path, 'download_file'));
      expect(whole).toBe(`hello world${'\0'.repeat(1013)}`);

      await refused(file(path, 'upload_range', { data: 'xy', offset: 1023, length: 2 }), 416, 'InvalidRange');
      await refused(file(path, 'download_file', { offset: 2000, length: 1 }), 416, 'InvalidRange');
      await refused(file('ghost/f', 'create_file', { size: 1 }), 404, 'ParentNotFound');
      await refused(file('pyfiles', 'get_file_properties'), 404, 'ResourceNotFound');
    });

    it('set_file_metadata, set_http_headers, resize_file up and down, delete_file', async () => {
      const path = 'props.txt';
      await ok(file(path, 'create_file', { size: 11, content_settings: { content_type: 'text/plain' } }));
      await ok(file(path, 'upload_range', { data: 'hello world', offset: 0, length: 11 }));

      const meta = await recorded(file(path, 'set_file_metadata', { metadata: { Color: 'red' } }), 'FileMetadataSet');
      expect(meta.event.data).toMatchObject({ metadata: { Color: 'red' } });
      expect((await ok(file(path, 'get_file_properties'))).metadata).toEqual({ color: 'red' });
      await recorded(file(path, 'set_file_metadata'), 'FileMetadataSet');
      expect((await ok(file(path, 'get_file_properties'))).metadata).toEqual({});

      const headers = await recorded(
        file(path, 'set_http_headers', {
          content_settings: { content_type: 'application/json', cache_control: 'max-age=60' },
        }),
        'FilePropertiesSet',
      );
      expect(headers.event.data).toMatchObject({
        properties: { contentType: 'application/json', cacheControl: 'max-age=60' },
        contentLength: 11,
      });
      expect(await ok(file(path, 'get_file_properties'))).toMatchObject({
        size: 11,
        content_settings: { content_type: 'application/json', cache_control: 'max-age=60' },
      });

      const up = await recorded(file(path, 'resize_file', { size: 20 }), 'FilePropertiesSet');
      expect(up.event.data).toMatchObject({ contentLength: 20 });
      expect(await ok(file(path, 'download_file'))).toBe(`hello world${'\0'.repeat(9)}`);
      await recorded(file(path, 'resize_file', { size: 5 }), 'FilePropertiesSet');
      expect(await ok(file(path, 'download_file'))).toBe('hello');
      // resize_file is a Set File Properties without the Content-* headers: as Azure documents, it clears them.
      expect((await ok(file(path, 'get_file_properties'))).content_settings).toMatchObject({
        content_type: 'application/octet-stream',
        cache_control: null,
      });

      const deleted = await recorded(file(path, 'delete_file'), 'FileDeleted');
      expect(deleted.event.data).toMatchObject({ path });
      await refused(file(path, 'get_file_properties'), 404, 'ResourceNotFound');
      await refused(file(path, 'download_file'), 404, 'ResourceNotFound');
      await refused(file(path, 'delete_file'), 404, 'ResourceNotFound');
      await refused(file(path, 'set_file_metadata', { metadata: { a: 'b' } }), 404, 'ResourceNotFound');
    });
  });

  describe('Lease File', () => {
    /** A new file, brought into the column's state the way a client would: acquire (A), then break. */
    async function fileIn(column: LeaseColumn): Promise<string> {
      const path = `cell-${files++}.bin`;
      await ok(file(path, 'create_file', { size: 16 }));
      if (column !== 'available') await ok(lease(path, A, 'acquire'));
      if (column === 'broken') await ok(lease(path, undefined, 'break_lease'));
      return path;
    }
    /**
     * The file's lease as get_file_properties reports it is `state`; while it is leased, a read with
     * the holder's id (the only way the wire shows who holds it) passes too.
     */
    async function expectLease(path: string, state: LeaseState): Promise<void> {
      const holder = state.status === 'leased' ? state.leaseId : undefined;
      const [props, held] = await py(
        file(path, 'get_file_properties'),
        ...(holder ? [file(path, 'get_file_properties', { lease: holder })] : []),
      );
      const { lease: reported } = (props as { result: any }).result;
      expect({ ...reported, held: held && outcome(held) }).toEqual({
        state: state.status,
        status: state.status === 'leased' ? 'locked' : 'unlocked',
        duration: state.status === 'leased' ? 'infinite' : null,
        held: holder ? 'ok' : undefined,
      });
    }

    describe('outcomes of lease operations by lease state', () => {
      const call = (row: LeaseActionRow, path: string): PythonCall =>
        row.kind === 'acquire'
          ? lease(path, row.proposes, 'acquire')
          : row.kind === 'break'
            ? lease(path, undefined, 'break_lease')
            : row.kind === 'change'
              ? lease(path, row.holds, 'change', { proposed_lease_id: row.proposes })
              : lease(path, row.holds, 'release');
      // ShareLeaseClient makes up an id when given none, so the SDK always proposes one: the row
      // "Acquire, no proposed lease ID" is not a request it can send (lease-cells sends it hand-signed).
      const cells = leaseActionCells().filter(([, , row]) => row.kind !== 'acquire' || row.proposes);

      it('covers 8 rows × 3 columns', () => expect(cells).toHaveLength(24));

      it.each(cells)('%s on %s', async (_name, column, row, cell) => {
        const path = await fileIn(column);
        const [answer] = await py(call(row, path));
        const events = await eventsOf(service.db, answer.requestId);
        if ('fail' in cell) {
          expect(outcome(answer)).toEqual({ status: cell.fail, code: cell.code });
          expect(events).toEqual([]);
          await expectLease(path, START_STATE[column]);
          return;
        }
        expect(outcome(answer)).toBe('ok');
        expect((answer as { status?: number }).status).toBe(LEASE_ACTION_SUCCESS[row.kind]);
        expect(events.map((e) => e.type)).toEqual(cell.event ? [cell.event] : []);
        for (const event of events)
          expect(event.metadata).toMatchObject({ requestId: answer.requestId, authentication: 'SharedKey' });
        if (cell.ok === 'Leased') {
          const holder = cell.holder === 'A' ? A : B;
          // The lease client holds the id in force after acquire and change.
          expect((answer as { result: any }).result.id).toBe(holder);
          await expectLease(path, { status: 'leased', leaseId: holder, epoch: cell.epoch });
          if (cell.event === 'LeaseAcquired')
            expect(events[0].data).toEqual({ leaseId: holder, epoch: cell.epoch, previousState: column });
        } else if (cell.ok === 'Broken') {
          await expectLease(path, { status: 'broken', leaseId: A, epoch: cell.epoch });
        } else {
          await expectLease(path, { status: 'available', epoch: 0 });
        }
      });

      it('acquire_lease() on the file client proposes an id of its own and answers a lease client holding it', async () => {
        const path = await fileIn('available');
        const [answer] = await py(file(path, 'acquire_lease'));
        const acquired = (answer as { result: any }).result;
        expect(acquired.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect((await onlyEvent(service.db, answer, 'LeaseAcquired')).data).toMatchObject({ leaseId: acquired.id });
        await expectLease(path, { status: 'leased', leaseId: acquired.id, epoch: 1 });
      });
    });

    describe('outcomes of use attempts by lease state', () => {
      /** Each cell with two writes or three reads, as lease-cells does with the JS SDK. */
      const operations: Record<UseKind, Array<{ event?: string; call(path: string, leaseId?: string): PythonCall }>> = {
        write: [
          {
            event: 'FileRangeWritten',
            call: (path, leaseId) =>
              file(path, 'upload_range', { data: 'leasehold', offset: 0, length: 9, lease: leaseId }),
          },
          {
            event: 'FileMetadataSet',
            call: (path, leaseId) => file(path, 'set_file_metadata', { metadata: { cell: 'yes' }, lease: leaseId }),
          },
        ],
        read: [
          { call: (path, leaseId) => file(path, 'download_file', { lease: leaseId }) },
          { call: (path, leaseId) => file(path, 'get_file_properties', { lease: leaseId }) },
          { call: (path, leaseId) => file(path, 'get_ranges', { lease: leaseId }) },
        ],
      };
      const cells = USE_TABLE.flatMap(([row, kind, leaseId, outcomes]) =>
        LEASE_COLUMNS.map((column, i) => [row, column, kind, leaseId, outcomes[i]] as const),
      );

      it('covers 6 rows × 3 columns', () => expect(cells).toHaveLength(18));

      it.each(cells)('%s on %s', async (_row, column, kind, leaseId, cell) => {
        for (const op of operations[kind]) {
          const path = await fileIn(column);
          const call = op.call(path, leaseId);
          const [answer] = await py(call);
          const events = (await eventsOf(service.db, answer.requestId)).map((e) => e.type);
          const start = START_STATE[column];
          if (cell !== 'ok') {
            expect([call.method, outcome(answer)]).toEqual([call.method, { status: cell.fail, code: cell.code }]);
            expect(events).toEqual([]);
            await expectLease(path, start);
            continue;
          }
          expect([call.method, outcome(answer)]).toEqual([call.method, 'ok']);
          // A write with no lease id on a broken lease clears it: the file becomes Available.
          const clears = kind === 'write' && column === 'broken' && leaseId === undefined;
          expect(events).toEqual(kind === 'read' ? [] : [...(clears ? ['BrokenLeaseCleared'] : []), op.event]);
          await expectLease(path, clears ? { status: 'available', epoch: start.epoch } : start);
        }
      });
    });

    it('gates every write on Leased (A): 412 without a lease id, 409 with another, through with lease=A', async () => {
      const path = await fileIn('leased');
      const writes: Array<[string, Record<string, unknown>, string]> = [
        ['create_file', { size: 16 }, 'FileCreated'],
        ['upload_range', { data: 'abcd', offset: 0, length: 4 }, 'FileRangeWritten'],
        // Before clear_range, whose range the SDK wants 512-byte aligned.
        ['resize_file', { size: 1024 }, 'FilePropertiesSet'],
        ['clear_range', { offset: 0, length: 512 }, 'FileRangeCleared'],
        ['set_file_metadata', { metadata: { k: 'v' } }, 'FileMetadataSet'],
        ['set_http_headers', { content_settings: { content_type: 'text/plain' } }, 'FilePropertiesSet'],
        ['delete_file', {}, 'FileDeleted'],
      ];
      for (const [method, kwargs, event] of writes) {
        await refused(file(path, method, kwargs), 412, 'LeaseIdMissing');
        await refused(file(path, method, { ...kwargs, lease: B }), 409, 'LeaseIdMismatchWithFileOperation');
        await recorded(file(path, method, { ...kwargs, lease: A }), event);
      }
      await refused(file(path, 'get_file_properties'), 404, 'ResourceNotFound');
    });

    it('refuses a lease on a directory (409 ResourceTypeMismatch) and on a missing file (404)', async () => {
      await ok(dir('unleasable', 'create_directory'));
      await refused(lease('unleasable', A, 'acquire'), 409, 'ResourceTypeMismatch');
      await refused(lease('missing.bin', A, 'acquire'), 404, 'ResourceNotFound');
    });
  });

  describe('handles', () => {
    it('list_handles and close_handle on a file; close_all_handles on a file; each close records HandlesForceClosed', async () => {
      await ok(dir('hd', 'create_directory'));
      await ok(file('hd/f.bin', 'create_file', { size: 0 }));
      await ok(file('hd/g.bin', 'create_file', { size: 0 }));
      const ids = [await openHandle('hd/f.bin'), await openHandle('hd/f.bin'), await openHandle('hd/f.bin')];
      const elsewhere = await openHandle('hd/g.bin');

      const listed = await ok(file('hd/f.bin', 'list_handles', { results_per_page: 2 }));
      expect(listed.map((h: any) => h.id).sort()).toEqual([...ids].sort());
      expect(listed[0]).toMatchObject({ path: 'hd/f.bin', file_id: expect.any(String), client_ip: expect.any(String) });

      const [closed] = await py(file('hd/f.bin', 'close_handle', { handle: ids[1] }));
      expect((closed as { result: any }).result).toEqual({ closed_handles_count: 1, failed_handles_count: 0 });
      const events = await eventsOf(service.db, closed.requestId);
      expect(events.map((e) => [e.type, e.data.handleIds])).toEqual([['HandlesForceClosed', [ids[1]]]]);
      // An id that is not open there closes nothing.
      for (const id of [ids[1], elsewhere])
        expect(await ok(file('hd/f.bin', 'close_handle', { handle: id }))).toEqual({
          closed_handles_count: 0,
          failed_handles_count: 0,
        });
      expect((await ok(file('hd/f.bin', 'list_handles'))).map((h: any) => h.id).sort()).toEqual(
        [ids[0], ids[2]].sort(),
      );

      expect(await ok(file('hd/f.bin', 'close_all_handles'))).toEqual({
        closed_handles_count: 2,
        failed_handles_count: 0,
      });
      expect(await ok(file('hd/f.bin', 'list_handles'))).toEqual([]);
      expect((await ok(file('hd/g.bin', 'list_handles'))).map((h: any) => h.id)).toEqual([elsewhere]);
      await refused(file('hd/none.bin', 'list_handles'), 404, 'ResourceNotFound');
    });

    it('list_handles, close_handle and close_all_handles on a directory, with and without recursive', async () => {
      await ok(dir('tree', 'create_directory'));
      await ok(dir('tree/sub', 'create_directory'));
      await ok(file('tree/sub/deep.bin', 'create_file', { size: 0 }));
      const own = await openHandle('tree');
      const below = [await openHandle('tree/sub'), await openHandle('tree/sub/deep.bin')];

      expect((await ok(dir('tree', 'list_handles'))).map((h: any) => [h.id, h.path])).toEqual([[own, 'tree']]);
      const all = await ok(dir('tree', 'list_handles', { recursive: true, results_per_page: 1 }));
      expect(all.map((h: any) => h.id).sort()).toEqual([own, ...below].sort());
      // The share root lists everything below it recursively.
      expect((await ok(dir('', 'list_handles', { recursive: true }))).map((h: any) => h.id)).toEqual(
        expect.arrayContaining([own, ...below]),
      );

      expect(await ok(dir('tree', 'close_handle', { handle: below[0] }))).toEqual({
        closed_handles_count: 0,
        failed_handles_count: 0,
      });
      expect(await ok(dir('tree', 'close_all_handles'))).toEqual({ closed_handles_count: 1, failed_handles_count: 0 });
      const [closed] = await py(dir('tree', 'close_all_handles', { recursive: true }));
      expect((closed as { result: any }).result).toEqual({ closed_handles_count: 2, failed_handles_count: 0 });
      const events = await eventsOf(service.db, closed.requestId);
      expect(events.map((e) => [e.type, e.data.path, e.data.recursive, [...e.data.handleIds].sort()])).toEqual([
        ['HandlesForceClosed', 'tree', true, [...below].sort()],
      ]);
      expect(await ok(dir('tree', 'list_handles', { recursive: true }))).toEqual([]);
      // Nothing holds the directory now: it can go once empty.
      await ok(file('tree/sub/deep.bin', 'delete_file'));
      await ok(dir('tree/sub', 'delete_directory'));
    });

    it('Delete File is 409 SharingViolation while a handle is open; close_all_handles unblocks it', async () => {
      await ok(file('held.bin', 'create_file', { size: 1 }));
      await openHandle('held.bin');
      await refused(file('held.bin', 'delete_file'), 409, 'SharingViolation');
      await ok(file('held.bin', 'close_all_handles'));
      await recorded(file('held.bin', 'delete_file'), 'FileDeleted');
    });
  });

  it("Copy File with lease=: gated by the destination's lease, never by the source's", async () => {
    await ok(file('copy-src.txt', 'create_file', { size: 5 }));
    await ok(file('copy-src.txt', 'upload_range', { data: 'lease', offset: 0, length: 5 }));
    await ok(lease('copy-src.txt', B, 'acquire'));
    await ok(file('copy-dest.txt', 'create_file', { size: 1 }));
    await ok(lease('copy-dest.txt', A, 'acquire'));
    const source_url = `${service.url}/${DEVELOPMENT_ACCOUNT}/${shareName}/copy-src.txt`;
    await refused(file('copy-dest.txt', 'start_copy_from_url', { source_url }), 412, 'LeaseIdMissing');
    await refused(
      file('copy-dest.txt', 'start_copy_from_url', { source_url, lease: B }),
      409,
      'LeaseIdMismatchWithFileOperation',
    );
    const copied = await recorded(
      file('copy-dest.txt', 'start_copy_from_url', { source_url, lease: A }),
      'FileCreated',
    );
    expect(copied.result).toMatchObject({ copy_status: 'success', copy_id: expect.any(String) });
    expect(copied.event.data.copy).toMatchObject({ id: copied.result.copy_id, source: source_url });
    expect(await ok(file('copy-dest.txt', 'download_file'))).toBe('lease');
    expect(await ok(file('copy-dest.txt', 'get_file_properties'))).toMatchObject({
      size: 5,
      lease: { state: 'leased' },
      copy: { status: 'success', id: copied.result.copy_id },
    });
  });

  it('Lease Share (acquire, renew, change, release, break_lease) and delete_share(lease=), each recording its event', async () => {
    const share = uniqueShare('pyshlease');
    const shareLease = (leaseId: string | undefined, method: string, kwargs?: Record<string, unknown>): PythonCall => ({
      client: 'lease',
      leaseId,
      method,
      kwargs,
    });
    const properties: PythonCall = { client: 'share', method: 'get_share_properties' };
    const remove = (lease?: string): PythonCall => ({ client: 'share', method: 'delete_share', kwargs: { lease } });
    const answers = await python.answers({ ...dev, share }, [
      { client: 'share', method: 'create_share' },
      shareLease(A, 'acquire', { lease_duration: 15 }),
      shareLease(A, 'renew'),
      shareLease(A, 'change', { proposed_lease_id: B }),
      properties,
      remove(),
      remove(A),
      shareLease(B, 'release'),
      shareLease(A, 'acquire', { lease_duration: -1 }),
      shareLease(undefined, 'break_lease', { lease_break_period: 0 }),
      properties,
      shareLease(B, 'acquire', { lease_duration: -1 }),
      remove(B),
      properties,
    ]);
    const [created, acquired, renewed, changed, leased, missing, wrong, released] = answers;
    const [again, broken, brokenProps, reacquired, deleted, gone] = answers.slice(8);
    const events: Array<[PythonAnswer, string]> = [
      [created, 'ShareCreated'],
      [acquired, 'ShareLeaseAcquired'],
      [renewed, 'ShareLeaseRenewed'],
      [changed, 'ShareLeaseChanged'],
      [released, 'ShareLeaseReleased'],
      [again, 'ShareLeaseAcquired'],
      [broken, 'ShareLeaseBroken'],
      [reacquired, 'ShareLeaseAcquired'],
      [deleted, 'ShareDeleted'],
    ];
    for (const [answer, type] of events) await onlyEvent(service.db, answer, type);
    expect([acquired, renewed, changed, released, broken, deleted].map((a) => a.ok && a.status)).toEqual([
      201, 200, 200, 200, 202, 202,
    ]);
    expect([acquired, renewed, changed].map((a) => (a as { result: any }).result.id)).toEqual([A, A, B]);
    expect((leased as { result: any }).result.lease).toEqual({ status: 'locked', state: 'leased', duration: 'fixed' });
    expect([missing, wrong].map(outcome)).toEqual([
      { status: 412, code: 'LeaseIdMissing' },
      { status: 412, code: 'LeaseIdMismatchWithShareOperation' },
    ]);
    for (const refusal of [missing, wrong]) expect(await eventsOf(service.db, refusal.requestId)).toEqual([]);
    expect((brokenProps as { result: any }).result.lease).toMatchObject({ status: 'unlocked', state: 'broken' });
    expect(outcome(gone)).toEqual({ status: 404, code: 'ShareNotFound' });
  });

  it('share snapshots: list_shares(include_snapshots=True); listing, properties and handles at a snapshot; delete_share() of the snapshot alone', async () => {
    const share = uniqueShare('pysnap');
    const target = { ...dev, share };
    const [, , taken] = await python.answers(target, [
      { client: 'share', method: 'create_share' },
      { client: 'directory', path: 'd', method: 'create_directory', kwargs: { metadata: { at: 'snapshot' } } },
      { client: 'share', method: 'create_snapshot' },
    ]);
    const snapshot = (taken as { result: { snapshot: string } }).result.snapshot;
    const listShares: PythonCall = {
      client: 'service',
      method: 'list_shares',
      kwargs: { name_starts_with: share, include_snapshots: true },
    };
    const [listed, entries, props, handles, closed, refusal, deleted, after] = await python.answers(target, [
      listShares,
      { client: 'directory', path: '', method: 'list_directories_and_files', snapshot },
      { client: 'directory', path: 'd', method: 'get_directory_properties', snapshot },
      { client: 'directory', path: 'd', method: 'list_handles', snapshot, kwargs: { recursive: true } },
      { client: 'directory', path: 'd', method: 'close_all_handles', snapshot, kwargs: { recursive: true } },
      { client: 'directory', path: 'd', method: 'set_directory_metadata', snapshot, kwargs: { metadata: { a: 'b' } } },
      { client: 'share', method: 'delete_share', snapshot },
      listShares,
    ]);
    const result = (answer: PythonAnswer) => (answer as { result: any }).result;
    // Each share's snapshots come before it, oldest first.
    expect(result(listed).map((s: any) => [s.name, s.snapshot])).toEqual([
      [share, snapshot],
      [share, null],
    ]);
    expect(result(entries).map((e: any) => [e.name, e.is_directory])).toEqual([['d', true]]);
    expect(result(props)).toMatchObject({ metadata: { at: 'snapshot' }, is_directory: true });
    // Handles are registered on live files only: none is ever open in a snapshot.
    expect([result(handles), result(closed)]).toEqual([[], { closed_handles_count: 0, failed_handles_count: 0 }]);
    expect(outcome(refusal)).toEqual({ status: 400, code: 'ShareSnapshotOperationNotSupported' });
    expect(await eventsOf(service.db, refusal.requestId)).toEqual([]);
    await onlyEvent(service.db, deleted, 'ShareSnapshotDeleted');
    expect(result(after).map((s: any) => [s.name, s.snapshot])).toEqual([[share, null]]);
  });
});
