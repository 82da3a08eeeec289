import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { CommandContext, DomainError, NodeState } from '@leasehold/domain';
import type { Readable } from 'node:stream';
import { ListedNode, Located, NodeRepository, ShareRow } from './nodes/node.repository';

export class ShareQuery extends Query<ShareRow> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
  ) {
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

@QueryHandler(ShareQuery)
export class ShareHandler implements IQueryHandler<ShareQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  async execute({ context, share }: ShareQuery): Promise<ShareRow> {
    const found = await this.nodes.findShare(context.tenant, share);
    if (!found) throw new DomainError('ShareNotFound');
    return found;
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
