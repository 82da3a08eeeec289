import { Injectable } from '@nestjs/common';
import { pathKey } from '@leasehold/domain';
import { expiringCache } from '@leasehold/event-store';
import type { Located } from './node.repository';

/** Enough for every file a busy process touches in a while; about 1 KiB each. */
const CAPACITY = 10_000;
/** A guess older than this is not worth its memory: the next write reads afresh. */
const REMEMBER_MS = 10 * 60_000;

const entryKey = (tenant: string, share: string, key: string) => `${tenant}/${share}/${key}`;

/** The read of a node in flight, and the one queued to start when it ends. */
interface Reads {
  running?: Promise<Located>;
  queued?: Promise<Located>;
}

/**
 * What this process last knew of each recently used node, so that the next write decided on it
 * skips the read: one round trip instead of two. It is a guess, never an answer: other processes
 * write too, so a write decided on it is guarded by the version it carries (a stale guess fails the
 * guard and the command reads afresh), and a command must not answer from it alone (a refusal, or a
 * success with nothing to write, is decided again on a fresh read).
 *
 * Fresh reads of one node are shared: a caller joins the read queued to start after the one in
 * flight, so every answer still comes from a read that began after its request arrived, and a hot
 * file costs one read per round of waiting requests instead of one per request.
 */
@Injectable()
export class RecentNodes {
  private readonly entries = expiringCache<string, Located>({ max: CAPACITY, ttl: REMEMBER_MS });
  private readonly reads = new Map<string, Reads>();

  get(tenant: string, share: string, path: string[]): Located | undefined {
    const key = entryKey(tenant, share, pathKey(path));
    return this.entries.get(key);
  }

  /** Reads the node with `read`, sharing the read with concurrent callers as described above, and remembers it. */
  read(tenant: string, share: string, path: string[], read: () => Promise<Located>): Promise<Located> {
    const key = entryKey(tenant, share, pathKey(path));
    let reads = this.reads.get(key);
    if (!reads) this.reads.set(key, (reads = {}));
    if (reads.queued) return reads.queued;
    const lane = reads;
    const start = (): Promise<Located> => {
      const running = read().then((located) => {
        this.remember(tenant, located);
        return located;
      });
      lane.running = running;
      const settle = () => {
        if (lane.running === running) lane.running = undefined;
        if (!lane.running && !lane.queued && this.reads.get(key) === lane) this.reads.delete(key);
      };
      running.then(settle, settle);
      return running;
    };
    if (!lane.running) return start();
    const queued = lane.running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        lane.queued = undefined;
        return start();
      });
    lane.queued = queued;
    return queued;
  }

  /**
   * Records a committed state; `located.node` undefined (deleted) forgets the path. A state older
   * than the one remembered for the same node (a read that was overtaken by a write) is ignored.
   */
  remember(tenant: string, located: Located): void {
    const key = entryKey(tenant, located.share.name, located.key);
    const known = this.entries.peek(key)?.node;
    const node = located.node;
    if (node && known && known.fileId === node.fileId && known.version > node.version) return;
    // set() replaces in place; delete() of a cache's only entry clears all its slots (lru-cache 11),
    // which cost a one-file writer a sweep of CAPACITY slots per write.
    if (node) this.entries.set(key, located);
    else this.entries.delete(key);
  }

  /**
   * Forgets the node as `located` had it (a write decided on it failed, or may yet roll back). A
   * later state of the same node, remembered meanwhile from a write that won, stays.
   */
  forget(tenant: string, located: Located): void {
    if (!this.superseded(tenant, located)) this.entries.delete(entryKey(tenant, located.share.name, located.key));
  }

  /**
   * Whether this process has since remembered a later version of the node `located` holds: a
   * write guarded by `located`'s version is then bound to fail, as versions only grow.
   */
  superseded(tenant: string, located: Located): boolean {
    const known = this.entries.peek(entryKey(tenant, located.share.name, located.key))?.node;
    const node = located.node;
    return !!node && !!known && known.fileId === node.fileId && known.version > node.version;
  }
}
