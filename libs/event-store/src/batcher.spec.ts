import { Batcher } from './batcher';

/** Lets every settled promise's callbacks run (the batcher starts the next batch in one). */
const settled = () => new Promise((done) => setImmediate(done));

/** A run whose batches finish when the test says so. */
function controlled() {
  const batches: string[][] = [];
  const finish: Array<() => void> = [];
  const run = (items: string[]) => {
    batches.push(items);
    return new Promise<string[]>((done) => finish.push(() => done(items.map((i) => i.toUpperCase()))));
  };
  return { batches, finish, run };
}

describe('Batcher', () => {
  it('sends a call at once while fewer batches than allowed run, and gathers the calls made meanwhile', async () => {
    const { batches, finish, run } = controlled();
    const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1 });
    const first = batcher.submit('a');
    const rest = ['b', 'c', 'd'].map((i) => batcher.submit(i));
    expect(batches).toEqual([['a']]);
    finish[0]();
    expect(await first).toBe('A');
    await settled();
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    finish[1]();
    expect(await Promise.all(rest)).toEqual(['B', 'C', 'D']);
  });

  it('keeps batches to maxBatch items and runs up to maxInFlight of them at once', () => {
    const { batches, run } = controlled();
    const batcher = new Batcher(run, { maxBatch: 2, maxInFlight: 2 });
    ['a', 'b', 'c', 'd', 'e'].forEach((i) => void batcher.submit(i));
    expect(batches).toEqual([['a'], ['b']]);
  });

  it('never puts two items with one key in a batch: the later waits for the next', async () => {
    const { batches, finish, run } = controlled();
    const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1, key: (i: string) => i[0] });
    const calls = ['x1', 'x2', 'y1', 'x3'].map((i) => batcher.submit(i));
    expect(batches).toEqual([['x1']]);
    finish[0]();
    await calls[0];
    await settled();
    expect(batches[1]).toEqual(['x2', 'y1']);
    finish[1]();
    await calls[1];
    await settled();
    expect(batches[2]).toEqual(['x3']);
    finish[2]();
    expect(await Promise.all(calls)).toEqual(['X1', 'X2', 'Y1', 'X3']);
  });

  it('holds an item while its key is in flight, even with room for another batch, and sends it when that batch ends', async () => {
    const { batches, finish, run } = controlled();
    const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 4, key: (i: string) => i[0] });
    const calls = ['x1', 'x2'].map((i) => batcher.submit(i));
    const other = batcher.submit('y1');
    expect(batches).toEqual([['x1'], ['y1']]);
    finish[1]();
    expect(await other).toBe('Y1');
    await settled();
    expect(batches).toHaveLength(2);
    finish[0]();
    await calls[0];
    await settled();
    expect(batches[2]).toEqual(['x2']);
    finish[2]();
    expect(await Promise.all(calls)).toEqual(['X1', 'X2']);
  });

  it('fails every item of a batch whose run throws, and goes on with the next', async () => {
    let fail = true;
    const batcher = new Batcher(
      async (items: number[]) => {
        if (fail) throw new Error('down');
        return items.map((i) => i * 2);
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const failed = [batcher.submit(1), batcher.submit(2)];
    await expect(failed[0]).rejects.toThrow('down');
    await expect(failed[1]).rejects.toThrow('down');
    fail = false;
    expect(await batcher.submit(3)).toBe(6);
  });
});
