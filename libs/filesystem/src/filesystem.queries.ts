import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { ByteRange, CommandContext, diffRanges, DomainError, NodeState } from '@leasehold/domain';
import type { Readable } from 'node:stream';
import { ListedNode, Located, NodeRepository, requireNode } from './nodes/node.repository';
import { SnapshotRepository, SnapshotView } from './snapshots/snapshot.repository';
import { FileServiceProperties } from './service/file-service.events';
import { FileServiceRepository } from './service/file-service.repository';
import { ShareSnapshot, ShareState } from './shares/share.events';
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

/** A share snapshot (sharesnapshot=) as it was taken, with the share's settings then; ShareNotFound when there is none. */
export class ShareSnapshotQuery extends Query<SnapshotView> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly snapshot: string,
  ) {
    super();
  }
}

/**
 * The directory or file at a path below the share root, which must exist and be of `kind`; in the
 * share snapshot named `snapshot` when given (the reads below all take one).
 */
export class NodeQuery extends Query<Located & { node: NodeState }> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly kind: 'file' | 'directory',
    readonly snapshot?: string,
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
    readonly snapshot?: string,
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
    readonly snapshot?: string,
  ) {
    super();
  }
}

/** A page of a directory's entries whose keys start with `prefix`, after the key `after` (in its snapshot, if it was located in one). */
export class ListDirectoryQuery extends Query<{ entries: ListedNode[]; more: boolean }> {
  constructor(
    readonly context: CommandContext,
    readonly directory: Located,
    readonly prefix: string,
    readonly after: string,
    readonly limit: number,
  ) {
    super();
  }
}

/** Bytes [start, endExclusive) of a file, as of `snapshot` when the file was read in one. */
export class FileContentQuery extends Query<Buffer | Readable> {
  constructor(
    readonly fileId: string,
    readonly start: number,
    readonly endExclusive: number,
    readonly snapshot?: ShareSnapshot,
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

/**
 * List Ranges against a previous share snapshot: the ranges of `node` changed and cleared since
 * `previous` (the file as that snapshot has it). FileGenerationMismatch when the snapshot has no
 * such file, or another one, or the file was created again since.
 */
export class FileRangeDiffQuery extends Query<{ ranges: ByteRange[]; clearRanges: ByteRange[] }> {
  constructor(
    readonly context: CommandContext,
    readonly node: NodeState,
    readonly previous: NodeState | undefined,
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

@QueryHandler(ShareSnapshotQuery)
export class ShareSnapshotHandler implements IQueryHandler<ShareSnapshotQuery> {
  constructor(private readonly snapshots: SnapshotRepository) {}

  execute({ context, share, snapshot }: ShareSnapshotQuery) {
    return this.snapshots.view(context.tenant, share, snapshot);
  }
}

/** Where a path points, in the live share or in one of its snapshots. */
@QueryHandler(LocateQuery)
export class LocateHandler implements IQueryHandler<LocateQuery> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly snapshots: SnapshotRepository,
  ) {}

  execute({ context, share, path, snapshot }: LocateQuery): Promise<Located> {
    return snapshot === undefined
      ? this.nodes.locate(context.tenant, share, path)
      : this.snapshots.locate(context.tenant, share, path, snapshot);
  }
}

@QueryHandler(NodeQuery)
export class NodeHandler implements IQueryHandler<NodeQuery> {
  constructor(private readonly locator: LocateHandler) {}

  async execute({ context, share, path, kind, snapshot }: NodeQuery) {
    return requireNode(await this.locator.execute(new LocateQuery(context, share, path, snapshot)), kind);
  }
}

@QueryHandler(DirectoryQuery)
export class DirectoryHandler implements IQueryHandler<DirectoryQuery> {
  constructor(private readonly locator: LocateHandler) {}

  async execute({ context, share, path, snapshot }: DirectoryQuery): Promise<Located> {
    const located = await this.locator.execute(new LocateQuery(context, share, path, snapshot));
    return path.length === 0 ? located : requireNode(located, 'directory');
  }
}

@QueryHandler(ListDirectoryQuery)
export class ListDirectoryHandler implements IQueryHandler<ListDirectoryQuery> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly snapshots: SnapshotRepository,
  ) {}

  execute({ context, directory, prefix, after, limit }: ListDirectoryQuery) {
    const { snapshot } = directory;
    return snapshot === undefined
      ? this.nodes.listChildren(directory.share.shareId, directory.key, prefix, after, limit)
      : this.snapshots.listChildren(context.tenant, { ...directory, snapshot }, prefix, after, limit);
  }
}

@QueryHandler(FileContentQuery)
export class FileContentHandler implements IQueryHandler<FileContentQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  execute({ fileId, start, endExclusive, snapshot }: FileContentQuery) {
    return this.nodes.content(fileId, start, endExclusive, snapshot?.pgSnapshot);
  }
}

@QueryHandler(FileRangesQuery)
export class FileRangesHandler implements IQueryHandler<FileRangesQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  execute({ context, node }: FileRangesQuery) {
    return this.nodes.ranges(context.tenant, node.fileId, node.version);
  }
}

@QueryHandler(FileRangeDiffQuery)
export class FileRangeDiffHandler implements IQueryHandler<FileRangeDiffQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  async execute({ context, node, previous }: FileRangeDiffQuery) {
    if (previous?.kind !== 'file' || previous.fileId !== node.fileId || previous.version > node.version)
      throw new DomainError('FileGenerationMismatch');
    const between = await this.nodes.rangeEventsBetween(context.tenant, node.fileId, previous.version, node.version);
    if (between.some((e) => e.type === 'FileCreated')) throw new DomainError('FileGenerationMismatch');
    return diffRanges(await this.nodes.ranges(context.tenant, node.fileId, previous.version), between);
  }
}
