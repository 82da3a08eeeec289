import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  CommandContext,
  decideShareDelete,
  DomainError,
  observeShareLease,
  ShareLeaseEvent,
  viewShareLease,
} from '@leasehold/domain';
import { ConcurrencyError, EventStore, eventMetadata, retryOnConcurrency, SqlExecutor } from '@leasehold/event-store';
import { NodeRepository } from '../nodes/node.repository';
import {
  evolveShare,
  forLeaseSubject,
  ShareEvent,
  ShareSnapshot,
  snapshotLease,
  ShareState,
  shareStream,
} from '../shares/share.events';
import { ReadShare, ShareRepository } from '../shares/share.repository';
import { SnapshotRepository } from './snapshot.repository';

/** Azure's limit of snapshots per share. */
export const MAX_SHARE_SNAPSHOTS = 200;

/** Snapshot Share: metadata given replaces the share's (Azure copies the share's when none is given). */
export class CreateShareSnapshotCommand extends Command<ShareSnapshot> {
  constructor(
    readonly context: CommandContext,
    readonly name: string,
    readonly metadata: Record<string, string> | undefined,
  ) {
    super();
  }
}

/**
 * Locks the share's row until the transaction ends (content writes in the share share-lock it, so
 * they wait, and those in progress are waited for) and reads it afresh; ShareNotFound when it is gone.
 */
export async function lockedShare(
  shares: ShareRepository,
  nodes: NodeRepository,
  tenant: string,
  name: string,
  sql: SqlExecutor,
): Promise<ReadShare> {
  const found = await shares.find(tenant, name, sql);
  if (!found) throw new DomainError('ShareNotFound');
  if (!(await nodes.lockShare(found.shareId, sql))) throw new DomainError('ShareNotFound');
  // Read committed: this statement sees whatever committed while the lock was awaited.
  const share = await shares.find(tenant, name, sql);
  if (!share || share.shareId !== found.shareId) throw new ConcurrencyError(tenant, shareStream(found.shareId), 0);
  return share;
}

/** Appends snapshot events to the share's stream with their projection (the row's snapshots); the share as they leave it. */
async function recordSnapshotEvents(
  store: EventStore,
  shares: ShareRepository,
  context: CommandContext,
  share: ReadShare,
  events: Array<ShareEvent | ShareLeaseEvent>,
  sql: SqlExecutor,
): Promise<ShareState> {
  const next = events.reduce<ShareState>((state, event) => evolveShare(state, event)!, share);
  await store.append(
    {
      tenant: context.tenant,
      streamId: shareStream(share.shareId),
      expectedVersion: share.version,
      events,
      metadata: eventMetadata(context),
      projection: shares.projectSnapshots(next, share.version),
    },
    sql,
  );
  return next;
}

/**
 * A snapshot is the PostgreSQL snapshot taken once the share is locked: it sees every write to the
 * share that committed, none in progress (they wait for the lock), and exactly the events of those
 * transactions. Recording it is one event on the share's stream; nothing is copied.
 */
@CommandHandler(CreateShareSnapshotCommand)
export class CreateShareSnapshotHandler implements ICommandHandler<CreateShareSnapshotCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly shares: ShareRepository,
    private readonly snapshots: SnapshotRepository,
  ) {}

  execute({ context, name, metadata }: CreateShareSnapshotCommand): Promise<ShareSnapshot> {
    return retryOnConcurrency(() =>
      this.store.transaction(async (sql) => {
        const share = await lockedShare(this.shares, this.nodes, context.tenant, name, sql);
        if (share.snapshots.length >= MAX_SHARE_SNAPSHOTS)
          throw new DomainError('ShareSnapshotCountExceeded', { limit: MAX_SHARE_SNAPSHOTS });
        const point = await this.snapshots.takePoint(sql);
        // Two snapshots of a share within one microsecond would share a name: the second tries again.
        if (share.snapshots.some((s) => s.snapshot === point.name))
          throw new ConcurrencyError(context.tenant, shareStream(share.shareId), share.version);
        const snapshot: ShareSnapshot = {
          snapshot: point.name,
          pgSnapshot: point.pgSnapshot,
          position: point.position,
          shareVersion: share.version,
          metadata: metadata ?? share.metadata,
          etag: share.etag,
          lastModified: share.lastModified,
          quota: share.quota,
        };
        await recordSnapshotEvents(
          this.store,
          this.shares,
          context,
          share,
          [{ type: 'ShareSnapshotCreated', data: snapshot }],
          sql,
        );
        return snapshot;
      }),
    );
  }
}

/** Delete Share with sharesnapshot: that snapshot only; a leased one only with its lease id. */
export class DeleteShareSnapshotCommand extends Command<void> {
  constructor(
    readonly context: CommandContext,
    readonly name: string,
    readonly snapshot: string,
    /** x-ms-lease-id: needed while the snapshot is leased. */
    readonly leaseId?: string,
  ) {
    super();
  }
}

@CommandHandler(DeleteShareSnapshotCommand)
export class DeleteShareSnapshotHandler implements ICommandHandler<DeleteShareSnapshotCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly shares: ShareRepository,
    private readonly snapshots: SnapshotRepository,
  ) {}

  /**
   * Decided with the share's row locked (a lease write on the snapshot waits, then finds the stream
   * moved on) on the snapshot's lease as read after the lock, at PostgreSQL's clock, with the same
   * rule as the share's own lease: a locked snapshot goes only with its lease id.
   */
  execute({ context, name, snapshot, leaseId }: DeleteShareSnapshotCommand): Promise<void> {
    return retryOnConcurrency(() =>
      this.store.transaction(async (sql) => {
        const share = await lockedShare(this.shares, this.nodes, context.tenant, name, sql);
        const taken = share.snapshots.find((s) => s.snapshot === snapshot);
        if (!taken) throw new DomainError('ShareNotFound');
        const lease = snapshotLease(taken);
        const refusal = decideShareDelete(viewShareLease(lease, share.readAt), leaseId);
        if (refusal) throw new DomainError(refusal.reason, refusal.facts);
        // A lapse of its lease nobody recorded yet goes in the log before the snapshot goes.
        const next = await recordSnapshotEvents(
          this.store,
          this.shares,
          context,
          share,
          [
            ...forLeaseSubject(observeShareLease(lease, share.readAt), snapshot),
            { type: 'ShareSnapshotDeleted', data: { snapshot } },
          ],
          sql,
        );
        await this.snapshots.dropUnseenVersions(share.shareId, next.snapshots, sql);
      }),
    );
  }
}
