import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { expiringCache } from '@leasehold/event-store';
import Redis from 'ioredis';

/**
 * Claims up to ARGV[1] requests of the tenant's budget ARGV[2] in the one-second window KEYS[1]
 * and returns how many it got: every process's claims add up in one counter, so together they
 * never admit more than the limit.
 */
const CLAIM = `
local want = tonumber(ARGV[1])
local total = redis.call('INCRBY', KEYS[1], want)
if total == want then redis.call('PEXPIRE', KEYS[1], 2000) end
return math.max(0, math.min(want, tonumber(ARGV[2]) - (total - want)))`;

type ClaimingRedis = Redis & { claimRequests(key: string, want: number, limit: number): Promise<number> };

/** A tenant's budget in this process for one window. */
interface Slice {
  window: number;
  /** Requests claimed from Redis and not used yet. */
  left: number;
  /** The window's budget is spent: refuse until the next one. */
  spent: boolean;
  /** Requests this process admitted for the tenant in this window and in the one before. */
  admitted: number;
  admittedBefore: number;
  /** Requests waiting for a claim: the next claim asks for at least one each. */
  waiting: number;
  /** The claim in flight, shared by every request waiting for it; false when Redis failed. */
  claim?: Promise<boolean>;
}

/** Claims at most this share of the limit at once, so that an idle process cannot sit on much of it. */
const MAX_SLICE_OF_LIMIT = 1 / 20;
/** Claims about this share of what the process admits for the tenant per second. */
const SLICE_OF_RATE = 1 / 20;

/**
 * Per-tenant request rate limits kept in Redis, so the limit holds across every API process: one
 * team's flood is held to its limit and cannot starve the others.
 *
 * A request does not cost a Redis round trip: each process claims a slice of the tenant's budget
 * for the current second and admits from it locally. A slice is a twentieth of the process's recent
 * rate for the tenant, or one per request waiting if more, and at most a twentieth of the limit. The limit is never exceeded; what a process
 * claims and does not use in its second is lost, so a tenant spread over many processes may be
 * held a little below it. When Redis cannot be reached the limiter lets requests through: losing
 * the limit for a while beats losing the service.
 */
@Injectable()
export class RateLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger('RateLimiter');
  private readonly redis?: ClaimingRedis;
  // Bounded: a slice lives for its second and the next (its rate sizes the next claim).
  private readonly slices = expiringCache<string, Slice>({ max: 100_000, ttl: 2_000 });
  private lastWarning = 0;

  constructor(@Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig) {
    if (config.rateLimitPerSecond === 0) return;
    // Fail fast rather than queue commands while Redis is away: a request must not wait on the limiter.
    this.redis = new Redis(config.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    }) as ClaimingRedis;
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('claimRequests', { numberOfKeys: 1, lua: CLAIM });
  }

  /** True when the tenant may go ahead with one more request now. */
  async admit(tenant: string): Promise<boolean> {
    if (!this.redis) return true;
    for (;;) {
      const slice = this.slice(tenant);
      if (slice.left > 0) {
        slice.left--;
        slice.admitted++;
        return true;
      }
      if (slice.spent) return false;
      slice.waiting++;
      slice.claim ??= this.claim(tenant, slice).finally(() => (slice.claim = undefined));
      const reachable = await slice.claim;
      slice.waiting--;
      if (!reachable) return true;
    }
  }

  /** The tenant's slice for the current window, started afresh when the window has moved on. */
  private slice(tenant: string): Slice {
    const window = Math.floor(Date.now() / 1000);
    const slice = this.slices.get(tenant);
    if (slice?.window === window) return slice;
    const admittedBefore = slice?.window === window - 1 ? slice.admitted : 0;
    const fresh: Slice = { window, left: 0, spent: false, admitted: 0, admittedBefore, waiting: 0 };
    this.slices.set(tenant, fresh);
    return fresh;
  }

  private async claim(tenant: string, slice: Slice): Promise<boolean> {
    const limit = this.config.rateLimitPerSecond;
    const rate = Math.max(slice.admittedBefore, slice.admitted);
    const want = Math.max(
      1,
      Math.min(Math.floor(limit * MAX_SLICE_OF_LIMIT), Math.max(Math.ceil(rate * SLICE_OF_RATE), slice.waiting)),
    );
    try {
      const granted = await this.redis!.claimRequests(
        `${this.config.queuePrefix}:rate:${tenant}:${slice.window}`,
        want,
        limit,
      );
      slice.left += granted;
      if (granted < want) slice.spent = true;
      return true;
    } catch (error) {
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn(`rate limits not enforced, Redis unreachable: ${(error as Error).message}`);
      }
      return false;
    }
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
