import { Logger } from '@nestjs/common';
import { DomainError } from '@leasehold/domain';
import {
  Checkpoint,
  compareCheckpoints,
  EVENTS_CHANNEL,
  EventStore,
  executorOn,
  LISTENER_APPLICATION_NAME,
  LISTENER_CHECK_MS,
} from '@leasehold/event-store';
import { Client } from 'pg';
import { StreamPlaces } from './places';
import { isBelow, matches, MOVES, visibleTo, watchPathKey, WatchEvent, WatchFilter } from './watch-event';

export interface WatchFeedOptions {
  databaseUrl: string;
  /** Events held for one watcher that has not taken them yet; beyond it the watcher is told to resume. */
  bufferEvents: number;
  /** Watchers one tenant may hold open on this process. */
  limitPerTenant: number;
  /** The safety-net poll when no notification comes (a lost LISTEN connection, a NOTIFY lost with the process that owed it). */
  pollMs?: number;
  /** Events per read of the log. */
  batchSize?: number;
  /**
   * How long after its LISTEN connection is up the feed polls every BRISK_POLL_MS, as writers that
   * looked for listeners just before notify nobody until they look again: 2 × LISTENER_CHECK_MS.
   */
  briskMs?: number;
}

/** What a watcher takes: the next event, or "resume after this checkpoint" when it fell too far behind (then it is closed). */
export type WatchItem = { kind: 'event'; event: WatchEvent } | { kind: 'resume'; after: Checkpoint };

const DEFAULT_POLL_MS = 1_000;
const RECONNECT_MS = 1_000;
/** While a committed event waits behind an older open transaction, or after a failed read, read again after 2, 4, 8… ms, up to the poll period. */
const FIRST_RETRY_MS = 2;
/** The poll period for a while after the LISTEN connection is up (WatchFeedOptions.briskMs). */
const BRISK_POLL_MS = 10;

/** The index key of a watched place: '' for the whole account, `share/` for a share, `share/path` below it. */
const placeKey = (share: string | undefined, pathKey = '') => (share === undefined ? '' : `${share}/${pathKey}`);

/**
 * The index keys under which watchers of an event may be: the account, the share, each ancestor
 * directory and the path itself; for a rename or move, those of its former path too; for a
 * recursive close, every watched place below its directory (of `watched`, the keys watched in the
 * tenant). That scan is cheap enough: a recursive close is one event per chunk of up to 5,000 handles.
 */
function keysOf(event: WatchEvent, watched: Iterable<string>): Set<string> {
  const keys = new Set(['', placeKey(event.share)]);
  for (const at of event.from === undefined ? [event.path] : [event.path, event.from]) {
    const path = watchPathKey(at);
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1))
      keys.add(placeKey(event.share, path.slice(0, i)));
    if (path !== '') keys.add(placeKey(event.share, path));
  }
  if (event.recursive) {
    const share = placeKey(event.share);
    for (const key of watched) if (key.startsWith(share) && isBelow(key.slice(share.length), event.path)) keys.add(key);
  }
  return keys;
}

/**
 * One watch: the events of its filter after a checkpoint, in the log's order. It first reads what
 * it missed from the log (up to the point where the feed took over), then takes the feed's events.
 * One consumer calls next() (or take()) at a time.
 */
export class Watcher {
  private readonly queue: WatchEvent[] = [];
  private page: WatchEvent[] = [];
  /** The last event handed out, or where the watch started. */
  private delivered: Checkpoint;
  /** How far the catch-up read of the log has got. */
  private scanned: Checkpoint;
  /** While set, the log up to here must be read before the queue: the feed had passed it when the watch began. */
  private catchUpTo?: Checkpoint;
  private resume = false;
  private closed = false;
  private waiter?: () => void;

  constructor(
    private readonly feed: WatchFeed,
    readonly filter: WatchFilter,
    start: Checkpoint,
    catchUpTo: Checkpoint | undefined,
    private readonly bufferEvents: number,
  ) {
    this.delivered = this.scanned = start;
    this.catchUpTo = catchUpTo;
  }

  /** True once the watch has ended: closed, or its resume signal taken. */
  get isClosed(): boolean {
    return this.closed;
  }

