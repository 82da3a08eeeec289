export interface BatcherOptions<I> {
  /** Items in one batch at most. */
  maxBatch: number;
  /**
   * Batches in flight at once: enough to keep PostgreSQL busy on a few cores, few enough that the
   * items arriving meanwhile gather into the next batch instead of each taking a connection.
   */
  maxInFlight: number;
  /**
   * Items with the same key are never in flight together: a later one waits until the batch
   * carrying the earlier has ended, so it goes out knowing how that one went.
   */
  key?: (item: I) => string;
}

interface Queued<I, O> {
  item: I;
  resolve(result: O): void;
  reject(error: unknown): void;
}

/**
 * Turns concurrent calls into batches: a call made while fewer than `maxInFlight` batches run goes
 * out at once (alone when the service is quiet); calls made while they all run gather into the next
 * batch. So a statement's round trip and commit are shared by as many calls as arrive during one,
 * and nobody waits for a timer. `run` answers a batch with one result per item, in order; when it
 * throws, every item of the batch fails with that error.
 */
export class Batcher<I, O> {
  private queue: Array<Queued<I, O>> = [];
  private inFlight = 0;
  /** The keys of the items in flight. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions<I>,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    const { maxBatch, maxInFlight, key } = this.options;
    while (this.inFlight < maxInFlight && this.queue.length > 0) {
      const batch: Array<Queued<I, O>> = [];
      const keys: string[] = [];
      const waiting: Array<Queued<I, O>> = [];
      for (const queued of this.queue) {
        const k = key?.(queued.item);
        if (batch.length < maxBatch && (k === undefined || !this.busy.has(k))) {
          if (k !== undefined) {
            this.busy.add(k);
            keys.push(k);
          }
          batch.push(queued);
        } else {
          waiting.push(queued);
        }
      }
      this.queue = waiting;
      // Everything queued waits for a key in flight: the batch carrying it pumps again when it ends.
      if (batch.length === 0) return;
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        for (const k of keys) this.busy.delete(k);
        this.pump();
      });
    }
  }

  private async write(batch: Array<Queued<I, O>>): Promise<void> {
    try {
      const results = await this.run(batch.map((q) => q.item));
      batch.forEach((q, i) => q.resolve(results[i]));
    } catch (error) {
      batch.forEach((q) => q.reject(error));
    }
  }
}
