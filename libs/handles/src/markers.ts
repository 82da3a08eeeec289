import { createHmac, timingSafeEqual } from 'node:crypto';

/** A position in the (node_key, handle_id) order of handles under a path. */
export interface HandlePosition {
  nodeKey: string;
  handleId: string;
}

/**
 * Continuation markers are opaque to clients: the position, signed together with everything the
 * marker is only valid for (operation, account, share, path, query). A forged marker, or one
 * taken from another account, path or query, fails the signature and is refused.
 */
export class MarkerCodec {
  constructor(private readonly secret: string) {}

  private sign(binding: string, payload: string): string {
    return createHmac('sha256', this.secret).update(binding).update('\n').update(payload).digest('base64url').slice(0, 22);
  }

  encode(binding: string, position: HandlePosition): string {
    const payload = Buffer.from(JSON.stringify([position.nodeKey, position.handleId]), 'utf8').toString('base64url');
    return `${payload}.${this.sign(binding, payload)}`;
  }

  /** The position, or undefined when the marker is malformed, forged or bound to something else. */
  decode(binding: string, marker: string): HandlePosition | undefined {
    const dot = marker.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = marker.slice(0, dot);
    const expected = Buffer.from(this.sign(binding, payload));
    const given = Buffer.from(marker.slice(dot + 1));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      const [nodeKey, handleId] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      if (typeof nodeKey !== 'string' || typeof handleId !== 'string' || !/^\d{1,19}$/.test(handleId)) return undefined;
      return { nodeKey, handleId };
    } catch {
      return undefined;
    }
  }
}

/** What a marker is bound to. */
export const markerBinding = (operation: string, account: string, shareId: string, nodeKey: string, recursive: boolean, handleId: string) =>
  JSON.stringify([operation, account, shareId, nodeKey, recursive, handleId]);
