import { LRUCache, type Perf } from 'lru-cache';

/**
 * A bounded cache whose entries expire `ttl` ms after they are set: what a process remembers between
 * requests (keys, places, rate-limit slices). Two lru-cache defaults do not suit a request path:
 * - ttlResolution 0: otherwise a 1 ms timer is armed per lookup to cache the clock, one more
 *   event-loop wake-up per request (about 0.1 ms of CPU each on the bench machine);
 * - noDeleteOnStaleGet: an expired entry stays until its key is set again or the LRU evicts it.
 *   lru-cache 11 deleting a cache's only entry resets every slot, so a process that remembered one
 *   tenant paid 1.3-2.3 ms more on its first request after two quiet seconds (bench/README.md).
 *
 * `perf` is the clock, for tests.
 */
export function expiringCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(options: {
  max: number;
  ttl: number;
  perf?: Perf;
}): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, ttlResolution: 0, noDeleteOnStaleGet: true });
}
