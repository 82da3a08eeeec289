import { EventStore, RecordedEvent } from '@leasehold/event-store';
import { fieldsOf, isWatchedType, Place, placeOfFirstEvent, toWatchEvent, WatchEvent } from './watch-event';

/** Streams whose place is remembered; a stream's place never changes, so a forgotten one is only read again. */
const REMEMBERED = 50_000;

const key = (tenant: string, stream: string) => `${tenant}\n${stream}`;

/**
 * Finds where events happen. Lease and most handle and job events do not say; the first event of
 * their stream does (a file's creation, a handle's opening, a job's submission), and the log keeps
 * it for ever, so a place is found even for a file deleted since. A renamed or moved file
 * (NodeRenamed, NodeMoved) is still reported at the path it was created at: following renames
 * needs the place by stream version, not per stream.
 */
export class StreamPlaces {
  private readonly known = new Map<string, Place | null>();

  constructor(private readonly store: EventStore) {}

  /** The watch events among recorded ones, in the same order. */
  async toWatchEvents(events: RecordedEvent[]): Promise<Array<{ tenant: string; event: WatchEvent }>> {
    const watched = events.filter((e) => isWatchedType(e.type));
    // The batch's own first events come first: a stream created in it needs no read.
    for (const e of watched) {
      const place =
        e.streamVersion === 1 ? placeOfFirstEvent(e, (stream) => this.shareOf(e.tenant, stream)) : undefined;
      if (place) this.remember(e.tenant, e.streamId, place);
    }
    await this.resolve(watched.map((e) => ({ tenant: e.tenant, streamId: e.streamId })));
    const out: Array<{ tenant: string; event: WatchEvent }> = [];
    for (const e of watched) {
      const place = this.known.get(key(e.tenant, e.streamId));
      if (place?.share !== undefined)
        out.push({ tenant: e.tenant, event: toWatchEvent(e, place as Place & { share: string }) });
    }
    return out;
  }

  private shareOf(tenant: string, shareStream: string): string | undefined {
    return this.known.get(key(tenant, shareStream))?.share;
  }

  private remember(tenant: string, stream: string, place: Place | null): void {
    const k = key(tenant, stream);
    if (this.known.has(k)) return;
    if (this.known.size >= REMEMBERED) this.known.delete(this.known.keys().next().value!);
    this.known.set(k, place);
  }

  /** Reads the first events of the streams not yet known, then of the shares they name. */
  private async resolve(streams: Array<{ tenant: string; streamId: string }>): Promise<void> {
    const missing = new Map<string, { tenant: string; streamId: string }>();
    for (const s of streams) if (!this.known.has(key(s.tenant, s.streamId))) missing.set(key(s.tenant, s.streamId), s);
    if (missing.size === 0) return;
    const firsts = await this.store.readFirstEvents([...missing.values()]);
    const shares = new Map<string, { tenant: string; streamId: string }>();
    for (const f of firsts) {
      const { shareId, shareName } = fieldsOf(f);
      if (
        typeof shareId === 'string' &&
        shareName === undefined &&
        !this.known.has(key(f.tenant, `share-${shareId}`))
      ) {
        shares.set(key(f.tenant, `share-${shareId}`), { tenant: f.tenant, streamId: `share-${shareId}` });
      }
    }
    for (const s of await this.store.readFirstEvents([...shares.values()]))
      this.remember(s.tenant, s.streamId, placeOfFirstEvent(s, () => undefined) ?? null);
    // A stream without a place (an account's) is remembered as such, so it is not read again.
    for (const f of firsts)
      this.remember(f.tenant, f.streamId, placeOfFirstEvent(f, (stream) => this.shareOf(f.tenant, stream)) ?? null);
  }
}
