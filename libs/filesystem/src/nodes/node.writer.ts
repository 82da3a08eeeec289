import { Injectable } from '@nestjs/common';
import { CommandContext, evolveNode, NodeEvent, NodeState } from '@leasehold/domain';
import {
  AppendRequest,
  ConcurrencyError,
  EventStore,
  eventMetadata,
  isDeadlock,
  SqlExecutor,
} from '@leasehold/event-store';
import { writeBatchSize } from '@leasehold/observability';
import { Located, nodeStream, NodeRepository } from './node.repository';
import { RecentNodes } from './recent-nodes';

/** An update of an existing node waiting for the next batch. */
interface QueuedUpdate {
  request: Omit<AppendRequest, 'projection'>;
  located: Located;
  after: NodeState;
  done(error?: Error): void;
}

/** Updates in one batch at most. */
const MAX_BATCH = 64;
/**
 * Batches in flight at once: enough to keep PostgreSQL busy on a few cores, few enough that the
 * updates arriving meanwhile gather into the next batch instead of each taking a connection.
 */
const MAX_IN_FLIGHT = 4;

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
  private queue: QueuedUpdate[] = [];
  private inFlight = 0;

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
        await new Promise<void>((resolve, reject) => {
          this.queue.push({ request, located, after, done: (error) => (error ? reject(error) : resolve()) });
          this.pump();
        });
      } else {
        await this.store.append(
          { ...request, projection: this.nodes.projectNode(context.tenant, located, after, expectedVersion) },
          sql,
        );
      }
    } catch (error) {
      if (error instanceof ConcurrencyError) this.recent.forget(context.tenant, located);
      throw error;
    }
    // Inside a caller's transaction the write may yet roll back: nothing to remember until it commits.
    if (sql) this.recent.forget(context.tenant, located);
    else this.recent.remember(context.tenant, { ...located, node: after });
    return after;
  }

  /** Starts batches while fewer than MAX_IN_FLIGHT run; a node appears at most once per batch. */
  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const batch: QueuedUpdate[] = [];
      const waiting: QueuedUpdate[] = [];
      const nodes = new Set<string>();
      for (const update of this.queue) {
        const node = update.after.fileId;
        if (batch.length < MAX_BATCH && !nodes.has(node)) {
          nodes.add(node);
          batch.push(update);
        } else {
          waiting.push(update);
        }
      }
      this.queue = waiting;
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async write(batch: QueuedUpdate[]): Promise<void> {
    // Rows locked in one order by every batch, so that two batches never wait for each other in a cycle.
    batch.sort((a, b) => Number(BigInt(a.after.fileId) - BigInt(b.after.fileId)));
    writeBatchSize.observe(batch.length);
    try {
      const applied = await this.store.appendEach(
        batch.map((u) => u.request),
        this.nodes.projectNodeUpdates(
          batch.map((u) => ({
            tenant: u.request.tenant,
            located: u.located,
            state: u.after,
            expectedVersion: u.request.expectedVersion,
          })),
        ),
      );
      batch.forEach((u, i) =>
        u.done(
          applied[i]
            ? undefined
            : new ConcurrencyError(u.request.tenant, u.request.streamId, u.request.expectedVersion),
        ),
      );
    } catch (error) {
      // A deadlock with some other writer's transaction only means: decide again.
      const retry = isDeadlock(error) || error instanceof ConcurrencyError;
      batch.forEach((u) =>
        u.done(
          retry
            ? new ConcurrencyError(u.request.tenant, u.request.streamId, u.request.expectedVersion)
            : (error as Error),
        ),
      );
    }
  }
}
