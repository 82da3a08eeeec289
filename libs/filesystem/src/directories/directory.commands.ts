import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { NodeState } from '@leasehold/domain';
import { EventStore, retryOnConcurrency } from '@leasehold/event-store';
import { AzureError, parentNotFound, RequestContext, resourceNotFound } from '@leasehold/wire';
import { NodeRepository } from '../nodes/node.repository';
import { NodeWriter } from '../nodes/node.writer';
import { newEtag } from '../wire-format';

export class CreateDirectoryCommand {
  constructor(
    readonly context: RequestContext,
    readonly share: string,
    readonly path: string[],
    readonly metadata: Record<string, string>,
  ) {}
}

export class SetDirectoryMetadataCommand {
  constructor(
    readonly context: RequestContext,
    readonly share: string,
    readonly path: string[],
    /** undefined: Set Directory Properties, which only stamps the directory. */
    readonly metadata: Record<string, string> | undefined,
  ) {}
}

export class DeleteDirectoryCommand {
  constructor(
    readonly context: RequestContext,
    readonly share: string,
    readonly path: string[],
  ) {}
}

const alreadyExists = () => new AzureError(409, 'ResourceAlreadyExists', 'The specified resource already exists.');
export const typeMismatch = () => new AzureError(409, 'ResourceTypeMismatch', 'The specified resource type does not match the type of the resource.');

@CommandHandler(CreateDirectoryCommand)
export class CreateDirectoryHandler implements ICommandHandler<CreateDirectoryCommand, NodeState> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
  ) {}

  async execute({ context, share, path, metadata }: CreateDirectoryCommand): Promise<NodeState> {
    const fileId = await this.nodes.nextId();
    return retryOnConcurrency(async () => {
      const located = await this.nodes.locate(context.account, share, path);
      if (located.node) throw located.node.kind === 'directory' ? alreadyExists() : typeMismatch();
      if (!located.parentExists) throw parentNotFound();
      const at = context.now.toISOString();
      const data = { shareId: located.share.shareId, fileId, parentId: located.parentId, path: path.join('/'), metadata, etag: newEtag(), at };
      return (await this.writer.commit(context, located, [{ type: 'DirectoryCreated', data }]))!;
    });
  }
}

@CommandHandler(SetDirectoryMetadataCommand)
export class SetDirectoryMetadataHandler implements ICommandHandler<SetDirectoryMetadataCommand, NodeState> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
  ) {}

  async execute({ context, share, path, metadata }: SetDirectoryMetadataCommand): Promise<NodeState> {
    return retryOnConcurrency(async () => {
      const located = await this.nodes.require(context.account, share, path, 'directory');
      const stamp = { etag: newEtag(), at: context.now.toISOString() };
      const event = metadata
        ? ({ type: 'DirectoryMetadataSet', data: { ...stamp, metadata } } as const)
        : ({ type: 'DirectoryPropertiesSet', data: stamp } as const);
      return (await this.writer.commit(context, located, [event]))!;
    });
  }
}

@CommandHandler(DeleteDirectoryCommand)
export class DeleteDirectoryHandler implements ICommandHandler<DeleteDirectoryCommand, void> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
  ) {}

  async execute({ context, share, path }: DeleteDirectoryCommand): Promise<void> {
    await retryOnConcurrency(() =>
      this.store.transaction(async (sql) => {
        const located = await this.nodes.locate(context.account, share, path, sql);
        if (!located.node || located.node.kind !== 'directory') throw located.parentExists ? resourceNotFound() : parentNotFound();
        // Lock the directory first, then count children on a fresh snapshot: a concurrent create
        // either committed before (and is counted) or waits and then finds no parent.
        await this.nodes.lockNode(located.share.shareId, located.key, sql);
        await this.nodes.refuseIfHandlesOpen(located.share.shareId, located.key, sql);
        if ((await this.nodes.childCount(located.share.shareId, located.key, sql)) > 0) {
          throw new AzureError(409, 'DirectoryNotEmpty', 'The specified directory is not empty.');
        }
        await this.writer.commit(context, located, [{ type: 'DirectoryDeleted', data: { path: located.node.path } }], sql);
      }),
    );
  }
}
