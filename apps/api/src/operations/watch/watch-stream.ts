import { Checkpoint } from '@leasehold/event-store';
import { PublishedWatchEvent, WatchEvent, Watcher } from '@leasehold/watch';
import { Readable } from 'node:stream';

/** Items taken from the watcher per write to the socket. */
const TAKE = 100;

/** The public form of a watch event: its cursor first, then what happened where. */
export function publicEvent(event: WatchEvent, cursor: string): PublishedWatchEvent {
  const { checkpoint, ...rest } = event;
  return { cursor, ...rest };
}

/**
 * A watch as Server-Sent Events. Each change is a message whose `id` is its cursor, so an
 * EventSource reconnecting with Last-Event-ID resumes exactly after it; an idle stream gets a
 * heartbeat every `heartbeatMs` whose `id` is the cursor past everything it has been sent (no data:
 * browsers take the id without firing an event). A watcher that falls too far behind ends the
 * stream with a `resume` event naming the cursor to reconnect from. Back-pressure: nothing more is
 * taken while the socket's buffer is full; destroying the stream (the client went away) closes the
 * watcher.
 */
export class WatchStream extends Readable {
  private pumping = false;

  constructor(
    private readonly watcher: Watcher,
    private readonly cursorOf: (checkpoint: Checkpoint) => string,
    private readonly heartbeatMs: number,
  ) {
    super();
    // The starting cursor at once: a client that drops before any change still resumes from here.
    this.push(`retry: 1000\nid: ${cursorOf(watcher.cursor())}\n\n`);
  }

  override _read(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.pump().catch((error) => this.destroy(error as Error));
  }

  private async pump(): Promise<void> {
    while (!this.destroyed) {
      const items = await this.watcher.take(TAKE, this.heartbeatMs);
      if (this.destroyed) return;
      let chunk = '';
      let ended = false;
      for (const item of items) {
        if (item.kind === 'event') {
          const cursor = this.cursorOf(item.event.checkpoint);
          chunk += `id: ${cursor}\ndata: ${JSON.stringify(publicEvent(item.event, cursor))}\n\n`;
        } else {
          const cursor = this.cursorOf(item.after);
          chunk += `event: resume\nid: ${cursor}\ndata: ${JSON.stringify({ cursor, reason: 'The watcher fell too far behind; reconnect from this cursor.' })}\n\n`;
          ended = true;
        }
      }
      if (items.length === 0) {
        if (this.watcher.isClosed) ended = true;
        else chunk = `id: ${this.cursorOf(this.watcher.cursor())}\n: heartbeat\n\n`;
      }
      const more = chunk === '' || this.push(chunk);
      if (ended) {
        this.push(null);
        return;
      }
      if (!more) {
        this.pumping = false;
        return;
      }
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.watcher.close();
    callback(error);
  }
}
