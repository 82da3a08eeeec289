import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CommandContext, observeShareLease } from '@leasehold/domain';
import { ConcurrencyError } from '@leasehold/event-store';
import { ShareLeaseRepository } from '@leasehold/filesystem';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** How often the worker looks for lapsed share leases: the longest a lapse waits to reach the log. */
const SWEEP_MS = 1000;
const BATCH = 500;

/**
 * Records every lapse of a share lease that no lease command has observed yet: ShareLeaseExpired
 * with the instant it expired, appended at the version the lease was read at, so that it is
 * recorded exactly once whoever (this sweeper in any worker, or an API process) gets there first.
 * Decisions never wait for it: the state is derived from the recorded expiry instant.
 */
@Injectable()
export class ShareLeaseSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ShareLeaseSweeper');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(private readonly shares: ShareLeaseRepository) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((error) => this.logger.warn(`sweep: ${(error as Error).message}`))
        .finally(() => (this.running = undefined));
    }, SWEEP_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass: returns how many lapses it recorded. The lapses found go out together, in the repository's write batches. */
  async sweep(): Promise<number> {
    const recorded = await Promise.all(
      (await this.shares.lapsed(BATCH)).map(async (share) => {
        const observed = observeShareLease(share.lease, share.readAt);
        if (!observed.length) return 0;
        const context: CommandContext = {
          tenant: share.tenant,
          principal: 'system',
          authentication: 'System',
          actor: `worker:${hostname()}`,
          requestId: `sweeper-${randomUUID()}`,
          now: new Date(share.readAt),
        };
        try {
          await this.shares.record(context, share, observed);
          return 1;
        } catch (error) {
          // Someone else moved the stream first (recorded the lapse, or acted on the lease).
          if (!(error instanceof ConcurrencyError)) throw error;
          return 0;
        }
      }),
    );
    return recorded.reduce<number>((a, b) => a + b, 0);
  }
}
