import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  CommandContext,
  decideLease,
  DomainError,
  isLeaseError,
  LeaseCommand,
  LeaseDecision,
  NodeState,
} from '@leasehold/domain';
import { retryOnConcurrency } from '@leasehold/event-store';
import { Located, nodeStream, NodeRepository, NodeWriter, orThrow, RecentNodes } from '@leasehold/filesystem';
import { LeaseReplay } from './lease-replay';

/** What a Lease File answers, and what a repeat of one that committed is answered again. */
export interface LeaseFileResult {
  leaseId?: string;
  node: NodeState;
}

export class LeaseFileCommand extends Command<LeaseFileResult> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly command: LeaseCommand,
  ) {
    super();
  }
}

/**
 * Lease File. The decision itself is the pure decider in libs/domain/src/lease; this handler finds
 * the file's state, asks the decider, and appends its events with the projected row in one
 * statement guarded by the version it decided on: of two racing requests one appends, the other
 * re-reads and decides again against the winner's state.
 *
 * The state comes from RecentNodes when this process read or wrote the file last, saving the read: a write
 * decided on it is still guarded by its version. An answer that writes nothing (a refusal, or an
 * acquire the holder repeats) proves nothing about a remembered state, so it is decided again on a
 * fresh read.
 */
@CommandHandler(LeaseFileCommand)
export class LeaseFileHandler implements ICommandHandler<LeaseFileCommand> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
    private readonly recent: RecentNodes,
    private readonly replay: LeaseReplay,
  ) {}

  execute({ context, share, path, command }: LeaseFileCommand): Promise<LeaseFileResult> {
    let remembered = this.recent.get(context.tenant, share, path);
    return retryOnConcurrency(async () => {
      let located = remembered;
      // A break is looked up before it is decided: repeated, it would succeed again and break the next holder's lease.
      let decision =
        located?.node?.kind === 'file' && command.action !== 'break'
          ? decideLease(command, located.node.lease)
          : undefined;
      remembered = undefined; // a retry after a conflict reads afresh
      if (!located || !decision || isLeaseError(decision) || decision.events.length === 0) {
        located = await this.recent.read(context.tenant, share, path, () =>
          this.nodes.locate(context.tenant, share, path),
        );
        decision = decide(located, command);
        // Only a break, or an answer that would change nothing, can be a repeat of a request that already succeeded.
        if (command.action === 'break' || isLeaseError(decision) || decision.events.length === 0) {
          const original = await this.repeated(context, located, command);
          if (original) return original;
        }
      }
      const { events, leaseId } = orThrow(decision);
      const after = await this.writer.commit(context, located, events);
      return { leaseId, node: after! };
    });
  }

  /**
   * The original answer when this request repeats one that committed (LeaseReplay): the epoch the
   * original installed (or, for a release, kept); the ETag and Last-Modified are the file's current ones.
   */
  private async repeated(
    context: CommandContext,
    located: Located,
    command: LeaseCommand,
  ): Promise<LeaseFileResult | undefined> {
    const node = located.node;
    if (!node) return undefined;
    const original = await this.replay.find(
      context,
      'file',
      { streamId: nodeStream(node.fileId), version: node.version },
      command,
      context.now.getTime(),
    );
    if (!original) return undefined;
    const leaseId = command.action === 'change' ? command.proposedLeaseId : undefined;
    return { leaseId, node: { ...node, lease: { ...node.lease, epoch: original.epoch } } };
  }
}

function decide(located: Located, command: LeaseCommand): LeaseDecision {
  const node = located.node;
  if (!node) throw new DomainError(located.parentExists ? 'ResourceNotFound' : 'ParentNotFound');
  if (node.kind !== 'file') throw new DomainError('DirectoryNotLeasable');
  return decideLease(command, node.lease);
}