  get key(): string {
    return placeKey(this.filter.share, this.filter.pathKey);
  }

  /** A live event of this watcher's tenant, in the log's order (called by the feed). */
  offer(event: WatchEvent): void {
    if (this.closed || this.resume || !matches(this.filter, event)) return;
    // Already read from the log by the catch-up, or before the checkpoint the watch resumed after.
    if (this.catchUpTo && compareCheckpoints(event.checkpoint, this.catchUpTo) <= 0) return;
    if (compareCheckpoints(event.checkpoint, this.delivered) <= 0) return;
    if (this.queue.length >= this.bufferEvents) {
      if (this.catchUpTo) {
        // Still catching up: the log holds these events too, so read further from it instead.
        this.queue.length = 0;
        this.catchUpTo = event.checkpoint;
        return;
      }
      // Live and too far behind: never drop silently; tell the consumer where to resume from.
      this.resume = true;
      this.queue.length = 0;
      this.feed.release(this);
      this.wake();
      return;
    }
    this.queue.push(event);
    this.wake();
  }

  /** The next item, waiting for one; undefined once closed. */
  async next(): Promise<WatchItem | undefined> {
    return (await this.take(1, Number.POSITIVE_INFINITY))[0];
  }

  /** The next item if one is ready now, without waiting. */
  poll(): WatchItem | undefined {
    if (this.closed) return undefined;
    if (this.resume) {
      this.closed = true;
      return { kind: 'resume', after: this.delivered };
    }
    const event = this.page.length ? this.page.shift() : this.catchUpTo ? undefined : this.queue.shift();
    if (!event) return undefined;
    this.delivered = event.checkpoint;
    return { kind: 'event', event: visibleTo(this.filter, event) };
  }

