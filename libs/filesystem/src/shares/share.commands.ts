import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  CommandContext,
  decideShareDelete,
  decideSnapshotsDelete,
  DeleteSnapshotsOption,
  DomainError,
  observeShareLease,
  SignedIdentifier,
  viewShareLease,
} from '@leasehold/domain';
import { ConcurrencyError, EventStore, eventMetadata, retryOnConcurrency } from '@leasehold/event-store';
import { newEtag } from '../etag';
import { NodeRepository } from '../nodes/node.repository';
import { OPEN_HANDLES, OpenHandles } from '../ports';
import { SnapshotRepository } from '../snapshots/snapshot.repository';
import {
  AccessTier,
  evolveShare,
  forLeaseSubject,
  ShareEvent,
  snapshotLease,
  ShareState,
  shareStream,
} from './share.events';
import { ShareRepository } from './share.repository';

export class CreateShareCommand extends Command<{ etag: string; lastModified: Date }> {
  constructor(
    readonly context: CommandContext,
    readonly name: string,
    readonly quota: number,
    readonly metadata: Record<string, string>,
  ) {
    super();
  }
}

export class DeleteShareCommand extends Command<void> {
  constructor(
    readonly context: CommandContext,
    readonly name: string,
    /** x-ms-lease-id: needed while the share is leased. */
    readonly leaseId?: string,
    /** x-ms-delete-snapshots: needed while the share has snapshots, which then go with it (leased ones only with include-leased). */
    readonly deleteSnapshots?: DeleteSnapshotsOption,
  ) {
    super();
  }
}

@CommandHandler(CreateShareCommand)
export class CreateShareHandler implements ICommandHandler<CreateShareCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
  ) {}

  async execute({ context, name, quota, metadata }: CreateShareCommand) {
    const shareId = await this.nodes.nextId();
    const etag = newEtag();
    const at = context.now;
    const created: ShareEvent = { type: 'ShareCreated', data: { shareId, name, quota, metadata, etag, at } };
    const state = evolveShare(undefined, created)!;
    // The share row is the guard: of two concurrent creates, one inserts it and appends; the other appends nothing.
    const appended = await this.store
      .append({
        tenant: context.tenant,
        streamId: shareStream(shareId),
        expectedVersion: 0,
        events: [created],
        metadata: eventMetadata(context),
        projection: this.nodes.projectShareCreated(context.tenant, state),
      })
      .then(() => true)
      .catch((error) => {
        if (error instanceof ConcurrencyError) return false;
        throw error;
      });
    if (!appended) throw new DomainError('ShareAlreadyExists');
    return { etag, lastModified: at };
  }
}

@CommandHandler(DeleteShareCommand)
export class DeleteShareHandler implements ICommandHandler<DeleteShareCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly shares: ShareRepository,
    private readonly snapshots: SnapshotRepository,
    @Inject(OPEN_HANDLES) private readonly handles: OpenHandles,
  ) {}

  /**
   * Deletes the share and everything in it, leased files included (Azure allows it); a leased
   * share only with its lease id, decided on the database's clock like every share lease decision.
   */
  async execute({ context, name, leaseId, deleteSnapshots }: DeleteShareCommand) {
    await retryOnConcurrency(async () => {
      const share = await this.shares.find(context.tenant, name);
      if (!share) throw new DomainError('ShareNotFound');
      if (share.snapshots.length > 0 && !deleteSnapshots) throw new DomainError('ShareHasSnapshots');
      const refusal =
        decideShareDelete(viewShareLease(share.lease, share.readAt), leaseId) ??
        (deleteSnapshots &&
          decideSnapshotsDelete(
            share.snapshots.map((s) => viewShareLease(snapshotLease(s), share.readAt)),
            deleteSnapshots,
          ));
      if (refusal) throw new DomainError(refusal.reason, refusal.facts);
      await this.store.transaction(async (sql) => {
        // Lock the share first: nothing is created in it from here on.
        if (!(await this.nodes.lockShare(share.shareId, sql)))
          throw new ConcurrencyError(context.tenant, shareStream(share.shareId), share.version);
        await this.nodes.deleteShareNodes(share.shareId, sql);
        await this.snapshots.dropVersions(share.shareId, sql);
        // Handles open in the share close with it, each with its event, so the audit trail never shows them open afterwards.
        await this.handles.closeAllInShare(context, share.shareId, sql);
        const deleted: ShareEvent = {
          type: 'ShareDeleted',
          data: {
            shareId: share.shareId,
            name,
            ...(share.snapshots.length > 0 ? { snapshotsDeleted: share.snapshots.length } : {}),
          },
        };
        // A lapse nobody recorded yet, of the share's lease or a snapshot's, goes in the log before the share goes.
        const events = [
          ...observeShareLease(share.lease, share.readAt),
          ...share.snapshots.flatMap((s) =>
            forLeaseSubject(observeShareLease(snapshotLease(s), share.readAt), s.snapshot),
          ),
          deleted,
        ];
        await this.store.append(
          {
            tenant: context.tenant,
            streamId: shareStream(share.shareId),
            expectedVersion: share.version,
            events,
            metadata: eventMetadata(context),
            projection: this.nodes.projectShareDeleted(share.shareId, share.version),
          },
          sql,
        );
      });
    });
  }
}

/** A change to an existing share's settings: each is one event on the share's stream. */
export type ShareChange =
  | { kind: 'metadata'; metadata: Record<string, string> }
  | { kind: 'properties'; quota?: number; accessTier?: AccessTier }
  | { kind: 'acl'; signedIdentifiers: SignedIdentifier[] };

export class ChangeShareCommand extends Command<ShareState> {
  constructor(
    readonly context: CommandContext,
    readonly name: string,
    readonly change: ShareChange,
  ) {
    super();
  }
}

/** Set Share Metadata, Set Share Properties and Set Share ACL: the event and the share's new row, guarded by its version. */
@CommandHandler(ChangeShareCommand)
export class ChangeShareHandler implements ICommandHandler<ChangeShareCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly shares: ShareRepository,
  ) {}

  async execute({ context, name, change }: ChangeShareCommand): Promise<ShareState> {
    return retryOnConcurrency(async () => {
      const share = await this.shares.find(context.tenant, name);
      if (!share) throw new DomainError('ShareNotFound');
      const event = changeEvent(share, change, { etag: newEtag(), at: context.now.toISOString() });
      const next = evolveShare(share, event)!;
      await this.store.append({
        tenant: context.tenant,
        streamId: shareStream(share.shareId),
        expectedVersion: share.version,
        events: [event],
        metadata: eventMetadata(context),
        projection: this.shares.projectSettings(context.tenant, next, share.version),
      });
      return next;
    });
  }
}

function changeEvent(share: ShareState, change: ShareChange, stamp: { etag: string; at: string }): ShareEvent {
  switch (change.kind) {
    case 'metadata':
      return { type: 'ShareMetadataSet', data: { ...stamp, metadata: change.metadata } };
    case 'acl':
      return { type: 'ShareAclSet', data: { ...stamp, signedIdentifiers: change.signedIdentifiers } };
    case 'properties': {
      const accessTier = change.accessTier ?? share.accessTier;
      return {
        type: 'SharePropertiesSet',
        data: {
          ...stamp,
          quota: change.quota ?? share.quota,
          accessTier,
          accessTierChanged: accessTier !== share.accessTier,
        },
      };
    }
  }
}
