// NodeWriter's batched updates on the real PostgreSQL: updates of existing nodes made outside a
// transaction while earlier ones are in flight share one statement and one transaction, and each
// is still guarded by its own node's version.
import { CommandContext, decideLease, LeaseCommand, NodeEvent } from '../../libs/domain/src';
import { ConcurrencyError } from '../../libs/event-store/src';
import { Located, NodeRepository, NodeWriter } from '../../libs/filesystem/src';
import { writeBatchSize } from '../../libs/observability/src';
import { startTestService, TestService, uniqueShare } from '../support/service';

const ACCOUNT = 'devstoreaccount1';
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

describe('NodeWriter: batched node updates', () => {
  let service: TestService;
  let nodes: NodeRepository;
  let writer: NodeWriter;
  const share = uniqueShare('batch');

  beforeAll(async () => {
    service = await startTestService();
    nodes = service.api.app.get(NodeRepository);
    writer = service.api.app.get(NodeWriter);
    const client = service.serviceClient().getShareClient(share);
    await client.create();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.rootDirectoryClient.getFileClient(`f${i}`).create(0)),
    );
    await client.rootDirectoryClient.getFileClient('hot').create(0);
  });

  afterAll(() => service?.stop());

  const context = (i: number): CommandContext => ({
    requestId: id(0xb000 + i),
    tenant: ACCOUNT,
    principal: ACCOUNT,
    authentication: 'SharedKey',
    now: new Date(),
  });

  function acquireEvents(located: Located, leaseId: string): NodeEvent[] {
    const command: LeaseCommand = { action: 'acquire', proposedLeaseId: leaseId, generatedLeaseId: leaseId };
    const decision = decideLease(command, located.node!.lease);
    if ('error' in decision) throw new Error(decision.error);
    return decision.events;
  }

  it('updates issued together share transactions; a stale one fails alone and the rest commit', async () => {
    const located = await Promise.all(Array.from({ length: 20 }, (_, i) => nodes.locate(ACCOUNT, share, [`f${i}`])));
    // f7 moves on behind the writer's back: the update below, decided on the old state, is stale.
    const moved = await writer.commit(context(100), located[7], acquireEvents(located[7], id(100)), undefined);
    expect(moved?.lease).toMatchObject({ status: 'leased', leaseId: id(100) });

    // All twenty in one tick: the first few go out alone, the rest wait and go out together.
    const outcomes = await Promise.all(
      located.map((l, i) =>
        writer.commit(context(i), l, acquireEvents(l, id(i))).then(
          () => 'committed',
          (e) => (e instanceof ConcurrencyError ? 'conflict' : `error ${e}`),
        ),
      ),
    );
    expect(outcomes).toEqual(located.map((_, i) => (i === 7 ? 'conflict' : 'committed')));

    const { rows } = await service.db.query(
      `SELECT stream_id, stream_version, data->>'leaseId' AS lease, metadata->>'requestId' AS request, transaction_id::text AS txid
       FROM events WHERE tenant = $1 AND type = 'LeaseAcquired' AND stream_id = ANY($2) ORDER BY stream_id`,
      [ACCOUNT, located.map((l) => `node-${l.node!.fileId}`)],
    );
    // One acquire per file, at the version after the one decided on, by the request that asked; f7 keeps the other holder's.
    expect(rows).toHaveLength(20);
    for (const [i, l] of located.entries()) {
      const row = rows.find((r) => r.stream_id === `node-${l.node!.fileId}`);
      expect(row).toMatchObject(
        i === 7
          ? { lease: id(100), request: id(0xb000 + 100) }
          : { lease: id(i), request: id(0xb000 + i), stream_version: l.node!.version + 1 },
      );
    }
    const batched = rows.filter((r) => r.request !== id(0xb000 + 100));
    expect(new Set(batched.map((r) => r.txid)).size).toBeLessThan(batched.length);

    // The projected rows agree with the events.
    const { rows: projected } = await service.db.query(
      `SELECT path, lease_state, lease_id, version FROM nodes WHERE share_id = $1 AND kind = 'file' AND path <> 'hot' ORDER BY path`,
      [located[0].share.shareId],
    );
    expect(projected).toHaveLength(20);
    for (const row of projected) {
      const i = Number(row.path.slice(1));
      expect(row).toMatchObject({
        lease_state: 'leased',
        lease_id: i === 7 ? id(100) : id(i),
        version: located[i].node!.version + 1,
      });
    }
  });
  it('sends one statement for updates of one file decided on one state: the first wins, the rest fail without a statement', async () => {
    const file = await nodes.locate(ACCOUNT, share, ['hot']);
    const statements = async () =>
      (await writeBatchSize.get()).values.find((v) => v.metricName?.endsWith('_count'))!.value;
    const before = await statements();
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        writer.commit(context(200 + i), file, acquireEvents(file, id(200 + i))).then(
          () => 'committed',
          (e) => (e instanceof ConcurrencyError ? 'conflict' : `error ${e}`),
        ),
      ),
    );
    expect(outcomes).toEqual(['committed', ...Array(15).fill('conflict')]);
    expect((await statements()) - before).toBe(1);
    const { rows } = await service.db.query(
      `SELECT metadata->>'requestId' AS request FROM events WHERE tenant = $1 AND stream_id = $2 AND stream_version > $3`,
      [ACCOUNT, `node-${file.node!.fileId}`, file.node!.version],
    );
    expect(rows).toEqual([{ request: id(0xb000 + 200) }]);
  });
});