  /**
   * Up to `max` items: waits up to `timeoutMs` for the first, then takes what is ready. Nothing is
   * taken after it returns, so cursor() then names exactly what the caller has.
   */
  async take(max: number, timeoutMs: number): Promise<WatchItem[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const items: WatchItem[] = [];
      for (let item = this.poll(); item; item = items.length < max && item.kind === 'event' ? this.poll() : undefined)
        items.push(item);
      if (items.length || this.closed) return items;
      if (this.catchUpTo) {
        await this.readLog();
        if (Date.now() >= deadline && !this.page.length) return [];
        continue;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(remaining) ? setTimeout(() => this.wake(), remaining) : undefined;
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /**
   * Where a client may resume so as to miss nothing and repeat nothing: after the last event handed
   * out, or past it when nothing else of this watch is waiting up to how far the log has been read.
   */
  cursor(): Checkpoint {
    if (this.resume || this.page.length) return this.delivered;
    const latest = (a: Checkpoint, b: Checkpoint | undefined) => (b && compareCheckpoints(b, a) > 0 ? b : a);
    if (this.catchUpTo) return latest(this.delivered, this.scanned);
    if (this.queue.length) return this.delivered;
    return latest(latest(this.delivered, this.scanned), this.feed.position());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.feed.release(this);
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private async readLog(): Promise<void> {
    const until = this.catchUpTo!;
    const limit = this.feed.batchSize;
    const { events, firstEvents } = await this.feed.store.readAllWithFirstEvents(
      this.scanned,
      limit,
      MOVES,
      undefined,
      {
        tenant: this.filter.tenant,
        until,
      },
    );
    const mapped = await this.feed.places.toWatchEvents(events, false, firstEvents);
    if (this.closed) return;
    this.page = mapped
      .map((m) => m.event)
      .filter((e) => matches(this.filter, e) && compareCheckpoints(e.checkpoint, this.delivered) > 0);
    if (events.length < limit) {
      this.scanned = until;
      // The feed may have moved the target on while this page was read (a full queue).
      if (compareCheckpoints(this.catchUpTo!, until) === 0) this.catchUpTo = undefined;
    } else {
      const last = events[events.length - 1];
      this.scanned = { transactionId: last.transactionId, position: last.position };
    }
  }
}

/**
 * The one reader of the log in an API process, fanning out to every watcher on it. It follows the
 * event store's readAll order (below the oldest transaction running in this database, so a late commit is
 * never skipped), is woken by NOTIFY on a connection of its own, reads the log on that connection
 * too (on the pool while it is lost), and polls every `pollMs` as a safety net. It reads and
 * listens only while someone watches: writers skip the NOTIFY while no feed listens.
 */
export class WatchFeed {
  private readonly logger = new Logger('WatchFeed');
  readonly places: StreamPlaces;
  readonly batchSize: number;
  private readonly pollMs: number;
  private readonly briskMs: number;
  /** tenant → place key → watchers. */
  private readonly watchers = new Map<string, Map<string, Set<Watcher>>>();
  private readonly perTenant = new Map<string, number>();
  private count = 0;
  private head?: Checkpoint;
  private starting?: Promise<void>;
  private listener?: Client;
  /** Until when to poll every BRISK_POLL_MS. */
  private briskUntil = 0;
  /** Since when nobody watches: after a poll period of it, the feed stops listening. */
  private idleSince?: number;
  private notified = false;
  /**
   * Read again soon, backing off up to the poll period: the last read found a committed event held
   * back by an older open transaction, or it failed (its connection lost, the database away).
   */
  private readSoon = false;
  private sleeper?: { wake: () => void };
  private loop?: Promise<void>;
  private stopped = false;
  private readonly stopWaking: () => void;

  constructor(
    readonly store: EventStore,
    private readonly options: WatchFeedOptions,
  ) {
    this.places = new StreamPlaces(store);
    // This process's own commits wake the feed at once; NOTIFY brings the other processes'.
    this.stopWaking = store.onCommit(() => this.wake());
    this.batchSize = options.batchSize ?? 1000;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.briskMs = options.briskMs ?? 2 * LISTENER_CHECK_MS;
  }

  /** Watchers open on this process. */
  get size(): number {
    return this.count;
  }

  /** Where the feed has read to (undefined while nobody watches). */
  position(): Checkpoint | undefined {
    return this.head;
  }

  /**
   * Starts a watch after `after`, or from now: from readAll's horizon, which an open transaction
   * in this database holds back, so it may include changes committed just before the call and
   * never misses one committed after it. Throws DomainError WatcherLimitReached when the tenant holds its limit.
   */
  async watch(filter: WatchFilter, after?: Checkpoint): Promise<Watcher> {
    if (this.stopped) throw new DomainError('WatchStopped');
    this.checkLimit(filter.tenant);
    while (!this.head) {
      this.starting ??= this.start().finally(() => (this.starting = undefined));
      await this.starting;
    }
    if (this.stopped) throw new DomainError('WatchStopped');
    this.checkLimit(filter.tenant);
    const head = this.head;
    const behind = after !== undefined && compareCheckpoints(after, head) < 0;
    const watcher = new Watcher(this, filter, after ?? head, behind ? head : undefined, this.options.bufferEvents);
    let byKey = this.watchers.get(filter.tenant);
    if (!byKey) this.watchers.set(filter.tenant, (byKey = new Map<string, Set<Watcher>>()));
    let set = byKey.get(watcher.key);
    if (!set) byKey.set(watcher.key, (set = new Set()));
    set.add(watcher);
    this.perTenant.set(filter.tenant, (this.perTenant.get(filter.tenant) ?? 0) + 1);
    this.count++;
    return watcher;
  }

  /** Forgets a watcher (closed, or told to resume). */
  release(watcher: Watcher): void {
    const byKey = this.watchers.get(watcher.filter.tenant);
    const set = byKey?.get(watcher.key);
    if (!set?.delete(watcher)) return;
    if (set.size === 0) byKey!.delete(watcher.key);
    if (byKey!.size === 0) this.watchers.delete(watcher.filter.tenant);
    const n = this.perTenant.get(watcher.filter.tenant)! - 1;
    if (n === 0) this.perTenant.delete(watcher.filter.tenant);
    else this.perTenant.set(watcher.filter.tenant, n);
    this.count--;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWaking();
    this.wake();
    await this.loop;
    for (const byKey of [...this.watchers.values()])
      for (const set of [...byKey.values()]) for (const w of [...set]) w.close();
    await this.unlisten();
  }

  private checkLimit(tenant: string): void {
    if ((this.perTenant.get(tenant) ?? 0) >= this.options.limitPerTenant)
      throw new DomainError('WatcherLimitReached', { limit: this.options.limitPerTenant });
  }

  /** Listens first, then finds the head: nothing committed in between is missed. */
  private async start(): Promise<void> {
    if (!this.listener) await this.listen();
    this.head = await this.store.head();
    this.loop ??= this.run();
  }

  private async listen(): Promise<void> {
    const client = new Client({
      connectionString: this.options.databaseUrl,
      application_name: LISTENER_APPLICATION_NAME,
    });
    client.on('notification', () => this.wake());
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (!this.stopped) this.logger.warn(`LISTEN connection lost; polling every ${this.pollMs} ms until it is back`);
    };
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw error;
    }
    this.listener = client;
    this.briskUntil = Date.now() + this.briskMs;
    // Whatever was notified while no connection listened is found by the next read.
    this.wake();
  }

  private async unlisten(): Promise<void> {
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let retryMs = FIRST_RETRY_MS;
    let lastReconnect = 0;
    while (!this.stopped) {
      const soon = this.head !== undefined && this.readSoon;
      await this.sleep(Math.min(soon ? retryMs : this.pollMs, Date.now() < this.briskUntil ? BRISK_POLL_MS : Infinity));
      if (this.stopped) break;
      if (this.count === 0) {
        // Nobody watches: stop following, and after a poll period of it stop listening (one watch
        // following another keeps the connection); the next watch starts from the head again.
        if (!this.starting) {
          this.head = undefined;
          this.places.forget();
          this.idleSince ??= Date.now();
          if (Date.now() - this.idleSince >= this.pollMs) await this.unlisten();
        }
        continue;
      }
      this.idleSince = undefined;
      try {
        if (!this.listener && Date.now() - lastReconnect >= RECONNECT_MS) {
          lastReconnect = Date.now();
          await this.listen().catch((error) =>
            this.logger.warn(`LISTEN reconnect failed: ${(error as Error).message}`),
          );
        }
        // Back off only while reads find nothing new behind an open transaction.
        retryMs = (await this.readNew()) > 0 || !soon ? FIRST_RETRY_MS : Math.min(retryMs * 2, this.pollMs);
      } catch (error) {
        this.logger.warn(`reading the log failed, retrying: ${(error as Error).message}`);
        this.readSoon = true;
        retryMs = Math.min(retryMs * 2, this.pollMs);
      }
    }
  }

  /** Waits `ms`, or until a notification comes (one that came while the reader was busy ends the wait at once). */
  private sleep(ms: number): Promise<void> {
    if (this.notified) {
      this.notified = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const sleeper = {
        wake: () => {
          clearTimeout(timer);
          if (this.sleeper === sleeper) this.sleeper = undefined;
          resolve();
        },
      };
      const timer = setTimeout(sleeper.wake, ms);
      this.sleeper = sleeper;
    });
  }

