import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandContext, DomainError } from '@leasehold/domain';
import { ConcurrencyError, EventStore, eventMetadata, retryOnConcurrency } from '@leasehold/event-store';
import { newEtag } from '../etag';
import { NodeRepository } from '../nodes/node.repository';
import { OPEN_HANDLES, OpenHandles } from '../ports';
import { ShareEvent, shareStream } from './share.events';

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
    // The share row is the guard: of two concurrent creates, one inserts it and appends; the other appends nothing.
    const appended = await this.store
      .append({
        tenant: context.tenant,
        streamId: shareStream(shareId),
        expectedVersion: 0,
        events: [created],
        metadata: eventMetadata(context),
        projection: this.nodes.projectShareCreated(context.tenant, created.data),
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
    @Inject(OPEN_HANDLES) private readonly handles: OpenHandles,
  ) {}

  /** Deletes the share and everything in it, leased files included (Azure allows it). */
  async execute({ context, name }: DeleteShareCommand) {
    await retryOnConcurrency(async () => {
      const share = await this.nodes.findShare(context.tenant, name);
      if (!share) throw new DomainError('ShareNotFound');
      await this.store.transaction(async (sql) => {
        // Lock the share first: nothing is created in it from here on.
        if (!(await this.nodes.lockShare(share.shareId, sql)))
          throw new ConcurrencyError(context.tenant, shareStream(share.shareId), share.version);
        await this.nodes.deleteShareNodes(share.shareId, sql);
        // Handles open in the share close with it, each with its event, so the audit trail never shows them open afterwards.
        await this.handles.closeAllInShare(context, share.shareId, sql);
        const deleted: ShareEvent = { type: 'ShareDeleted', data: { shareId: share.shareId, name } };
        await this.store.append(
          {
            tenant: context.tenant,
            streamId: shareStream(share.shareId),
            expectedVersion: share.version,
            events: [deleted],
            metadata: eventMetadata(context),
            projection: this.nodes.projectShareDeleted(share.shareId, share.version),
          },
          sql,
        );
      });
    });
  }
}
