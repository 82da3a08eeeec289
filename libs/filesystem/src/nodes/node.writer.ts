import { Injectable } from '@nestjs/common';
import { evolveNode, NodeEvent, NodeState } from '@leasehold/domain';
import { EventStore, SqlExecutor } from '@leasehold/event-store';
import { eventMetadata, RequestContext } from '@leasehold/wire';
import { Located, nodeStream, NodeRepository } from './node.repository';

/**
 * Appends a node's events together with its projected row, in one statement: the row's version
 * guard is the optimistic-concurrency check, so state read before deciding is the state written over.
 */
@Injectable()
export class NodeWriter {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
  ) {}

  async commit(context: RequestContext, located: Located, events: NodeEvent[], sql?: SqlExecutor): Promise<NodeState | undefined> {
    const before = located.node;
    const after = events.reduce<NodeState | undefined>(evolveNode, before);
    if (events.length === 0) return after;
    const expectedVersion = before?.version ?? 0;
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
    return after;
  }
}
