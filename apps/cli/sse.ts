/** One Server-Sent Events block: a message (data), a named event, or a heartbeat (id and a comment, no data). */
export interface SseBlock {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/**
 * Splits a text/event-stream body into blocks and parses their fields as the EventSource
 * specification does. Unlike eventsource-parser, it keeps the blocks without data: the watch sends
 * its starting cursor and its heartbeats as an `id` with no data, and a client that resumes from
 * them (Last-Event-ID) must see them.
 */
export class SseParser {
  private buffer = '';

  /** The blocks a chunk completes, in order. */
  feed(chunk: string): SseBlock[] {
    this.buffer += chunk;
    const blocks: SseBlock[] = [];
    for (let end = this.buffer.indexOf('\n\n'); end !== -1; end = this.buffer.indexOf('\n\n')) {
      blocks.push(parseBlock(this.buffer.slice(0, end)));
      this.buffer = this.buffer.slice(end + 2);
    }
    return blocks;
  }
}

function parseBlock(text: string): SseBlock {
  const block: SseBlock = {};
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) {
      block.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') block.data = block.data === undefined ? value : `${block.data}\n${value}`;
    else if (field === 'id' || field === 'event') block[field] = value;
  }
  return block;
}
