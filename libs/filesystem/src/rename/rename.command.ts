import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandContext, DomainError, evolveNode, NodeEvent, NodeState, pathKey } from '@leasehold/domain';
import {
  ConcurrencyError,
  EventStore,
  eventMetadata,
  isUniqueViolation,
  retryOnConcurrency,
} from '@leasehold/event-store';
import { newEtag } from '../etag';
import { truncateContent } from '../files/file-content';
import { gateAccess } from '../lease-gate';
import { nodeStream, NodeRepository } from '../nodes/node.repository';
import { NodeWriter } from '../nodes/node.writer';
import { RecentNodes } from '../nodes/recent-nodes';
import { OPEN_HANDLES, OpenHandles } from '../ports';

export interface RenameOptions {
  replaceIfExists: boolean;
  /** x-ms-source-lease-id: needed when the source file is leased. */
  sourceLeaseId?: string;
  /** x-ms-destination-lease-id: needed to replace a leased destination file. */
  destinationLeaseId?: string;
  /** New metadata for the renamed node; undefined keeps its own. */
  metadata?: Record<string, string>;
}

/** Rename File or Rename Directory within one share: `source` moves to `destination`. */
export class RenameCommand extends Command<NodeState> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly kind: 'file' | 'directory',
    readonly source: string[],
    readonly destination: string[],
    readonly options: RenameOptions,
  ) {
    super();
  }
}

/**
 * In one transaction: lock the source (and, for a directory, everything below it), refuse while a
 * handle is open there, gate the source's lease and, if the destination is a file to replace, its
 * lease and handles; delete that file; then append NodeRenamed to the source's stream and NodeMoved
 * to each node below it, with one statement that moves their rows. A node keeps its FileId and its
 * stream, so its lease (and fencing epoch), its handles' file id and its audit trail go with it.
 */
@CommandHandler(RenameCommand)
export class RenameHandler implements ICommandHandler<RenameCommand> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
    private readonly recent: RecentNodes,
    @Inject(OPEN_HANDLES) private readonly handles: OpenHandles,
  ) {}

  async execute({ context, share, kind, source, destination, options }: RenameCommand): Promise<NodeState> {
    const renamed = await retryOnConcurrency(() =>
      this.store.transaction(async (sql) => {
        const from = await this.nodes.locate(context.tenant, share, source, sql);
        if (!from.node || from.node.kind !== kind) throw new DomainError('ResourceNotFound');
        const shareId = from.share.shareId;
        const to = await this.nodes.locate(context.tenant, share, destination, sql);
        if (!to.parentExists) throw new DomainError('ParentNotFound');
        if (kind === 'directory' && to.key.startsWith(`${from.key}/`)) throw new DomainError('RenameIntoItself');

        await this.nodes.lockNode(shareId, from.key, sql);
        // The destination's directory stays until this commits (a Delete Directory then finds it not empty).
        if (!(await this.nodes.holdDirectory(shareId, to.parentKey, sql))) throw new DomainError('ParentNotFound');
        const below = kind === 'directory' ? await this.nodes.lockDescendants(shareId, from.key, sql) : [];
        const open =
          kind === 'directory'
            ? this.handles.anyOpenUnder(shareId, from.key, sql)
            : this.handles.anyOpenOn(shareId, from.key, sql);
        if (await open) throw new DomainError('SharingViolation');
        const sourceEvents: NodeEvent[] =
          kind === 'file' ? gateAccess(from.node.lease, { kind: 'write', leaseId: options.sourceLeaseId }) : [];

        const replaced = to.node && to.node.fileId !== from.node.fileId ? to.node : undefined;
        if (replaced) {
          if (!options.replaceIfExists || replaced.kind !== 'file' || kind !== 'file')
            throw new DomainError('ResourceAlreadyExists');
          const leaseEvents = gateAccess(replaced.lease, { kind: 'write', leaseId: options.destinationLeaseId });
          await this.nodes.lockNode(shareId, to.key, sql);
          if (await this.handles.anyOpenOn(shareId, to.key, sql)) throw new DomainError('SharingViolation');
          await truncateContent(sql, replaced.fileId, 0);
          await this.writer.commit(
            context,
            to,
            [...leaseEvents, { type: 'FileDeleted', data: { path: replaced.path } }],
            sql,
          );
        }

        const path = destination.join('/');
        const stamp = { etag: newEtag(), at: context.now.toISOString() };
        sourceEvents.push({
          type: 'NodeRenamed',
          data: {
            ...stamp,
            from: from.node.path,
            path,
            parentId: to.parentId,
            ...(options.metadata ? { metadata: options.metadata } : {}),
          },
        });
        const moves = [{ node: from.node, events: sourceEvents }];
        for (const node of below)
          moves.push({
            node,
            events: [
              {
                type: 'NodeMoved',
                data: { from: node.path, path: `${path}${node.path.slice(from.node.path.length)}` },
              },
            ],
          });
        const states = moves.map((m) => m.events.reduce<NodeState | undefined>(evolveNode, m.node)!);
        const conflict = () => new ConcurrencyError(context.tenant, nodeStream(from.node!.fileId), from.node!.version);
        const applied = await this.store
          .appendEach(
            moves.map((m) => ({
              tenant: context.tenant,
              streamId: nodeStream(m.node.fileId),
              expectedVersion: m.node.version,
              events: m.events,
              metadata: eventMetadata(context),
            })),
            this.nodes.projectMoves(
              context.tenant,
              shareId,
              moves.map((m, i) => ({
                fromKey: pathKey(m.node.path.split('/')),
                state: states[i],
                expectedVersion: m.node.version,
              })),
            ),
            sql,
          )
          .catch((error: unknown) => {
            // The destination was created since it was read: decide again (and find it there).
            throw isUniqueViolation(error, 'nodes_pkey') ? conflict() : error;
          });
        if (applied.includes(false)) throw conflict();
        return { from, to, state: states[0] };
      }),
    );
    // Paths this process may remember: the old ones now name nothing, the destination a new node.
    this.recent.forget(context.tenant, renamed.from);
    this.recent.forget(context.tenant, renamed.to);
    return renamed.state;
  }
}
