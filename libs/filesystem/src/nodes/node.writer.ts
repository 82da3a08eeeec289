import { Injectable } from '@nestjs/common';
import { CommandContext, evolveNode, NodeEvent, NodeState } from '@leasehold/domain';
import {
  AppendRequest,
  Batcher,
  ConcurrencyError,
  EventStore,
  eventMetadata,
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
        return after; // remembered by write(), before any later write of the node went out
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

  /** Commits one batch (EventStore.appendBatch); per update, whether it applied. */
  private write(batch: QueuedUpdate[]): Promise<boolean[]> {
    return this.store.appendBatch(batch, {
      superseded: (u) => this.recent.superseded(u.request.tenant, u.located),
      rowId: (u) => u.after.fileId,
      statement: (live) => {
        writeBatchSize.observe(live.length);
        return this.nodes.projectNodeUpdates(
          live.map((u) => ({
            tenant: u.request.tenant,
            located: u.located,
            state: u.after,
            expectedVersion: u.request.expectedVersion,
          })),
        );
      },
      applied: (u) => this.recent.remember(u.request.tenant, { ...u.located, node: u.after }),
    });
  }
}
