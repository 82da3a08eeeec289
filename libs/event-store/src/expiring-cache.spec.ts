import { channel } from 'node:diagnostics_channel';
import { expiringCache } from './expiring-cache';

describe('expiringCache', () => {
  // lru-cache reports each operation on this channel while it has a subscriber.
  const metrics = channel('lru-cache:metrics');
  let ops: string[];
  const record = (message: unknown) => {
    const m = message as { op: string; get?: string; delete?: string };
    ops.push(`${m.op}:${m.get ?? m.delete ?? ''}`);
  };
  beforeEach(() => {
    ops = [];
    metrics.subscribe(record);
  });
  afterEach(() => metrics.unsubscribe(record));

  it('forgets an entry at its ttl without deleting it, so that the next set reuses its slot', () => {
    let now = 1_000;
    const cache = expiringCache<string, number>({ max: 10_000, ttl: 2_000, perf: { now: () => now } });
    cache.set('tenant', 1);
    now += 1_999;
    expect(cache.get('tenant')).toBe(1);
    now += 2;
    expect(cache.get('tenant')).toBeUndefined();
    cache.set('tenant', 2);
    expect(cache.get('tenant')).toBe(2);
    // A delete of the only entry would have reset all 10,000 slots.
    expect(ops).toEqual(['set:', 'get:hit', 'get:stale', 'set:', 'get:hit']);
  });

  it('evicts the least recently used entry beyond its bound', () => {
    const cache = expiringCache<string, number>({ max: 2, ttl: 60_000 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect([...cache.keys()].sort()).toEqual(['a', 'c']);
  });
});
