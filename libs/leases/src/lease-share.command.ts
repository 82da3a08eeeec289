import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import {
  CommandContext,
  decideShareLease,
  DomainError,
  isShareLeaseRejection,
  observeShareLease,
  ShareLeaseCommand,
} from '@leasehold/domain';
import { retryOnConcurrency } from '@leasehold/event-store';
import { ShareLeaseRepository } from '@leasehold/filesystem';

export interface LeaseShareResult {
  leaseId?: string;
  breakSeconds?: number;
  epoch: number;
  etag: string;
  lastModified: Date;
}

export class LeaseShareCommand extends Command<LeaseShareResult> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly command: ShareLeaseCommand,
  ) {
    super();
  }
}

/**
 * Lease Share. The decision is the pure decider in libs/domain/src/share-lease, taken at
 * PostgreSQL's clock as read with the share's row, never this process's: API processes whose
 * clocks disagree decide alike. The events are appended with the lease they leave, guarded by the
 * version the decision was made on; a loser of a race re-reads and decides again.
 */
@CommandHandler(LeaseShareCommand)
export class LeaseShareHandler implements ICommandHandler<LeaseShareCommand> {
  constructor(private readonly shares: ShareLeaseRepository) {}

  execute({ context, share: name, command }: LeaseShareCommand): Promise<LeaseShareResult> {
    return retryOnConcurrency(async () => {
      const share = await this.shares.find(context.tenant, name);
      if (!share) throw new DomainError('ShareNotFound');
      const decision = decideShareLease(command, share.lease, share.readAt);
      if (isShareLeaseRejection(decision)) {
        // A refusal may still be the first to see the lease lapse: that goes in the log (once).
        const observed = observeShareLease(share.lease, share.readAt);
        if (observed.length) await this.shares.record(context, share, observed);
        throw new DomainError(decision.reason, decision.facts);
      }
      const lease = await this.shares.record(context, share, decision.events);
      return {
        leaseId: decision.leaseId,
        breakSeconds: decision.breakSeconds,
        epoch: lease.epoch,
        etag: share.etag,
        lastModified: share.lastModified,
      };
    });
  }
}
