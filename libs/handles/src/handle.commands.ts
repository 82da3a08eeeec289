import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { CommandContext, DomainError } from '@leasehold/domain';
import { EventStore } from '@leasehold/event-store';
import { gateAccess, NodeRepository } from '@leasehold/filesystem';
import { AccessRight, HandleOpened } from './handle.events';
import { ClosedChunk, HandleRepository, HandleScope } from './handle.repository';
import { HandlePosition } from './markers';

export interface OpenedHandle {
  handleId: string;
  fileId: string;
  sessionId: string;
}

export class OpenHandleCommand extends Command<OpenedHandle> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly access: AccessRight[],
    readonly leaseId: string | undefined,
    readonly clientName: string,
    readonly clientIp: string,
    readonly sessionId: string | undefined,
  ) {
    super();
  }
}

export class CloseHandleCommand extends Command<void> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly handleId: string,
    readonly sessionId: string,
  ) {
    super();
  }
}

/** How long a repeated Force Close Handles gets the original answer: longer than any SDK's retries of one request. */
const FORCE_CLOSE_REPLAY_MS = 10 * 60_000;

export class ForceCloseHandlesCommand extends Command<ClosedChunk> {
  constructor(
    readonly context: CommandContext,
    readonly scope: HandleScope,
    readonly after: HandlePosition | undefined,
  ) {
    super();
  }
}

/**
 * Registers a handle that a client holds open. The node's row is locked while the handle is
 * checked and recorded, so the lease and the open-handle count it was checked against cannot
 * change underneath it, and a delete cannot slip past it.
 */
@CommandHandler(OpenHandleCommand)
export class OpenHandleHandler implements ICommandHandler<OpenHandleCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly handles: HandleRepository,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  execute(c: OpenHandleCommand): Promise<OpenedHandle> {
    return this.store.transaction(async (sql) => {
      const first = await this.nodes.locate(c.context.tenant, c.share, c.path, sql);
      await this.nodes.lockNode(first.share.shareId, first.key, sql);
      const located = await this.nodes.locate(c.context.tenant, c.share, c.path, sql);
      const node = located.node;
      if (c.path.length > 0 && !node)
        throw new DomainError(located.parentExists ? 'ResourceNotFound' : 'ParentNotFound');
      if (node?.kind === 'file') {
        // A lease gives exclusive write and delete access: opening for either needs the lease id.
        const writes = c.access.includes('Write') || c.access.includes('Delete');
        if (writes && node.lease.status !== 'broken') gateAccess(node.lease, { kind: 'write', leaseId: c.leaseId });
        else gateAccess(node.lease, { kind: 'read', leaseId: c.leaseId });
      }
      const limit = c.path.length === 0 ? this.config.handleLimitShareRoot : this.config.handleLimitPerNode;
      if ((await this.handles.countOn(located.share.shareId, located.key, sql)) >= limit)
        throw new DomainError('HandleLimitExceeded', { limit });
      const ids = this.handles.nextIds();
      const opened: HandleOpened = {
        shareId: located.share.shareId,
        handleId: ids.handleId,
        fileId: node?.fileId ?? '0',
        parentId: node?.parentId ?? '0',
        sessionId: c.sessionId ?? ids.sessionId,
        path: node?.path ?? '',
        nodeKey: located.key,
        clientName: c.clientName,
        clientIp: c.clientIp,
        access: c.access,
        openTime: c.context.now.toISOString(),
      };
      await this.handles.recordOpened(c.context, opened, sql);
      return { handleId: opened.handleId, fileId: opened.fileId, sessionId: opened.sessionId };
    });
  }
}

/** Closes a handle by its holder: the handle id and the session it was opened in prove who holds it. */
@CommandHandler(CloseHandleCommand)
export class CloseHandleHandler implements ICommandHandler<CloseHandleCommand> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly handles: HandleRepository,
  ) {}

  async execute(c: CloseHandleCommand): Promise<void> {
    const located = await this.nodes.locate(c.context.tenant, c.share, c.path);
    if (!(await this.handles.closeByHolder(c.context, located.share.shareId, located.key, c.handleId, c.sessionId)))
      throw new DomainError('HandleNotOpen');
  }
}

/** One chunk of Force Close Handles, in one transaction. */
@CommandHandler(ForceCloseHandlesCommand)
export class ForceCloseHandlesHandler implements ICommandHandler<ForceCloseHandlesCommand> {
  constructor(
    private readonly handles: HandleRepository,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  /**
   * A retried request (same client request id, within FORCE_CLOSE_REPLAY_MS) gets its original
   * answer: with `*`, running it again would close handles opened since.
   */
  async execute({ context, scope, after }: ForceCloseHandlesCommand): Promise<ClosedChunk> {
    const original = await this.handles.closedBy(
      context,
      scope,
      FORCE_CLOSE_REPLAY_MS,
      this.config.forceCloseChunkSize,
    );
    return original ?? this.handles.forceCloseChunk(context, scope, after, this.config.forceCloseChunkSize);
  }
}
