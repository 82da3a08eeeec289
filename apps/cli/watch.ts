import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PublishedWatchEvent } from '@leasehold/watch';
import { LeaseholdClient } from './client';
import { SseParser } from './sse';

/** A change as the watch reports it (the API description at /_docs has every field). */
export type Change = PublishedWatchEvent;

/** What a watch follows below its path: the whole subtree or not, and which event types. */
export interface WatchScope {
  recursive?: boolean;
  types?: string[];
}

/** The service's advice (the stream's `retry` field) on how long to wait before reconnecting. */
const RECONNECT_MS = 1000;

const watchQuery = (scope: WatchScope) => ({
  comp: 'watch',
  recursive: scope.recursive ? 'true' : undefined,
  type: scope.types?.join(','),
});

/**
 * Where the log is now for this watch, without waiting (a long poll with timeout 0): every change
 * committed after the answer comes after this cursor, and everything at or before it is committed.
 */
export async function cursorNow(client: LeaseholdClient, target: string, scope: WatchScope): Promise<string> {
  const { cursor } = await client.sendJson<{ cursor: string }>('GET', target, { ...watchQuery(scope), timeout: '0' });
  return cursor;
}

/**
 * The changes under `target` after `cursor` (or from now), for as long as the caller takes them,
 * over Server-Sent Events. It keeps the id of every block (changes, the opening cursor,
 * heartbeats) and, when the stream ends (the API process is stopping, or the watch fell behind and
 * was told to resume) or the connection drops, opens it again with that id as Last-Event-ID: no
 * change is missed or repeated across reconnects. `opened` is called each time the service has the
 * watch in place (it answers once it has).
 */
export async function* follow(
  client: LeaseholdClient,
  target: string | undefined,
  scope: WatchScope,
  cursor?: string,
  opened?: () => void,
): AsyncGenerator<Change> {
  for (;;) {
    const response = await client.send(
      'GET',
      target,
      watchQuery(scope),
      { accept: 'text/event-stream', 'last-event-id': cursor },
      { stream: true },
    );
    opened?.();
    const body = response.readableStreamBody as Readable;
    body.setEncoding('utf8');
    const chunks = body[Symbol.asyncIterator]();
    const parser = new SseParser();
    try {
      for (;;) {
        // A dropped connection ends the stream as the service ending it does: reconnect from the last id.
        const next = await chunks.next().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) break;
        for (const block of parser.feed(next.value as string)) {
          if (block.id !== undefined) cursor = block.id;
          // Named events (`resume`) are about the stream, not changes; their id is where to go on.
          if (block.data !== undefined && block.event === undefined) yield JSON.parse(block.data) as Change;
        }
      }
    } finally {
      body.destroy();
    }
    await sleep(RECONNECT_MS);
  }
}
