import { RestError, ShareClient } from '@azure/storage-file-share';
import { startTestService, TestService, uniqueShare } from '../support/service';

const ACCOUNT = 'devstoreaccount1';
const ROUNDS = 20;

/** Exactly one call of a race wins; the other fails with `code` (body and header alike). */
function expectOneWinner(results: PromiseSettledResult<unknown>[], status: number, code: string): void {
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(1);
  const error = lost[0].reason as RestError;
  expect(error).toBeInstanceOf(RestError);
  expect({
    status: error.statusCode,
    code: error.code,
    header: (error.details as { errorCode?: string }).errorCode,
  }).toEqual({
    status,
    code,
    header: code,
  });
}

describe('concurrent creates of one name', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(() => service.stop());

  const countEvents = async (type: string, field: string, values: string[]): Promise<Record<string, number>> => {
    const { rows } = await service.db.query(
      `SELECT data->>'${field}' AS name, count(*)::int AS n FROM events
       WHERE tenant = $1 AND type = $2 AND data->>'${field}' = ANY($3::text[]) GROUP BY 1`,
      [ACCOUNT, type, values],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.n]));
  };

  it('creates a directory once: one success, one ResourceAlreadyExists, one DirectoryCreated event', async () => {
    const share: ShareClient = service.serviceClient().getShareClient(uniqueShare('race'));
    await share.create();
    const names: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const name = `race-${round}`;
      names.push(name);
      // Two clients, so the calls do not share a connection and really overlap on the server.
      const [a, b] = [service.serviceClient(), service.serviceClient()].map((c) =>
        c.getShareClient(share.name).getDirectoryClient(name),
      );
      expectOneWinner(await Promise.allSettled([a.create(), b.create()]), 409, 'ResourceAlreadyExists');
    }
    // Paths repeat across shares, so count only this share's: its directories' streams.
    const { rows } = await service.db.query(
      `SELECT e.data->>'path' AS name, count(*)::int AS n FROM events e
       WHERE e.tenant = $1 AND e.type = 'DirectoryCreated'
         AND e.stream_id IN (SELECT 'node-' || n.file_id FROM nodes n JOIN shares s ON s.share_id = n.share_id WHERE s.tenant = $1 AND s.name = $2)
       GROUP BY 1`,
      [ACCOUNT, share.name],
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, r.n]))).toEqual(Object.fromEntries(names.map((n) => [n, 1])));
    const listed: string[] = [];
    for await (const item of share.rootDirectoryClient.listFilesAndDirectories()) listed.push(item.name);
    expect(listed.sort()).toEqual([...names].sort());
  });

  it('creates a share once: one success, one ShareAlreadyExists, one ShareCreated event', async () => {
    const names: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const name = uniqueShare('race');
      names.push(name);
      const [a, b] = [service.serviceClient(), service.serviceClient()].map((c) => c.getShareClient(name));
      expectOneWinner(await Promise.allSettled([a.create(), b.create()]), 409, 'ShareAlreadyExists');
    }
    expect(await countEvents('ShareCreated', 'name', names)).toEqual(Object.fromEntries(names.map((n) => [n, 1])));
  });

  it('deletes a share while directories and files are created and written in it: no 500, nothing of it survives', async () => {
    for (let round = 0; round < 10; round++) {
      const name = uniqueShare('race');
      await service.serviceClient().getShareClient(name).create();
      const { rows } = await service.db.query(`SELECT share_id FROM shares WHERE tenant = $1 AND name = $2`, [
        ACCOUNT,
        name,
      ]);
      const shareId = rows[0].share_id;
      const clients = () => service.serviceClient().getShareClient(name);
      const written = clients().rootDirectoryClient.getFileClient('written');
      const { fileId } = await written.create(4 * 1024 * 1024);
      const results = await Promise.allSettled([
        clients().delete(),
        ...Array.from({ length: 4 }, (_, i) => clients().getDirectoryClient(`d${i}`).create()),
        ...Array.from({ length: 4 }, (_, i) => clients().rootDirectoryClient.getFileClient(`f${i}`).create(1)),
        ...Array.from({ length: 4 }, (_, i) =>
          clients()
            .rootDirectoryClient.getFileClient('written')
            .uploadRange(Buffer.alloc(1024, 7), i * 1024 * 1024, 1024),
        ),
      ]);
      expect(results[0].status).toBe('fulfilled');
      for (const result of results.slice(1)) {
        // A create either ran before the delete (and was deleted with the share) or finds no share.
        if (result.status === 'rejected') expect((result.reason as RestError).code).toBe('ShareNotFound');
      }
      const bytes = await service.db.query(`SELECT chunk_no FROM file_chunks WHERE file_id = $1`, [fileId]);
      expect(bytes.rows).toEqual([]);
      // A node left behind would be an orphan of a deleted share (and would come back in a rebuild).
      const left = await service.db.query(`SELECT path FROM nodes WHERE share_id = $1`, [shareId]);
      expect(left.rows).toEqual([]);
    }
  });

  it('creates the same file twice at once: both succeed (Create File overwrites), one file remains', async () => {
    const share: ShareClient = service.serviceClient().getShareClient(uniqueShare('race'));
    await share.create();
    for (let round = 0; round < 5; round++) {
      const [a, b] = [service.serviceClient(), service.serviceClient()].map((c) =>
        c.getShareClient(share.name).rootDirectoryClient.getFileClient(`f-${round}`),
      );
      const results = await Promise.allSettled([a.create(3), b.create(4)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect([3, 4]).toContain((await a.getProperties()).contentLength);
    }
    const listed: string[] = [];
    for await (const item of share.rootDirectoryClient.listFilesAndDirectories()) listed.push(item.name);
    expect(listed.sort()).toEqual(['f-0', 'f-1', 'f-2', 'f-3', 'f-4']);
  });
});
