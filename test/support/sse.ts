import { randomUUID } from 'node:crypto';
import { ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import { SseBlock, SseParser } from '../../apps/cli/sse';
import { sharedKeySignature } from './signed-request';

export type { SseBlock };

/**
 * A Server-Sent Events client over node:http, signed with Shared Key (or carrying a SAS in the
 * query), that parses blocks as the EventSource specification does, for tests that must see every
 * id and heartbeat and drop the connection at a moment of their choosing.
 */
export class SseStream {
  private readonly parser = new SseParser();
  private readonly blocks: SseBlock[] = [];
  private waiter?: () => void;
  ended = false;

  private constructor(
    private readonly req: ClientRequest,
    readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.blocks.push(...this.parser.feed(chunk));
      this.wake();
    });
    const finish = () => {
      this.ended = true;
      this.wake();
    };
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
  }

  static open(
    baseUrl: string,
    options: {
      path: string;
      query: string;
      headers?: Record<string, string>;
      signer?: { account: string; key: string };
    },
  ): Promise<SseStream> {
    const headers: Record<string, string> = {
      'x-ms-date': new Date().toUTCString(),
      'x-ms-version': '2026-04-06',
      'x-ms-client-request-id': randomUUID(),
      accept: 'text/event-stream',
      ...options.headers,
    };
    if (options.signer) {
      const signature = sharedKeySignature(
        { method: 'GET', rawPath: options.path, rawQuery: options.query, headers },
        options.signer.account,
        options.signer.key,
      );
      headers['authorization'] = `SharedKey ${options.signer.account}:${signature}`;
    }
    const url = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'GET',
          path: `${options.path}?${options.query}`,
          headers,
          agent: false,
        },
        (res) => resolve(new SseStream(req, res)),
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** The whole body, for a request the service refused. */
  async text(): Promise<string> {
    let text = '';
    this.response.removeAllListeners('data');
    this.response.on('data', (chunk: string) => (text += chunk));
    if (!this.response.complete) await new Promise((resolve) => this.response.on('end', resolve));
    return text;
  }

  /** The next block, waiting up to `timeoutMs`; undefined when the stream ended or the time passed. */
  async next(timeoutMs = 10_000): Promise<SseBlock | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.blocks.length && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.blocks.shift();
  }

  /** The next `n` messages (blocks with data), skipping heartbeats; fails if they do not come in time. */
  async messages(n: number, timeoutMs = 10_000): Promise<Array<{ id: string; event?: string; data: any }>> {
    const out: Array<{ id: string; event?: string; data: any }> = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      const block = await this.next(deadline - Date.now());
      if (!block)
        throw new Error(
          `only ${out.length} of ${n} messages arrived: ${JSON.stringify(out.map((m) => m.data?.type ?? m.event))}`,
        );
      if (block.data !== undefined) out.push({ id: block.id!, event: block.event, data: JSON.parse(block.data) });
    }
    return out;
  }

  /** Drops the connection, as a client that crashes or loses its network. */
  close(): void {
    this.req.destroy();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
