import type { Session } from './session';

/** One change, as the watch stream reports it (README "Watch (extension)"). */
export interface Change {
  cursor: string;
  type: string;
  share: string;
  path: string;
  leaseId?: string;
  epoch?: number;
  handleId?: string;
  handleIds?: string[];
  recursive?: boolean;
  job?: { id: string; chunks?: number; closed?: number };
  time: string;
  principal?: string;
}

export type WatchState = 'connecting' | 'live' | 'reconnecting';

/**
 * The console's one watch over everything it may see (the account, or a SAS's share), as
 * Server-Sent Events read through fetch: EventSource cannot sign a request. A dropped stream (or a
 * `resume` event) reconnects after a second with Last-Event-ID, so no change is missed between.
 */
export class Watch {
  private readonly listeners = new Set<(change: Change) => void>();
  private readonly abort = new AbortController();
  private lastEventId?: string;

  constructor(
    private readonly session: Session,
    private readonly onState: (state: WatchState) => void,
  ) {
    void this.run();
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.stream();
      } catch {
        // Reconnects below, from the last cursor seen.
      }
      if (this.abort.signal.aborted) return;
      this.onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  private async stream(): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
    const url = this.session.url(this.session.onlyShare, '', {
      comp: 'watch',
      recursive: this.session.onlyShare ? 'true' : undefined,
    });
    const response = await this.session.send('GET', url, { headers, signal: this.abort.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (this.dispatch(block) === 'resume') return;
      }
    }
  }

  /** One block: every block carries the cursor (`id`); a message (`data`) is a change. */
  private dispatch(block: string): 'resume' | undefined {
    let event: string | undefined;
    let data: string | undefined;
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') this.lastEventId = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data = value;
    }
    // The opening block (the starting cursor) means the watch is in place.
    this.onState('live');
    if (event === 'resume') return 'resume';
    if (data !== undefined) {
      const change = JSON.parse(data) as Change;
      for (const listener of this.listeners) listener(change);
    }
    return undefined;
  }
}
