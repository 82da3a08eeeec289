import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandContext, DomainError, FileProperties, NodeEvent, NodeState } from '@leasehold/domain';
import { EventStore, retryOnConcurrency, SqlExecutor } from '@leasehold/event-store';
import { createHash } from 'node:crypto';
import { newEtag } from '../etag';
import { gateAccess } from '../lease-gate';
import { Located, NodeRepository } from '../nodes/node.repository';
import { NodeWriter } from '../nodes/node.writer';
import { OPEN_HANDLES, OpenHandles } from '../ports';
import { clearContent, copyContent, truncateContent, writeContent } from './file-content';

/** A write to a file: every one of them is gated by the file's lease (the first table of docs/lease-file.md). */
export type FileWrite =
  | {
      kind: 'create';
      contentLength: number;
      properties: FileProperties;
      metadata: Record<string, string>;
      mayReplace: boolean;
    }
  | { kind: 'putRange'; start: number; data: Buffer; copiedFrom?: { share: string; path: string; start: number } }
  | { kind: 'clearRange'; start: number; end: number }
  | { kind: 'setMetadata'; metadata: Record<string, string> }
  | { kind: 'setProperties'; properties: FileProperties; contentLength?: number }
  | { kind: 'delete' }
  /**
   * Copy File: the source's bytes, written ranges, properties and (unless given) metadata become
   * the destination's, in the same transaction, so the copy is complete when it answers.
   */
  | {
      kind: 'copy';
      source: { share: string; path: string[]; url: string };
      copyId: string;
      metadata?: Record<string, string>;
    };

export class WriteFileCommand extends Command<NodeState | undefined> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly leaseId: string | undefined,
    readonly write: FileWrite,
  ) {
    super();
  }
}

const invalidRange = () => new DomainError('InvalidRange');

/**
 * Create File, Put Range, Set File Metadata, Set File Properties and Delete File: read the file,
 * check the lease, write the bytes and append the events with the projected row, all in one
 * transaction whose version guard makes a concurrent lease change or write force a retry.
 */
@CommandHandler(WriteFileCommand)
export class WriteFileHandler implements ICommandHandler<WriteFileCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
    @Inject(OPEN_HANDLES) private readonly handles: OpenHandles,
  ) {}

  async execute({ context, share, path, leaseId, write }: WriteFileCommand): Promise<NodeState | undefined> {
    const creates = write.kind === 'create' || write.kind === 'copy';
    const newFileId = creates ? await this.nodes.nextId() : undefined;
    return retryOnConcurrency(() =>
      this.store.transaction(async (sql) => {
        const located = await this.nodes.locate(context.tenant, share, path, sql);
        const { node } = located;
        if (node && node.kind !== 'file') throw new DomainError(creates ? 'ResourceTypeMismatch' : 'ResourceNotFound');
        if (node && write.kind === 'create' && !write.mayReplace) throw new DomainError('ReplaceNeedsWritePermission');
        if (!located.parentExists) throw new DomainError('ParentNotFound');
        if (!node && !creates) throw new DomainError('ResourceNotFound');
        if (write.kind === 'delete') {
          await this.nodes.lockNode(located.share.shareId, located.key, sql);
          if (await this.handles.anyOpenOn(located.share.shareId, located.key, sql))
            throw new DomainError('SharingViolation');
        }
        const leaseEvents = gateAccess(node?.lease ?? { status: 'available', epoch: 0 }, { kind: 'write', leaseId });
        const stamp = { etag: newEtag(), at: context.now.toISOString() };
        const events: NodeEvent[] = [
          ...leaseEvents,
          await this.apply(sql, context, located, newFileId ?? '', path.join('/'), write, stamp),
        ];
        return this.writer.commit(context, located, events, sql);
      }),
    );
  }

  /**
   * The copy's source, its row locked until the copy commits, so that its bytes, ranges and
   * properties are read from one state (a write to it waits); undefined when there is none.
   */
  private async lockedSource(
    sql: SqlExecutor,
    context: CommandContext,
    source: { share: string; path: string[] },
  ): Promise<NodeState | undefined> {
    const read = () =>
      this.nodes.locate(context.tenant, source.share, source.path, sql).catch((error: unknown) => {
        if (error instanceof DomainError) return undefined;
        throw error;
      });
    const first = await read();
    if (!first?.node) return undefined;
    await this.nodes.lockNode(first.share.shareId, first.key, sql);
    return (await read())?.node;
  }

  /** Writes the bytes (in the transaction) and returns the event that records the write. */
  private async apply(
    sql: SqlExecutor,
    context: CommandContext,
    located: Located,
    newFileId: string,
    displayPath: string,
    write: FileWrite,
    stamp: { etag: string; at: string },
  ): Promise<NodeEvent> {
    const node = located.node;
    switch (write.kind) {
      case 'create':
        if (node) await truncateContent(sql, node.fileId, 0);
        return {
          type: 'FileCreated',
          data: {
            ...stamp,
            shareId: located.share.shareId,
            fileId: node?.fileId ?? newFileId,
            parentId: located.parentId,
            path: node?.path ?? displayPath,
            contentLength: write.contentLength,
            properties: write.properties,
            metadata: write.metadata,
            replaced: node !== undefined,
          },
        };
      case 'putRange': {
        const end = write.start + write.data.length - 1;
        if (end >= node!.contentLength) throw invalidRange();
        await writeContent(sql, node!.fileId, write.start, write.data);
        const contentMD5 = createHash('md5').update(write.data).digest('base64');
        const copiedFrom = write.copiedFrom ? { copiedFrom: write.copiedFrom } : {};
        return {
          type: 'FileRangeWritten',
          data: { ...stamp, start: write.start, end, length: write.data.length, contentMD5, ...copiedFrom },
        };
      }
      case 'clearRange':
        if (write.end >= node!.contentLength) throw invalidRange();
        await clearContent(sql, node!.fileId, write.start, write.end + 1);
        return { type: 'FileRangeCleared', data: { ...stamp, start: write.start, end: write.end } };
      case 'setMetadata':
        return { type: 'FileMetadataSet', data: { ...stamp, metadata: write.metadata } };
      case 'setProperties': {
        const contentLength = write.contentLength ?? node!.contentLength;
        if (contentLength < node!.contentLength) await truncateContent(sql, node!.fileId, contentLength);
        return { type: 'FilePropertiesSet', data: { ...stamp, properties: write.properties, contentLength } };
      }
      case 'delete':
        await truncateContent(sql, node!.fileId, 0);
        return { type: 'FileDeleted', data: { path: node!.path } };
      case 'copy': {
        // The source is read, not written: its lease does not gate the copy.
        const source = await this.lockedSource(sql, context, write.source);
        if (source?.kind !== 'file') throw new DomainError('CopySourceNotFound');
        const fileId = node?.fileId ?? newFileId;
        if (source.fileId !== fileId) await copyContent(sql, source.fileId, fileId);
        return {
          type: 'FileCreated',
          data: {
            ...stamp,
            shareId: located.share.shareId,
            fileId,
            parentId: located.parentId,
            path: node?.path ?? displayPath,
            contentLength: source.contentLength,
            properties: source.properties,
            metadata: write.metadata ?? source.metadata,
            replaced: node !== undefined,
            ranges: await this.nodes.ranges(context.tenant, source.fileId, source.version, sql),
            copy: {
              id: write.copyId,
              source: write.source.url,
              progress: `${source.contentLength}/${source.contentLength}`,
              completedAt: stamp.at,
            },
          },
        };
      }
    }
  }
}
