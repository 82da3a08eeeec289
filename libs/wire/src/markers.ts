import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Continuation markers are opaque to clients: a position, signed together with everything the
 * marker is valid for (operation, account, path, query). A forged marker, or one taken from
 * another account, path or query, fails the signature and is refused.
 */
export class MarkerCodec {
  constructor(private readonly secret: string) {}

  private sign(binding: string, payload: string): string {
    return createHmac('sha256', this.secret)
      .update(binding)
      .update('\n')
      .update(payload)
      .digest('base64url')
      .slice(0, 22);
  }

  encode(binding: string, position: unknown): string {
    const payload = Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
    return `${payload}.${this.sign(binding, payload)}`;
  }

  /** The position, or undefined when the marker is malformed, forged, bound to something else, or not of the expected shape. */
  decode<T>(binding: string, marker: string, isPosition: (value: unknown) => value is T): T | undefined {
    const dot = marker.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = marker.slice(0, dot);
    const expected = Buffer.from(this.sign(binding, payload));
    const given = Buffer.from(marker.slice(dot + 1));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const position: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      return isPosition(position) ? position : undefined;
    } catch {
      return undefined;
    }
  }
}

/** What a marker is bound to: the operation and everything in the request that chose its results. */
export const markerBinding = (...parts: (string | boolean)[]) => JSON.stringify(parts);
