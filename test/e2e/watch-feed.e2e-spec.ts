import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  Checkpoint,
  compareCheckpoints,
  createDataSource,
  EventMetadata,
  EVENTS_CHANNEL,
  EventStore,
  SqlExecutor,
} from '../../libs/event-store/src';
import { WatchEvent, WatchFeed, Watcher, WatchFilter, WatchItem } from '../../libs/watch/src';
import { createIsolatedDatabase } from '../support/jobs';

const metadata: EventMetadata = { requestId: 'test', principal: 'tester', authentication: 'System' };

/** A tenant of its own with one share; files are created and leased by appending the events the service would. */
function fixture(store: EventStore) {
  const tenant = `watch${randomUUID().slice(0, 8)}`;
  const shareId = String(Math.floor(Math.random() * 1e9));
  let fileIds = 0;
  const versions = new Map<string, number>();
  const append = async (streamId: string, type: string, data: object, sql = store.db) => {
    const expectedVersion = versions.get(streamId) ?? 0;
    versions.set(streamId, expectedVersion + 1);
    await store.append({ tenant, streamId, expectedVersion, events: [{ type, data }], metadata }, sql);
  };
  return {
    tenant,
    share: 'reports',
    append,
    createShare: () => append(`share-${shareId}`, 'ShareCreated', { shareId, name: 'reports' }),
    /** Creates a file and returns its stream. */
    createFile: async (path: string, sql = store.db) => {
      const stream = `node-${shareId}${++fileIds}`;
      await append(stream, 'FileCreated', { shareId, path }, sql);
      return stream;
    },
    acquire: (stream: string, epoch: number, sql = store.db) =>
      append(stream, 'LeaseAcquired', { leaseId: randomUUID(), epoch }, sql),
    /** One chunk of a force-close at `path`, on a stream of its own. */
    forceClose: (path: string, recursive: boolean, handleIds: string[]) =>
      append(`closure-${randomUUID()}`, 'HandlesForceClosed', {
        shareId,
        path,
        recursive,
        handleIds,
        last: { nodeKey: path.toLowerCase(), handleId: handleIds[handleIds.length - 1] },
      }),
    /**
     * Right after the tenant's last event so far. A watch without a checkpoint starts at readAll's
     * horizon, which an open transaction anywhere on the server holds back, so it may begin with
     * changes committed just before it; tests that expect only later ones start here instead.
     */
    last: async (): Promise<Checkpoint> => {
      const rows = await store.db.query(
        `SELECT transaction_id::text, position::text FROM events WHERE tenant = $1 ORDER BY transaction_id DESC, position DESC LIMIT 1`,
        [tenant],
      );
      return rows.length
        ? { transactionId: rows[0].transaction_id, position: rows[0].position }
        : { transactionId: '0', position: '0' };
    },
  };
}

/** Takes events until `n` have arrived (a resume signal ends the watch and is returned as the last item). */
async function takeEvents(watcher: Watcher, n: number): Promise<WatchItem[]> {
  const items: WatchItem[] = [];
  while (items.filter((i) => i.kind === 'event').length < n) {
    const item = await watcher.next();
    if (!item) break;
    items.push(item);
    if (item.kind === 'resume') break;
  }
  return items;
}

/** Runs `work` in a transaction left open (it holds readAll's horizon back) until commit() is called. */
async function heldOpen(
  store: EventStore,
  work: (sql: SqlExecutor) => Promise<void>,
): Promise<{ commit: () => Promise<void> }> {
  let release!: () => void;
  const mayCommit = new Promise<void>((resolve) => (release = resolve));
  let worked!: () => void;
  const hasWorked = new Promise<void>((resolve) => (worked = resolve));
  const transaction = store.transaction(async (sql) => {
    await work(sql);
    worked();
    await mayCommit;
  });
  await Promise.race([hasWorked, transaction]);
  return {
    commit: async () => {
      release();
      await transaction;
    },
  };
}

