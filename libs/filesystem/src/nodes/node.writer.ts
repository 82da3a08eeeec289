import { Injectable } from '@nestjs/common';
import { evolveNode, NodeEvent, NodeState } from '@leasehold/domain';
import { ConcurrencyError, EventStore, SqlExecutor } from '@leasehold/event-store';
import { eventMetadata, RequestContext } from '@leasehold/wire';
import { Located, nodeStream, NodeRepository } from './node.repository';
import { RecentNodes } from './recent-nodes';

/**
 * Appends a node's events together with its projected row, in one statement: the row's version
 * guard is the optimistic-concurrency check, so state read before deciding is the state written over.
 * What it commits on its own (outside a caller's transaction) it remembers in RecentNodes.
 */
@Injectable()
export class NodeWriter {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly recent: RecentNodes,
  ) {}

  async commit(context: RequestContext, located: Located, events: NodeEvent[], sql?: SqlExecutor): Promise<NodeState | undefined> {
    const before = located.node;
    const after = events.reduce<NodeState | undefined>(evolveNode, before);
    if (events.length === 0) return after;
    const expectedVersion = before?.version ?? 0;
    try {
      await this.store.append(
        {
          tenant: context.account,
          streamId: nodeStream((after ?? before)!.fileId),
          expectedVersion,
          events,
          metadata: eventMetadata(context),
          projection: this.nodes.projectNode(context.account, located, after, expectedVersion),
        },
        sql,
      );
    } catch (error) {
      if (error instanceof ConcurrencyError) this.recent.forget(context.account, located);
      throw error;
    }
    // Inside a caller's transaction the write may yet roll back: nothing to remember until it commits.
    if (sql) this.recent.forget(context.account, located);
    else this.recent.remember(context.account, { ...located, node: after });
    return after;
  }
}
