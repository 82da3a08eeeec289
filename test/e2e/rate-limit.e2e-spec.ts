// The per-tenant rate limiter on the real Redis, as two API processes would run it: two limiters
// sharing one budget. Through HTTP, tenants.e2e shows a noisy tenant held to its limit.
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RateLimiter } from '../../libs/wire/src/rate-limit';
import { testConfig } from '../support/service';

const LIMIT = 1000;

/** Resolves just after the next one-second boundary, so that a short burst fits in one window. */
async function windowStart(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
  return Math.floor(Date.now() / 1000);
}

describe('rate limiter: processes claim slices of a shared per-second budget', () => {
  const prefix = `rate-${randomUUID()}`;
  const config = testConfig({ RATE_LIMIT_PER_SECOND: String(LIMIT), QUEUE_PREFIX: prefix });
  const limiters = [new RateLimiter(config), new RateLimiter(config)];
  const redis = new Redis(config.redisUrl);
  let monitor: Redis;
  const claims: string[] = [];

  beforeAll(async () => {
    monitor = await redis.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((arg) => arg.startsWith(`${prefix}:rate:`))) claims.push(args.join(' '));
    });
    await redis.ping();
  });

  afterAll(() => {
    limiters.forEach((l) => l.onApplicationShutdown());
    monitor.disconnect();
    redis.disconnect();
  });

  it('admits at most the limit in a window across both, loses at most a slice each, and claims far fewer times than it admits', async () => {
    const tenant = 'burst';
    const window = await windowStart();
    // 1,500 requests at once, half through each limiter.
    const answers = await Promise.all(Array.from({ length: 1500 }, (_, i) => limiters[i % 2].admit(tenant)));
    const finished = Math.floor(Date.now() / 1000);
    expect(finished).toBe(window); // the burst must fit in one window for the counts below to mean anything

    const admitted = answers.filter(Boolean).length;
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    // A slice is at most a twentieth of the limit: each limiter can leave at most that unused.
    expect(admitted).toBeGreaterThanOrEqual(LIMIT - 2 * (LIMIT / 20));
    // The counter holds what was claimed: every admitted request, plus at most the slices left unused.
    const claimed = Number(await redis.get(`${prefix}:rate:${tenant}:${window}`));
    expect(claimed).toBeGreaterThanOrEqual(admitted);
    await new Promise((resolve) => setTimeout(resolve, 100)); // MONITOR lines arrive asynchronously
    expect(claims.length).toBeGreaterThan(0);
    expect(claims.length).toBeLessThan(admitted / 5);
  });

  it('a tenant over its limit does not use up another tenant’s budget', async () => {
    await windowStart();
    const noisy = await Promise.all(Array.from({ length: 1200 }, (_, i) => limiters[i % 2].admit('noisy')));
    const quiet = await Promise.all(Array.from({ length: 10 }, (_, i) => limiters[i % 2].admit('quiet')));
    expect(noisy.filter(Boolean).length).toBeLessThanOrEqual(LIMIT);
    expect(quiet).toEqual(Array(10).fill(true));
  });

  it('starts afresh in the next window', async () => {
    await windowStart();
    const first = await Promise.all(Array.from({ length: 1100 }, () => limiters[0].admit('renewed')));
    expect(first.filter(Boolean).length).toBeLessThanOrEqual(LIMIT);
    expect(first.filter((a) => !a).length).toBeGreaterThanOrEqual(100);
    await windowStart();
    expect(await limiters[0].admit('renewed')).toBe(true);
  });

  it('lets requests through when Redis cannot be reached', async () => {
    const unreachable = new RateLimiter(
      testConfig({ RATE_LIMIT_PER_SECOND: '1', REDIS_URL: 'redis://127.0.0.1:1', QUEUE_PREFIX: prefix }),
    );
    try {
      expect(await Promise.all([unreachable.admit('t'), unreachable.admit('t'), unreachable.admit('t')])).toEqual([
        true,
        true,
        true,
      ]);
    } finally {
      unreachable.onApplicationShutdown();
    }
  });
});
