import type { NodeState } from '@leasehold/domain';
import type { Located } from './node.repository';
import { RecentNodes } from './recent-nodes';

const TENANT = 'tenant';
const SHARE = 'share';

function located(path: string, fileId: string, version: number): Located {
  const node: NodeState = {
    kind: 'file',
    fileId,
    parentId: '0',
    path,
    metadata: {},
    properties: {},
    contentLength: 0,
    etag: '"0x1"',
    createdAt: '2026-11-21T00:00:00.000Z',
    lastModified: '2026-11-21T00:00:00.000Z',
    lease: { status: 'available', epoch: 0 },
    version,
  };
  const share = {
    shareId: '1',
    name: SHARE,
    quota: 1,
    metadata: {},
    etag: '"0x1"',
    lastModified: new Date(0),
    version: 1,
  };
  return { share, node, parentExists: true, parentId: '0', key: path.toLowerCase(), parentKey: '' };
}

/** A read the test finishes by hand. */
function controlledRead() {
  const started: Array<{ resolve(l: Located): void; reject(e: Error): void }> = [];
  const read = () => new Promise<Located>((resolve, reject) => started.push({ resolve, reject }));
  return { read, started };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('RecentNodes', () => {
  it('remembers by tenant, share and case-insensitive path, and forgets', () => {
    const recent = new RecentNodes();
    recent.remember(TENANT, located('Dir/File', '7', 3));
    expect(recent.get(TENANT, SHARE, ['dir', 'FILE'])?.node?.version).toBe(3);
    expect(recent.get('other', SHARE, ['dir', 'file'])).toBeUndefined();
    expect(recent.get(TENANT, 'other', ['dir', 'file'])).toBeUndefined();
    recent.forget(TENANT, located('Dir/File', '7', 3));
    expect(recent.get(TENANT, SHARE, ['dir', 'file'])).toBeUndefined();
  });

  it('keeps the newer state of a node when an older read arrives late, and takes any state of a new node at the path', () => {
    const recent = new RecentNodes();
    recent.remember(TENANT, located('f', '7', 5));
    recent.remember(TENANT, located('f', '7', 4));
    expect(recent.get(TENANT, SHARE, ['f'])?.node?.version).toBe(5);
    recent.remember(TENANT, located('f', '8', 1));
    expect(recent.get(TENANT, SHARE, ['f'])?.node).toMatchObject({ fileId: '8', version: 1 });
    recent.remember(TENANT, { ...located('f', '8', 1), node: undefined });
    expect(recent.get(TENANT, SHARE, ['f'])).toBeUndefined();
  });

  it('knows when a state has been superseded, and a forget of a superseded state keeps the later one', () => {
    const recent = new RecentNodes();
    const decidedOn = located('f', '7', 4);
    expect(recent.superseded(TENANT, decidedOn)).toBe(false);
    recent.remember(TENANT, located('f', '7', 4));
    expect(recent.superseded(TENANT, decidedOn)).toBe(false);
    recent.remember(TENANT, located('f', '7', 5));
    expect(recent.superseded(TENANT, decidedOn)).toBe(true);
    // Another node at the path is not a later version of this one.
    expect(recent.superseded(TENANT, located('f', '6', 4))).toBe(false);
    recent.forget(TENANT, decidedOn);
    expect(recent.get(TENANT, SHARE, ['f'])?.node?.version).toBe(5);
    recent.forget(TENANT, located('f', '7', 5));
    expect(recent.get(TENANT, SHARE, ['f'])).toBeUndefined();
  });

  it('holds at most 10,000 nodes, dropping the least recently used', () => {
    const recent = new RecentNodes();
    for (let i = 0; i < 10_000; i++) recent.remember(TENANT, located(`f${i}`, String(i), 1));
    expect(recent.get(TENANT, SHARE, ['f0'])).toBeDefined(); // used: now the most recent
    recent.remember(TENANT, located('f10000', '10000', 1));
    expect(recent.get(TENANT, SHARE, ['f0'])).toBeDefined();
    expect(recent.get(TENANT, SHARE, ['f1'])).toBeUndefined();
    expect(recent.get(TENANT, SHARE, ['f10000'])).toBeDefined();
  });

  it('shares reads: callers during a read join one read that starts after it ends', async () => {
    const recent = new RecentNodes();
    const { read, started } = controlledRead();
    const first = recent.read(TENANT, SHARE, ['f'], read);
    const second = recent.read(TENANT, SHARE, ['f'], read);
    const third = recent.read(TENANT, SHARE, ['f'], read);
    await flush();
    // Only the first read has begun: the others arrived after it did, so it cannot answer them.
    expect(started).toHaveLength(1);
    started[0].resolve(located('f', '7', 1));
    expect((await first).node?.version).toBe(1);
    await flush();
    expect(started).toHaveLength(2);
    started[1].resolve(located('f', '7', 2));
    expect([(await second).node?.version, (await third).node?.version]).toEqual([2, 2]);
    // What a read finds is remembered.
    expect(recent.get(TENANT, SHARE, ['f'])?.node?.version).toBe(2);
    // Nothing in flight any more: the next caller starts a read of its own at once.
    const fourth = recent.read(TENANT, SHARE, ['f'], read);
    await flush();
    expect(started).toHaveLength(3);
    started[2].resolve(located('f', '7', 3));
    expect((await fourth).node?.version).toBe(3);
  });

  it('a failed read fails the callers sharing it and not the next read', async () => {
    const recent = new RecentNodes();
    const { read, started } = controlledRead();
    const first = recent.read(TENANT, SHARE, ['f'], read);
    const second = recent.read(TENANT, SHARE, ['f'], read);
    await flush();
    started[0].reject(new Error('share gone'));
    await expect(first).rejects.toThrow('share gone');
    await flush();
    started[1].resolve(located('f', '7', 1));
    expect((await second).node?.version).toBe(1);
  });

  it('reads of different nodes do not wait for each other', async () => {
    const recent = new RecentNodes();
    const { read, started } = controlledRead();
    void recent.read(TENANT, SHARE, ['a'], read);
    void recent.read(TENANT, SHARE, ['b'], read);
    await flush();
    expect(started).toHaveLength(2);
    started.forEach((s, i) => s.resolve(located(i ? 'b' : 'a', String(i), 1)));
  });
});