  private wake(): void {
    if (this.sleeper) this.sleeper.wake();
    else this.notified = true;
  }

  /** Reads until caught up, handing each event to the watchers whose place it is at or under; returns how many it read. */
  private async readNew(): Promise<number> {
    for (let read = 0; ;) {
      const from = this.head;
      if (!from) return read;
      // Where the batch's events happen comes with the batch: one round trip per batch, not two.
      // It runs on the LISTEN connection while there is one: on the pool it waited behind the
      // requests' statements whenever they held every connection.
      const { events, firstEvents, heldBack } = await this.store.readAllWithFirstEvents(
        from,
        this.batchSize,
        MOVES,
        this.listener && executorOn(this.listener),
      );
      this.readSoon = heldBack;
      read += events.length;
      if (events.length === 0) return read;
      const mapped = await this.places.toWatchEvents(events, true, firstEvents);
      const last = events[events.length - 1];
      this.head = { transactionId: last.transactionId, position: last.position };
      for (const { tenant, event } of mapped) {
        const byKey = this.watchers.get(tenant);
        if (!byKey) continue;
        for (const key of keysOf(event, byKey.keys())) {
          const set = byKey.get(key);
          if (set) for (const watcher of set) watcher.offer(event);
        }
      }
      if (events.length < this.batchSize) return read;
    }
  }
}
