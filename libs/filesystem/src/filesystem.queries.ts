import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { ByteRange, CommandContext, DomainError, NodeState } from '@leasehold/domain';
import type { Readable } from 'node:stream';
import { ListedNode, Located, NodeRepository } from './nodes/node.repository';
import { FileServiceProperties } from './service/file-service.events';
import { FileServiceRepository } from './service/file-service.repository';
import { ShareState } from './shares/share.events';
import { ReadShare, ShareRepository } from './shares/share.repository';

/**
 * A share with its settings and lease, and the database's clock when it was read (the lease's state
 * is derived at that instant); ShareNotFound when there is none.
 */
export class ShareQuery extends Query<ReadShare> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
  ) {
    super();
  }
}

/** A page of the tenant's shares whose names start with `prefix`, after the name `after`, by name. */
export class ListSharesQuery extends Query<{ shares: ReadShare[]; more: boolean }> {
  constructor(
    readonly context: CommandContext,
    readonly prefix: string,
    readonly after: string,
    readonly limit: number,
  ) {
    super();
  }
}

/** The bytes a share's files hold in storage. */
export class ShareUsageQuery extends Query<number> {
  constructor(readonly share: ShareState) {
    super();
  }
}

/** The tenant's File service properties (the defaults before any Set). */
export class FileServicePropertiesQuery extends Query<FileServiceProperties> {
  constructor(readonly context: CommandContext) {
    super();
  }
}

/** The directory or file at a path below the share root, which must exist and be of `kind`. */
export class NodeQuery extends Query<Located & { node: NodeState }> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly kind: 'file' | 'directory',
  ) {
    super();
  }
}

/** The directory at a path, which must exist; [] is the share root (a directory with no node). */
export class DirectoryQuery extends Query<Located> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
  ) {
    super();
  }
}

/** The share (which must exist) and whatever is at a path below it: a file, a directory, or nothing. */
export class LocateQuery extends Query<Located> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
  ) {
    super();
  }
}

/** A page of a directory's entries whose keys start with `prefix`, after the key `after`. */
export class ListDirectoryQuery extends Query<{ entries: ListedNode[]; more: boolean }> {
  constructor(
    readonly directory: Located,
    readonly prefix: string,
    readonly after: string,
    readonly limit: number,
  ) {
    super();
  }
}

/** Bytes [start, endExclusive) of a file. */
export class FileContentQuery extends Query<Buffer | Readable> {
  constructor(
    readonly fileId: string,
    readonly start: number,
    readonly endExclusive: number,
  ) {
    super();
  }
}

/** The written ranges of a file as of the state `node` (read by NodeQuery). */
export class FileRangesQuery extends Query<ByteRange[]> {
  constructor(
    readonly context: CommandContext,
    readonly node: NodeState,
  ) {
    super();
  }
}

@QueryHandler(ShareQuery)
export class ShareHandler implements IQueryHandler<ShareQuery> {
  constructor(private readonly shares: ShareRepository) {}

  async execute({ context, share }: ShareQuery): Promise<ReadShare> {
    const found = await this.shares.find(context.tenant, share);
    if (!found) throw new DomainError('ShareNotFound');
    return found;
  }
}

@QueryHandler(ListSharesQuery)
export class ListSharesHandler implements IQueryHandler<ListSharesQuery> {
  constructor(private readonly shares: ShareRepository) {}

  async execute({ context, prefix, after, limit }: ListSharesQuery) {
    const shares = await this.shares.list(context.tenant, prefix, after, limit + 1);
    return { shares: shares.slice(0, limit), more: shares.length > limit };
  }
}

@QueryHandler(ShareUsageQuery)
export class ShareUsageHandler implements IQueryHandler<ShareUsageQuery> {
  constructor(private readonly shares: ShareRepository) {}

  execute({ share }: ShareUsageQuery) {
    return this.shares.usageBytes(share.shareId);
  }
}

@QueryHandler(FileServicePropertiesQuery)
export class FileServicePropertiesHandler implements IQueryHandler<FileServicePropertiesQuery> {
  constructor(private readonly service: FileServiceRepository) {}

  async execute({ context }: FileServicePropertiesQuery) {
    return (await this.service.find(context.tenant)).properties;
  }
}

@QueryHandler(NodeQuery)
export class NodeHandler implements IQueryHandler<NodeQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  execute({ context, share, path, kind }: NodeQuery) {
    return this.nodes.require(context.tenant, share, path, kind);
  }
}

@QueryHandler(DirectoryQuery)
export class DirectoryHandler implements IQueryHandler<DirectoryQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  execute({ context, share, path }: DirectoryQuery): Promise<Located> {
    return path.length === 0
      ? this.nodes.locate(context.tenant, share, [])
      : this.nodes.require(context.tenant, share, path, 'directory');
  }
}

@QueryHandler(LocateQuery)
export class LocateHandler implements IQueryHandler<LocateQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  execute({ context, share, path }: LocateQuery): Promise<Located> {
    return this.nodes.locate(context.tenant, share, path);
  }
}

@QueryHandler(ListDirectoryQuery)
export class ListDirectoryHandler implements IQueryHandler<ListDirectoryQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  execute({ directory, prefix, after, limit }: ListDirectoryQuery) {
    return this.nodes.listChildren(directory.share.shareId, directory.key, prefix, after, limit);
  }
}

@QueryHandler(FileContentQuery)
export class FileContentHandler implements IQueryHandler<FileContentQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  execute({ fileId, start, endExclusive }: FileContentQuery) {
    return this.nodes.content(fileId, start, endExclusive);
  }
}

@QueryHandler(FileRangesQuery)
export class FileRangesHandler implements IQueryHandler<FileRangesQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  execute({ context, node }: FileRangesQuery) {
    return this.nodes.ranges(context.tenant, node.fileId, node.version);
  }
}
