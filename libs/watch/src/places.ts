import { EventStore, RecordedEvent } from '@leasehold/event-store';
import { fieldsOf, isWatchedType, MOVES, Place, placeOfFirstEvent, toWatchEvent, WatchEvent } from './watch-event';

/** Streams whose places are remembered; a forgotten one is only read again. */
const REMEMBERED = 50_000;

/** A stream's place from a stream version on. */
interface PlaceFrom {
  version: number;
  place: Place;
}

const key = (tenant: string, stream: string) => `${tenant}\n${stream}`;

/**
 * Finds where events happen. Lease and most handle and job events do not say; the first event of
 * their stream does (a file's creation, a handle's opening, a job's submission), and the log keeps
 * it for ever, so a place is found even for a file deleted since. A renamed or moved node keeps its
 * stream (NodeRenamed, NodeMoved carry the new path), so a stream's place is kept by stream
 * version, as the audit projection follows renames by stream: each event is reported where its
 * node was when it happened, whichever reader (the feed, or a watcher catching up on older events)
 * asks.
 *
 * What is remembered must hold every move up to the newest event any reader may ask about: a
 * stream read from the log (first event and moves) holds them up to that read, and the feed, which
 * reads every later event in order while anyone watches, adds each move it passes. So only the
 * feed remembers a stream from a first event in its own batch (a watcher catching up on old
 * events would remember it without the moves that followed), and the feed forgets everything when
 * it stops following the log.
 */
export class StreamPlaces {
  /** tenant and stream → its places in version order; null for a stream without one (an account's). */
  private readonly known = new Map<string, PlaceFrom[] | null>();

  constructor(private readonly store: EventStore) {}

  /**
   * The watch events among recorded ones, in the same order; `live` for the feed's own reads.
   * `firstEvents`, when given, are what readFirstEvents gives for every stream of `events` (read
   * with them: readAllWithFirstEvents), so nothing more is read but the first events of shares not
   * yet known.
   */
  async toWatchEvents(
    events: RecordedEvent[],
    live = false,
    firstEvents?: RecordedEvent[],
  ): Promise<Array<{ tenant: string; event: WatchEvent }>> {
    const watched = events.filter((e) => isWatchedType(e.type));
    // The batch's own first events come first: a stream created in it needs no read.
    const created = new Map<string, PlaceFrom[]>();
    for (const e of watched) {
      const place =
        e.streamVersion === 1 ? placeOfFirstEvent(e, (stream) => this.shareOf(e.tenant, stream, created)) : undefined;
      if (!place || this.known.has(key(e.tenant, e.streamId))) continue;
      if (live) this.remember(e.tenant, e.streamId, [{ version: 1, place }]);
      else created.set(key(e.tenant, e.streamId), [{ version: 1, place }]);
    }
    await this.resolve(
      watched.filter((e) => !created.has(key(e.tenant, e.streamId))),
      firstEvents,
    );
    // The batch's moves before its events: a lease change just after a rename is at the new path.
    for (const e of watched) if (MOVES.includes(e.type)) this.moved(e, created);
    const out: Array<{ tenant: string; event: WatchEvent }> = [];
    for (const e of watched) {
      const place = this.placeOf(e.tenant, e.streamId, e.streamVersion, created);
      if (place?.share !== undefined)
        out.push({ tenant: e.tenant, event: toWatchEvent(e, place as Place & { share: string }) });
    }
    return out;
  }

  /** Forgets every place: the feed stopped following the log, so moves from now on would pass unseen. */
  forget(): void {
    this.known.clear();
  }

  private placesOf(tenant: string, stream: string, created?: Map<string, PlaceFrom[]>): PlaceFrom[] | null | undefined {
    const k = key(tenant, stream);
    return created?.get(k) ?? this.known.get(k);
  }

  /** Where a stream was at a version: its latest place from that version or before. */
  private placeOf(
    tenant: string,
    stream: string,
    version: number,
    created: Map<string, PlaceFrom[]>,
  ): Place | undefined {
    let found: Place | undefined;
    for (const p of this.placesOf(tenant, stream, created) ?? []) if (p.version <= version) found = p.place;
    return found;
  }

  private shareOf(tenant: string, shareStream: string, created?: Map<string, PlaceFrom[]>): string | undefined {
    return this.placesOf(tenant, shareStream, created)?.[0]?.place.share;
  }

  /** A rename or move of a known stream: its new path from the event's version on (once, whoever read it first). */
  private moved(e: RecordedEvent, created?: Map<string, PlaceFrom[]>): void {
    const places = this.placesOf(e.tenant, e.streamId, created);
    const path = fieldsOf(e).path;
    if (!places?.length || typeof path !== 'string' || places.some((p) => p.version === e.streamVersion)) return;
    places.push({ version: e.streamVersion, place: { share: places[0].place.share, path } });
    places.sort((a, b) => a.version - b.version);
  }

  private remember(tenant: string, stream: string, places: PlaceFrom[] | null): void {
    const k = key(tenant, stream);
    if (this.known.has(k)) return;
    if (this.known.size >= REMEMBERED) this.known.delete(this.known.keys().next().value!);
    this.known.set(k, places);
  }

  /**
   * Reads the first events and the moves of the streams not yet known (or takes them from those
   * already read), then the first events of the shares they name.
   */
  private async resolve(
    streams: Array<{ tenant: string; streamId: string }>,
    firstEvents?: RecordedEvent[],
  ): Promise<void> {
    const missing = new Map<string, { tenant: string; streamId: string }>();
    for (const s of streams) if (!this.known.has(key(s.tenant, s.streamId))) missing.set(key(s.tenant, s.streamId), s);
    if (missing.size === 0) return;
    const read = firstEvents
      ? firstEvents.filter((e) => missing.has(key(e.tenant, e.streamId)))
      : await this.store.readFirstEvents([...missing.values()], MOVES);
    const firsts = read.filter((e) => e.streamVersion === 1);
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
    for (const s of await this.store.readFirstEvents([...shares.values()])) {
      const place = placeOfFirstEvent(s, () => undefined);
      this.remember(s.tenant, s.streamId, place ? [{ version: 1, place }] : null);
    }
    // A stream without a place (an account's) is remembered as such, so it is not read again.
    for (const f of firsts) {
      const place = placeOfFirstEvent(f, (stream) => this.shareOf(f.tenant, stream));
      this.remember(f.tenant, f.streamId, place ? [{ version: 1, place }] : null);
    }
    for (const e of read) if (e.streamVersion !== 1) this.moved(e);
  }
}
