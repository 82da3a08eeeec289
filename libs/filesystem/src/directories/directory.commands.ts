import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandContext, DomainError, NodeState } from '@leasehold/domain';
import { EventStore, retryOnConcurrency } from '@leasehold/event-store';
import { newEtag } from '../etag';
import { NodeRepository } from '../nodes/node.repository';
import { NodeWriter } from '../nodes/node.writer';
import { OPEN_HANDLES, OpenHandles } from '../ports';

export class CreateDirectoryCommand extends Command<NodeState> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly metadata: Record<string, string>,
  ) {
    super();
  }
}

export class SetDirectoryMetadataCommand extends Command<NodeState> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    /** undefined: Set Directory Properties, which only stamps the directory. */
    readonly metadata: Record<string, string> | undefined,
  ) {
    super();
  }
}

export class DeleteDirectoryCommand extends Command<void> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
  ) {
    super();
  }
}

@CommandHandler(CreateDirectoryCommand)
export class CreateDirectoryHandler implements ICommandHandler<CreateDirectoryCommand> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
  ) {}

  async execute({ context, share, path, metadata }: CreateDirectoryCommand): Promise<NodeState> {
    const fileId = await this.nodes.nextId();
    return retryOnConcurrency(async () => {
      const located = await this.nodes.locate(context.tenant, share, path);
      if (located.node)
        throw new DomainError(located.node.kind === 'directory' ? 'ResourceAlreadyExists' : 'ResourceTypeMismatch');
      if (!located.parentExists) throw new DomainError('ParentNotFound');
      const at = context.now.toISOString();
      const data = {
        shareId: located.share.shareId,
        fileId,
        parentId: located.parentId,
        path: path.join('/'),
        metadata,
        etag: newEtag(),
        at,
      };
      return (await this.writer.commit(context, located, [{ type: 'DirectoryCreated', data }]))!;
    });
  }
}

@CommandHandler(SetDirectoryMetadataCommand)
export class SetDirectoryMetadataHandler implements ICommandHandler<SetDirectoryMetadataCommand> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
  ) {}

  async execute({ context, share, path, metadata }: SetDirectoryMetadataCommand): Promise<NodeState> {
    return retryOnConcurrency(async () => {
      const located = await this.nodes.require(context.tenant, share, path, 'directory');
      const stamp = { etag: newEtag(), at: context.now.toISOString() };
      const event = metadata
        ? ({ type: 'DirectoryMetadataSet', data: { ...stamp, metadata } } as const)
        : ({ type: 'DirectoryPropertiesSet', data: stamp } as const);
      return (await this.writer.commit(context, located, [event]))!;
    });
  }
}

@CommandHandler(DeleteDirectoryCommand)
export class DeleteDirectoryHandler implements ICommandHandler<DeleteDirectoryCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
    @Inject(OPEN_HANDLES) private readonly handles: OpenHandles,
  ) {}

  async execute({ context, share, path }: DeleteDirectoryCommand): Promise<void> {
    await retryOnConcurrency(() =>
      this.store.transaction(async (sql) => {
        const located = await this.nodes.locate(context.tenant, share, path, sql);
        if (!located.node || located.node.kind !== 'directory')
          throw new DomainError(located.parentExists ? 'ResourceNotFound' : 'ParentNotFound');
        // Lock the directory first, then count children on a fresh snapshot: a concurrent create
        // either committed before (and is counted) or waits and then finds no parent.
        await this.nodes.lockNode(located.share.shareId, located.key, sql);
        if (await this.handles.anyOpenOn(located.share.shareId, located.key, sql))
          throw new DomainError('SharingViolation');
        if ((await this.nodes.childCount(located.share.shareId, located.key, sql)) > 0)
          throw new DomainError('DirectoryNotEmpty');
        await this.writer.commit(
          context,
          located,
          [{ type: 'DirectoryDeleted', data: { path: located.node.path } }],
          sql,
        );
      }),
    );
  }
}
