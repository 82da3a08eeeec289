import { Injectable } from '@nestjs/common';
import { CommandContext, evolveNode, NodeEvent, NodeState } from '@leasehold/domain';
import {
  AppendRequest,
  Batcher,
  ConcurrencyError,
  EventStore,
  eventMetadata,
  isDeadlock,
  SqlExecutor,
} from '@leasehold/event-store';
import { writeBatchSize } from '@leasehold/observability';
import { Located, nodeStream, NodeRepository } from './node.repository';
import { RecentNodes } from './recent-nodes';

/** An update of an existing node, for the next batch. */
interface QueuedUpdate {
  request: Omit<AppendRequest, 'projection'>;
  located: Located;
  after: NodeState;
}

/**
 * Appends a node's events together with its projected row, in one statement: the row's version
 * guard is the optimistic-concurrency check, so state read before deciding is the state written over.
 *
 * Updates of existing nodes made outside a caller's transaction (lease actions, directory metadata)
 * are batched: those arriving while earlier batches are in flight share one statement and one
 * commit, each still guarded by its own node's version, so one update's conflict fails only that
 * update. Under load this is what keeps PostgreSQL's per-statement cost off each lease action.
 * What it commits on its own it remembers in RecentNodes.
 */
@Injectable()
export class NodeWriter {
  /** Up to 64 updates a statement, four statements in flight; one update of a node in flight at a time. */
  private readonly batches = new Batcher<QueuedUpdate, boolean>((batch) => this.write(batch), {
    maxBatch: 64,
    maxInFlight: 4,
    key: (update) => update.after.fileId,
  });

  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly recent: RecentNodes,
  ) {}

  async commit(
    context: CommandContext,
    located: Located,
    events: NodeEvent[],
    sql?: SqlExecutor,
  ): Promise<NodeState | undefined> {
    const before = located.node;
    const after = events.reduce<NodeState | undefined>(evolveNode, before);
    if (events.length === 0) return after;
    const expectedVersion = before?.version ?? 0;
    const request = {
      tenant: context.tenant,
      streamId: nodeStream((after ?? before)!.fileId),
      expectedVersion,
      events,
      metadata: eventMetadata(context),
    };
    try {
      if (!sql && before && after) {
        if (!(await this.batches.submit({ request, located, after })))
          throw new ConcurrencyError(request.tenant, request.streamId, expectedVersion);
        return after; // remembered by write()
      }
      await this.store.append(
        { ...request, projection: this.nodes.projectNode(context.tenant, located, after, expectedVersion) },
        sql,
      );
    } catch (error) {
      if (error instanceof ConcurrencyError) this.recent.forget(context.tenant, located);
      throw error;
    }
    // Inside a caller's transaction the write may yet roll back: nothing to remember until it commits.
    if (sql) this.recent.forget(context.tenant, located);
    else this.recent.remember(context.tenant, { ...located, node: after });
    return after;
  }

  /**
   * Commits one batch; per update, whether it applied (false: its node had moved on, or a deadlock
   * says decide again). An update decided on a state this process has since overwritten fails
   * without a statement: on a hot file, every request decided on the state before the winner's
   * write would otherwise send its own doomed statement. What applies is remembered before the
   * next batch holding the same node goes out (the Batcher keeps one update of a node in flight).
   */
  private async write(batch: QueuedUpdate[]): Promise<boolean[]> {
    const live = batch.filter((u) => !this.recent.superseded(u.request.tenant, u.located));
    if (live.length === 0) return batch.map(() => false);
    // Rows locked in one order by every batch, so that two batches never wait for each other in a cycle.
    live.sort((a, b) => Number(BigInt(a.after.fileId) - BigInt(b.after.fileId)));
    writeBatchSize.observe(live.length);
    let applied: boolean[];
    try {
      applied = await this.store.appendEach(
        live.map((u) => u.request),
        this.nodes.projectNodeUpdates(
          live.map((u) => ({
            tenant: u.request.tenant,
            located: u.located,
            state: u.after,
            expectedVersion: u.request.expectedVersion,
          })),
        ),
      );
    } catch (error) {
      // A deadlock with some other writer's transaction only means: decide again.
      if (isDeadlock(error) || error instanceof ConcurrencyError) return batch.map(() => false);
      throw error;
    }
    live.forEach((u, i) => {
      if (applied[i]) this.recent.remember(u.request.tenant, { ...u.located, node: u.after });
    });
    return batch.map((u) => {
      const i = live.indexOf(u);
      return i >= 0 && applied[i];
    });
  }
}