const events = (items: WatchItem[]) =>
  items.filter((i): i is { kind: 'event'; event: WatchEvent } => i.kind === 'event').map((i) => i.event);
const summary = (items: WatchItem[]) => events(items).map((e) => `${e.type} ${e.path}${e.epoch ? ` ${e.epoch}` : ''}`);
const everything = (tenant: string): WatchFilter => ({ tenant, recursive: true });

type FeedOptions = Partial<ConstructorParameters<typeof WatchFeed>[1]>;
/** A feed with the suites' limits, kept in `feeds` for the suite to stop. */
function startFeed(feeds: WatchFeed[], databaseUrl: string, store: EventStore, options: FeedOptions): WatchFeed {
  const feed = new WatchFeed(store, { databaseUrl, bufferEvents: 1000, limitPerTenant: 100, ...options });
  feeds.push(feed);
  return feed;
}

// A database of its own: the fixture appends bare events (no ETag, no time) that a projection
// rebuild of a shared database could not fold.
describe('watch feed on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: DataSource;
  let store: EventStore;
  const feeds: WatchFeed[] = [];
  const newFeed = (options: FeedOptions = {}) => startFeed(feeds, database.url, store, options);

  beforeAll(async () => {
    database = await createIsolatedDatabase('watchfeed');
    db = await createDataSource(database.url, 6).initialize();
    store = new EventStore(db);
  });
  afterAll(async () => {
    for (const feed of feeds) await feed.stop();
    await db.destroy();
    await database.drop();
  });

  it('delivers each change once, in the log order, to the watchers of its place only', async () => {
    const feed = newFeed();
    const t = fixture(store);
    const other = fixture(store);
    await t.createShare();
    await other.createShare();
    const a = await t.createFile('Dir/A.txt');
    const account = await feed.watch(everything(t.tenant), await t.last());
    const file = await feed.watch(
      { tenant: t.tenant, share: t.share, pathKey: 'dir/a.txt', recursive: false },
      await t.last(),
    );
    const top = await feed.watch({ tenant: t.tenant, share: t.share, pathKey: '', recursive: false }, await t.last());
    const leases = await feed.watch(
      { tenant: t.tenant, share: t.share, pathKey: 'dir', recursive: true, types: new Set(['LeaseAcquired']) },
      await t.last(),
    );
    const foreign = await feed.watch(everything(other.tenant), await other.last());

    const b = await t.createFile('Dir/Sub/B.txt');
    await t.acquire(a, 1);
    await t.acquire(b, 1);
    await t.createFile('C.txt');
    await other.acquire(await other.createFile('Dir/A.txt'), 1);

    expect(summary(await takeEvents(account, 4))).toEqual([
      'FileCreated Dir/Sub/B.txt',
      'LeaseAcquired Dir/A.txt 1',
      'LeaseAcquired Dir/Sub/B.txt 1',
      'FileCreated C.txt',
    ]);
    expect(summary(await takeEvents(file, 1))).toEqual(['LeaseAcquired Dir/A.txt 1']);
    expect(summary(await takeEvents(top, 1))).toEqual(['FileCreated C.txt']);
    expect(summary(await takeEvents(leases, 2))).toEqual([
      'LeaseAcquired Dir/A.txt 1',
      'LeaseAcquired Dir/Sub/B.txt 1',
    ]);
    expect(summary(await takeEvents(foreign, 2))).toEqual(['FileCreated Dir/A.txt', 'LeaseAcquired Dir/A.txt 1']);
    // The file watcher's next change proves it was not handed the others in between.
    await t.acquire(a, 2);
    expect(summary(await takeEvents(file, 1))).toEqual(['LeaseAcquired Dir/A.txt 2']);
    expect(await top.take(10, 200)).toEqual([]);
    for (const w of [account, file, top, leases, foreign]) w.close();
    expect(feed.size).toBe(0);
  });

  it('reports each change where its node was then: after a rename or a move at the new path, on a live feed and on one catching up', async () => {
    const feed = newFeed();
    const t = fixture(store);
    await t.createShare();
    const beforeFile = await t.last();
    const f = await t.createFile('a/f.txt');
    const oldDir = await feed.watch(
      { tenant: t.tenant, share: t.share, pathKey: 'a', recursive: false },
      await t.last(),
    );
    const newDir = await feed.watch(
      { tenant: t.tenant, share: t.share, pathKey: 'b', recursive: true },
      await t.last(),
    );
    const newFile = await feed.watch(
      { tenant: t.tenant, share: t.share, pathKey: 'b/f.txt', recursive: false },
      await t.last(),
    );
    const stamp = { etag: '"e"', at: new Date().toISOString() };
    await t.append(f, 'NodeRenamed', { ...stamp, from: 'a/f.txt', path: 'b/F.txt', parentId: '2' });
    const afterRename = await t.last();
    await t.acquire(f, 1);
    // Its directory renamed in turn: the file moves with it.
    await t.append(f, 'NodeMoved', { from: 'b/F.txt', path: 'c/F.txt' });
    await t.acquire(f, 2);

    expect(summary(await takeEvents(newDir, 3))).toEqual([
      'NodeRenamed b/F.txt',
      'LeaseAcquired b/F.txt 1',
      'NodeMoved c/F.txt',
    ]);
    expect(summary(await takeEvents(newFile, 3))).toEqual([
      'NodeRenamed b/F.txt',
      'LeaseAcquired b/F.txt 1',
      'NodeMoved c/F.txt',
    ]);
    // The old directory's watcher learns that the file left, and nothing of it after.
    const [renamed] = events(await takeEvents(oldDir, 1));
    expect(renamed).toMatchObject({ type: 'NodeRenamed', path: 'b/F.txt', from: 'a/f.txt' });
    expect(await oldDir.take(10, 200)).toEqual([]);
    expect(await newDir.take(10, 200)).toEqual([]);

    // Feeds of their own (nothing remembered) catching up: from before the file, and from after its
    // rename (the rename is then read from the log with the file's creation).
    const fromStart = await newFeed().watch(everything(t.tenant), beforeFile);
    expect(summary(await takeEvents(fromStart, 5))).toEqual([
      'FileCreated a/f.txt',
      'NodeRenamed b/F.txt',
      'LeaseAcquired b/F.txt 1',
      'NodeMoved c/F.txt',
      'LeaseAcquired c/F.txt 2',
    ]);
    const fromRename = await newFeed().watch(everything(t.tenant), afterRename);
    expect(summary(await takeEvents(fromRename, 3))).toEqual([
      'LeaseAcquired b/F.txt 1',
      'NodeMoved c/F.txt',
      'LeaseAcquired c/F.txt 2',
    ]);
    for (const w of [oldDir, newDir, newFile, fromStart, fromRename]) w.close();
  });

  it('delivers a force-close chunk where it was asked and, when recursive, to every watched place below, live and catching up', async () => {
    const feed = newFeed();
    const t = fixture(store);
    await t.createShare();
    const b = await t.createFile('Dir/Sub/B.txt');
    const start = await t.last();
    const watch = (pathKey: string, recursive = false, confined = false) =>
      feed.watch({ tenant: t.tenant, share: t.share, pathKey, recursive, confined }, start);
    const dir = await watch('dir');
    const sub = await watch('dir/sub');
    const file = await watch('dir/sub/b.txt');
    const sasFile = await watch('dir/sub/b.txt', false, true);
    const sibling = await watch('other', true);
    await t.forceClose('Dir/Sub', false, ['1']);
    await t.forceClose('Dir', true, ['2', '3']);
    await t.acquire(b, 1);
    await t.acquire(await t.createFile('Other/C.txt'), 1);
    const line = (e: WatchEvent) => `${e.type} ${e.path} ${e.handleIds?.join(',') ?? '-'}`;
    const lines = async (w: Watcher, n: number) => events(await takeEvents(w, n)).map(line);
    expect(await lines(dir, 2)).toEqual(['HandlesForceClosed Dir/Sub 1', 'HandlesForceClosed Dir 2,3']);
    expect(await lines(sub, 3)).toEqual([
      'HandlesForceClosed Dir/Sub 1',
      'HandlesForceClosed Dir 2,3',
      'LeaseAcquired Dir/Sub/B.txt -',
    ]);
    expect(await lines(file, 2)).toEqual(['HandlesForceClosed Dir 2,3', 'LeaseAcquired Dir/Sub/B.txt -']);
    // A SAS on the file is shown the directory it is in, not the ids of handles elsewhere in it.
    expect(await lines(sasFile, 2)).toEqual(['HandlesForceClosed Dir -', 'LeaseAcquired Dir/Sub/B.txt -']);
    expect(await lines(sibling, 2)).toEqual(['FileCreated Other/C.txt -', 'LeaseAcquired Other/C.txt -']);
    // The feed has passed them all: a watch from before them reads them from the log.
    const caughtUp = await watch('dir/sub/b.txt');
    expect(await lines(caughtUp, 2)).toEqual(['HandlesForceClosed Dir 2,3', 'LeaseAcquired Dir/Sub/B.txt -']);
    for (const w of [dir, sub, file, sasFile, sibling, caughtUp]) w.close();
  });

  it('forgets places while nobody watches: a rename made meanwhile is followed by the next watch', async () => {
    const feed = newFeed();
    const t = fixture(store);
    await t.createShare();
    const f = await t.createFile('x.txt');
    const first = await feed.watch(everything(t.tenant), await t.last());
    await t.acquire(f, 1);
    expect(summary(await takeEvents(first, 1))).toEqual(['LeaseAcquired x.txt 1']);
    first.close();
    // Nobody watches: the feed stops following the log on its next turn.
    for (let i = 0; i < 200 && feed.position() !== undefined; i++) await new Promise((r) => setTimeout(r, 25));
    expect(feed.position()).toBeUndefined();
    await t.append(f, 'NodeRenamed', { etag: '"e"', at: new Date().toISOString(), from: 'x.txt', path: 'y.txt' });
    const second = await feed.watch(everything(t.tenant), await t.last());
    await t.acquire(f, 2);
    expect(summary(await takeEvents(second, 1))).toEqual(['LeaseAcquired y.txt 2']);
    second.close();
  });

  it('delivers a transaction that commits after a later one in order, never skipping it', async () => {
    const feed = newFeed();
    const t = fixture(store);
    await t.createShare();
    const early = await t.createFile('early');
    const late = await t.createFile('late');
    const watcher = await feed.watch(everything(t.tenant), await t.last());

    // The early transaction takes the lower position, then waits; the late one appends and commits first.
    const slow = await heldOpen(store, (sql) => t.acquire(early, 1, sql));
    try {
      await t.acquire(late, 1);
      const positions = await db.query(
        `SELECT count(*)::int AS n FROM events WHERE tenant = $1 AND type = 'LeaseAcquired'`,
        [t.tenant],
      );
      expect(positions[0].n).toBe(1); // only the late one is committed
      // Its notification has come and gone: the feed holds it back behind the open transaction.
      expect(await watcher.take(10, 500)).toEqual([]);
    } finally {
      await slow.commit();
    }
    const items = await takeEvents(watcher, 2);
    expect(summary(items)).toEqual(['LeaseAcquired early 1', 'LeaseAcquired late 1']);
    const [first, second] = events(items);
    expect(BigInt(first.checkpoint.position)).toBeLessThan(BigInt(second.checkpoint.position));
    watcher.close();
  });

  it('resumes after a cursor with exactly the events it missed, then the live ones, without duplicates', async () => {
    const feed = newFeed();
    const t = fixture(store);
    await t.createShare();
    const f = await t.createFile('f');
    const first = await feed.watch(everything(t.tenant), await t.last());
    for (let epoch = 1; epoch <= 3; epoch++) await t.acquire(f, epoch);
    const seen = events(await takeEvents(first, 1));
    const cursor: Checkpoint = first.cursor();
    expect(cursor).toEqual(seen[0].checkpoint);
    first.close(); // the client goes away after its first event
    for (let epoch = 4; epoch <= 5; epoch++) await t.acquire(f, epoch);

    // Another process resumes it: a feed of its own, started after all of this.
    const resumed = await newFeed().watch(everything(t.tenant), cursor);
    expect(summary(await takeEvents(resumed, 4))).toEqual([
      'LeaseAcquired f 2',
      'LeaseAcquired f 3',
      'LeaseAcquired f 4',
      'LeaseAcquired f 5',
    ]);
    await t.acquire(f, 6);
    expect(summary(await takeEvents(resumed, 1))).toEqual(['LeaseAcquired f 6']);
    expect(await resumed.take(10, 200)).toEqual([]);
    resumed.close();
  });

  it('tells a watcher that fell too far behind where to resume, and resuming there loses nothing', async () => {
    const feed = newFeed({ bufferEvents: 3 });
    const t = fixture(store);
    await t.createShare();
    const f = await t.createFile('f');
    const slow = await feed.watch(everything(t.tenant), await t.last());
    const start = slow.cursor();
    // Five changes in one transaction reach the feed at once; the watcher takes nothing meanwhile.
    await store.transaction(async (sql) => {
      for (let epoch = 1; epoch <= 5; epoch++) await t.acquire(f, epoch, sql);
    });
    const items = await takeEvents(slow, 5);
    expect(items).toEqual([{ kind: 'resume', after: start }]);
    expect(await slow.next()).toBeUndefined();
    expect(feed.size).toBe(0);

    const again = await feed.watch(everything(t.tenant), start);
    expect(summary(await takeEvents(again, 5))).toEqual([1, 2, 3, 4, 5].map((n) => `LeaseAcquired f ${n}`));
    again.close();
  });

  it('catches up from the log while live changes keep coming, even past its buffer', async () => {
    const observer = newFeed();
    const feed = newFeed({ bufferEvents: 2, batchSize: 3 });
    const t = fixture(store);
    await t.createShare();
    const f = await t.createFile('f');
    const live = await observer.watch(everything(t.tenant), await t.last());
    const start = live.cursor();
    // Keeps the small feed reading; it watches another tenant, so its buffer never fills.
    const pacer = await feed.watch(everything(`${t.tenant}-none`));
    const passed = async (checkpoint: Checkpoint) => {
      for (let i = 0; i < 200 && compareCheckpoints(feed.position()!, checkpoint) < 0; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(compareCheckpoints(feed.position()!, checkpoint)).toBeGreaterThanOrEqual(0);
    };
    for (let epoch = 1; epoch <= 7; epoch++) await t.acquire(f, epoch);
    const seven = events(await takeEvents(live, 7));
    expect(seven).toHaveLength(7);
    await passed(seven[6].checkpoint); // the small feed has passed all seven before the resumed watch begins
    const resumed = await feed.watch(everything(t.tenant), start);
    // More than its buffer arrives live before it has read anything from the log.
    for (let epoch = 8; epoch <= 12; epoch++) await t.acquire(f, epoch);
    const five = events(await takeEvents(live, 5));
    await passed(five[4].checkpoint);
    const items = await takeEvents(resumed, 12);
    expect(summary(items)).toEqual(Array.from({ length: 12 }, (_, i) => `LeaseAcquired f ${i + 1}`));
    expect(await resumed.take(10, 200)).toEqual([]);
    for (const w of [live, pacer, resumed]) w.close();
  });

  it('answers a long poll with what is ready, or nothing at the timeout, and a cursor past it', async () => {
    const feed = newFeed();
    const t = fixture(store);
    await t.createShare();
    const f = await t.createFile('f');
    const g = await t.createFile('g');
    const onF = await feed.watch({ tenant: t.tenant, share: t.share, pathKey: 'f', recursive: false }, await t.last());
    expect(await onF.take(10, 100)).toEqual([]);
    await t.acquire(g, 1); // not f's
    await t.acquire(f, 1);
    const batch = await onF.take(10, 5_000);
    expect(summary(batch)).toEqual(['LeaseAcquired f 1']);
    const after = onF.cursor();
    onF.close();
    // Nothing of f's after the cursor: a new long poll from it waits, then gets the next one only.
    const next = await feed.watch({ tenant: t.tenant, share: t.share, pathKey: 'f', recursive: false }, after);
    expect(await next.take(10, 100)).toEqual([]);
    await t.acquire(f, 2);
    expect(summary(await next.take(10, 5_000))).toEqual(['LeaseAcquired f 2']);
    next.close();
  });

  it('is woken by NOTIFY alone: with the safety-net poll an hour away, every change another process commits still arrives', async () => {
    // No brisk polling after it connects: only a notification can wake it.
    const feed = newFeed({ pollMs: 3_600_000, briskMs: 0 });
    // Another process's store: its commits do not wake this feed in-process, only through NOTIFY.
    const elsewhere = new EventStore(db);
    const t = fixture(elsewhere);
    await t.createShare();
    const files = await Promise.all(Array.from({ length: 10 }, (_, i) => t.createFile(`n${i}`)));
    const watcher = await feed.watch(everything(t.tenant), await t.last());
    // The writer knows of the listener from now on (it looks at most LISTENER_CHECK_MS apart).
    expect(await elsewhere.lookForListeners()).toBe(true);
    // An open transaction holds the horizon back, so the reader retries on short timers meanwhile.
    const open = await heldOpen(elsewhere, (sql) => t.acquire(files[0], 1, sql));
    await t.acquire(files[1], 1);
    expect(await watcher.take(10, 100)).toEqual([]);
    await open.commit();
    expect(events(await takeEvents(watcher, 2)).map((e) => e.path)).toEqual(['n0', 'n1']);
    // Then bursts of concurrent changes, each wave waited for before the next.
    for (let wave = 2; wave <= 4; wave++) {
      await Promise.all(files.slice(2).map((f) => t.acquire(f, wave)));
      expect(events(await takeEvents(watcher, 8)).map((e) => e.epoch)).toEqual(Array(8).fill(wave));
    }
    watcher.close();
  });

  it('limits the watchers of one tenant on a process', async () => {
    const feed = newFeed({ limitPerTenant: 2 });
    const t = fixture(store);
    const u = fixture(store);
    const held = [await feed.watch(everything(t.tenant)), await feed.watch(everything(t.tenant))];
    await expect(feed.watch(everything(t.tenant))).rejects.toMatchObject({
      reason: 'WatcherLimitReached',
      facts: { limit: 2 },
    });
    const otherTenant = await feed.watch(everything(u.tenant));
    held[0].close();
    const replacement = await feed.watch(everything(t.tenant));
    for (const w of [held[1], otherTenant, replacement]) w.close();
  });

  it('ends its watches when it stops and takes no new one', async () => {
    const feed = newFeed();
    const t = fixture(store);
    const watcher = await feed.watch(everything(t.tenant));
    const waiting = watcher.next();
    await feed.stop();
    expect(await waiting).toBeUndefined();
    expect(watcher.isClosed).toBe(true);
    await expect(feed.watch(everything(t.tenant))).rejects.toMatchObject({ reason: 'WatchStopped' });
  });

  it('reconnects its LISTEN connection and keeps delivering', async () => {
    const feed = newFeed();
    // Another process's writes: only NOTIFY or the safety-net poll can bring them.
    const t = fixture(new EventStore(db));
    await t.createShare();
    const f = await t.createFile('f');
    const watcher = await feed.watch(everything(t.tenant), await t.last());
    // The feed's own connection (it listens, and reads the log on it): named by application_name.
    const listeners = () =>
      db.query(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'leasehold-watch'`,
      );
    const before = (await listeners()).map((r: { pid: number }) => r.pid);
    expect(before.length).toBeGreaterThan(0);
    await db.query(`SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, [before]);
    // Changes made while nobody listens still arrive (the safety-net poll), and so do later ones.
    await t.acquire(f, 1);
    expect(summary(await takeEvents(watcher, 1))).toEqual(['LeaseAcquired f 1']);
    for (let i = 0; i < 100 && !(await listeners()).some((r: { pid: number }) => !before.includes(r.pid)); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await listeners()).some((r: { pid: number }) => !before.includes(r.pid))).toBe(true);
    await t.acquire(f, 2);
    expect(summary(await takeEvents(watcher, 1))).toEqual(['LeaseAcquired f 2']);
    watcher.close();
  });

  it("is woken by its own process's commits without NOTIFY: its LISTEN connection gone and the poll an hour away", async () => {
    const feed = newFeed({ pollMs: 3_600_000 });
    const t = fixture(store);
    await t.createShare();
    const f = await t.createFile('own');
    const watcher = await feed.watch(everything(t.tenant), await t.last());
    // Every feed's LISTEN connection (this file's earlier feeds run until afterAll): no NOTIFY reaches it.
    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'leasehold-watch'`,
    );
    await t.acquire(f, 1);
    expect(summary(await takeEvents(watcher, 1))).toEqual(['LeaseAcquired own 1']);
    watcher.close();
  });
});

// A database of its own: whether anyone listens is a question about the whole database.
describe('NOTIFY only while a watch feed listens', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: DataSource;
  let spy: Client;
  let notifications = 0;
  const feeds: WatchFeed[] = [];
  const newFeed = (store: EventStore, options: FeedOptions = {}) => startFeed(feeds, database.url, store, options);
  const listening = async () =>
    (
      await db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'leasehold-watch'`,
      )
    )[0].n as number;

  beforeAll(async () => {
    database = await createIsolatedDatabase('notify');
    db = await createDataSource(database.url, 4).initialize();
    // Counts every notification on the channel without being taken for a watch feed (another application_name).
    spy = new Client({ connectionString: database.url, application_name: 'notify-spy' });
    await spy.connect();
    spy.on('notification', () => notifications++);
    await spy.query(`LISTEN ${EVENTS_CHANNEL}`);
  });
  afterAll(async () => {
    for (const feed of feeds) await feed.stop();
    await spy.end();
    await db.destroy();
    await database.drop();
  });

  it('writers skip NOTIFY while no feed listens, notify while one does, and a feed stops listening when nobody watches', async () => {
    const writer = new EventStore(db);
    const t = fixture(writer);
    expect(await writer.lookForListeners()).toBe(false);
    await t.createShare();
    expect(await writer.lookForListeners()).toBe(false);
    const f = await t.createFile('f');

    const feed = newFeed(new EventStore(db));
    const watcher = await feed.watch(everything(t.tenant), await t.last());
    expect(await writer.lookForListeners()).toBe(true);
    await t.acquire(f, 1);
    expect(summary(await takeEvents(watcher, 1))).toEqual(['LeaseAcquired f 1']);
    // Notifications come in the order they were sent: the first to arrive is the only one sent.
    while (notifications === 0) await new Promise((resolve) => spy.once('notification', resolve));
    expect(notifications).toBe(1);

    watcher.close();
    while ((await listening()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await writer.lookForListeners()).toBe(false);
  });

  it("a feed that starts listening after a writer last looked still gets the writer's changes at once", async () => {
    const writer = new EventStore(db);
    const t = fixture(writer);
    await t.createShare();
    const f = await t.createFile('late');
    expect(await writer.lookForListeners()).toBe(false);
    // The safety-net poll an hour away: the brisk polling after it connects is what brings the change.
    const feed = newFeed(new EventStore(db), { pollMs: 3_600_000 });
    const watcher = await feed.watch(everything(t.tenant), await t.last());
    await t.acquire(f, 1);
    expect(summary(await takeEvents(watcher, 1))).toEqual(['LeaseAcquired late 1']);
    watcher.close();
  });
});
