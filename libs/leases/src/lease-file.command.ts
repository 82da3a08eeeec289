import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideLease, LeaseCommand, NodeState } from '@leasehold/domain';
import { retryOnConcurrency } from '@leasehold/event-store';
import { NodeRepository, NodeWriter, orThrow } from '@leasehold/filesystem';
import { AzureError, parentNotFound, RequestContext, resourceNotFound } from '@leasehold/wire';

export class LeaseFileCommand {
  constructor(
    readonly context: RequestContext,
    readonly share: string,
    readonly path: string[],
    readonly command: LeaseCommand,
  ) {}
}

export interface LeaseFileResult {
  leaseId?: string;
  node: NodeState;
}

/**
 * Lease File. The decision itself is the pure decider in libs/domain/src/lease; this handler reads
 * the file's state, asks the decider, and appends its events with the projected row in one
 * statement guarded by the version it read: of two racing requests one appends, the other
 * re-reads and decides again against the winner's state.
 */
@CommandHandler(LeaseFileCommand)
export class LeaseFileHandler implements ICommandHandler<LeaseFileCommand, LeaseFileResult> {
  constructor(
    private readonly nodes: NodeRepository,
    private readonly writer: NodeWriter,
  ) {}

  execute({ context, share, path, command }: LeaseFileCommand): Promise<LeaseFileResult> {
    return retryOnConcurrency(async () => {
      const located = await this.nodes.locate(context.account, share, path);
      const node = located.node;
      if (!node) throw located.parentExists ? resourceNotFound() : parentNotFound();
      if (node.kind !== 'file') {
        throw new AzureError(409, 'ResourceTypeMismatch', 'The specified resource is a directory; only files can be leased.');
      }
      const decision = orThrow(decideLease(command, node.lease));
      const after = await this.writer.commit(context, located, decision.events);
      return { leaseId: decision.leaseId, node: after! };
    });
  }
}
