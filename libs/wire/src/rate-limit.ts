import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import Redis from 'ioredis';

/** Counts one request in the tenant's current one-second window and returns the count (one round trip). */
const COUNT = `local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end return n`;

type CountingRedis = Redis & { countRequest(key: string): Promise<number> };

/**
 * Per-tenant request rate limits kept in Redis, so the limit holds across every API process: one
 * team's flood is held to its limit and cannot starve the others. When Redis cannot be reached
 * the limiter lets requests through: losing the limit for a while beats losing the service.
 */
@Injectable()
export class RateLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger('RateLimiter');
  private readonly redis?: CountingRedis;
  private lastWarning = 0;

  constructor(@Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig) {
    if (config.rateLimitPerSecond === 0) return;
    // Fail fast rather than queue commands while Redis is away: a request must not wait on the limiter.
    this.redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000 }) as CountingRedis;
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('countRequest', { numberOfKeys: 1, lua: COUNT });
  }

  /** True when the tenant may go ahead with one more request now. */
  async admit(tenant: string): Promise<boolean> {
    if (!this.redis) return true;
    const window = Math.floor(Date.now() / 1000);
    try {
      return (await this.redis.countRequest(`${this.config.queuePrefix}:rate:${tenant}:${window}`)) <= this.config.rateLimitPerSecond;
    } catch (error) {
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn(`rate limits not enforced, Redis unreachable: ${(error as Error).message}`);
      }
      return true;
    }
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
