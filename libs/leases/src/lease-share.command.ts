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
import { LeasedShare, ShareLeaseRepository, shareStream } from '@leasehold/filesystem';
import { LeaseReplay } from './lease-replay';

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
    /** sharesnapshot: that snapshot's lease, decided and recorded as the share's, independent of it. */
    readonly snapshot?: string,
  ) {
    super();
  }
}

/**
 * Lease Share. The decision is the pure decider in libs/domain/src/share-lease, taken at
 * PostgreSQL's clock as read with the share's row, never this process's: API processes whose
 * clocks disagree decide alike. The events are appended with the lease they leave, guarded by the
 * version the decision was made on; a loser of a race re-reads and decides again. Reads and writes
 * go out in the repository's batches, so concurrent renewals share their statements, and a lease
 * this process wrote last is decided on without a read (ShareLeaseRepository.remembered), at an
 * instant its write checks against PostgreSQL's clock.
 */
@CommandHandler(LeaseShareCommand)
export class LeaseShareHandler implements ICommandHandler<LeaseShareCommand> {
  constructor(
    private readonly shares: ShareLeaseRepository,
    private readonly replay: LeaseReplay,
  ) {}

  execute({ context, share: name, command, snapshot }: LeaseShareCommand): Promise<LeaseShareResult> {
    // A break is looked up before it is decided (below), so it always reads.
    let remembered = command.action === 'break' ? undefined : this.shares.remembered(context.tenant, name, snapshot);
    return retryOnConcurrency(async () => {
      let share = remembered;
      remembered = undefined; // a retry after a conflict reads afresh
      let decision = share && decideShareLease(command, share.lease, share.readAt);
      // Only a write proves a remembered lease right (its statement checks the version and the
      // instant): a refusal, or a success with nothing to write, is decided again on a fresh read.
      if (!share || !decision || isShareLeaseRejection(decision) || decision.events.length === 0) {
        share = await this.shares.find(context.tenant, name, snapshot);
        // A snapshot the share does not have is ShareNotFound, as every read with sharesnapshot answers.
        if (!share) throw new DomainError('ShareNotFound');
        // Repeated, a break would succeed again and break the next holder's lease.
        if (command.action === 'break') {
          const original = await this.repeated(context, share, command);
          if (original) return original;
        }
        decision = decideShareLease(command, share.lease, share.readAt);
        if (isShareLeaseRejection(decision)) {
          // A refusal may be the retry of a request that succeeded before the lease moved on.
          const original = await this.repeated(context, share, command);
          if (original) return original;
          // A refusal may still be the first to see the lease lapse: that goes in the log (once).
          const observed = observeShareLease(share.lease, share.readAt);
          if (observed.length) await this.shares.record(context, share, observed);
          throw new DomainError(decision.reason, decision.facts);
        }
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

  /**
   * The original answer when this request repeats one that committed (LeaseReplay): its lease id
   * and the epoch it left; a break's x-ms-lease-time is the time its break still has to run (the
   * original's count, less the time since), so that a client waiting that long finds it broken.
   * The ETag and Last-Modified are the share's current ones.
   */
  private async repeated(
    context: CommandContext,
    share: LeasedShare,
    command: ShareLeaseCommand,
  ): Promise<LeaseShareResult | undefined> {
    const original = await this.replay.find(
      context,
      'share',
      { streamId: shareStream(share.shareId), version: share.version, snapshot: share.snapshot },
      command,
      share.readAt,
    );
    if (!original) return undefined;
    const data = original.event.data as { leaseId?: string; toLeaseId?: string; brokenAt?: string };
    return {
      leaseId: data.toLeaseId ?? data.leaseId,
      breakSeconds:
        data.brokenAt === undefined
          ? undefined
          : Math.max(0, Math.ceil((Date.parse(data.brokenAt) - share.readAt) / 1000)),
      epoch: original.epoch,
      etag: share.etag,
      lastModified: share.lastModified,
    };
  }
}
