import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import {
  ConcurrencyError,
  createDataSource,
  EventMetadata,
  EventStore,
  RecordedEvent,
} from '../../libs/event-store/src';
import { testDatabaseUrl } from '../support/service';

/** A size bound no page reaches: these reads are bounded by count alone. */
const ANY_SIZE = Number.MAX_SAFE_INTEGER;
const metadata: EventMetadata = { requestId: 'test', principal: 'tester', authentication: 'System' };

describe('event store on PostgreSQL', () => {
  let db: DataSource;
  let store: EventStore;
  const tenant = `tenant${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    db = await createDataSource(testDatabaseUrl(), 4).initialize();
    store = new EventStore(db);
  });
  afterAll(() => db.destroy());

  it('keeps the connections it opened however long they sit idle', async () => {
    const source = await createDataSource(testDatabaseUrl(), 3).initialize();
    try {
      const pool = (source.driver as PostgresDriver).master as Pool;
      const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
      // The pool times idleness from each release; fake timers let an hour pass at once.
      jest.useFakeTimers();
      try {
        for (const client of clients) client.release();
        jest.advanceTimersByTime(60 * 60_000);
      } finally {
        jest.useRealTimers();
      }
      expect([pool.totalCount, pool.idleCount]).toEqual([3, 3]);
      const again = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
      expect(again.filter((client) => !clients.includes(client))).toEqual([]);
      again.forEach((client) => client.release());
    } finally {
      await source.destroy();
    }
  });

  it('appends several events in one statement and reads the stream back in order, with metadata', async () => {
    const stream = `s-${randomUUID()}`;
    const version = await store.append({
      tenant,
      streamId: stream,
      expectedVersion: 0,
      events: [
        { type: 'A', data: { n: 1 } },
        { type: 'B', data: { n: 2 }, schemaVersion: 2 },
      ],
      metadata: { ...metadata, clientRequestId: 'c-1' },
    });
    expect(version).toBe(2);
    const events = await store.readStream(tenant, stream);
    expect(events.map((e) => [e.type, e.streamVersion, e.schemaVersion, (e.data as { n: number }).n])).toEqual([
      ['A', 1, 1, 1],
      ['B', 2, 2, 2],
    ]);
    expect(events[0].metadata).toEqual({ ...metadata, clientRequestId: 'c-1' });
    expect(events[0].transactionId).toBe(events[1].transactionId);
  });

  it('turns a second append at the same version into a ConcurrencyError and keeps one event', async () => {
    const stream = `s-${randomUUID()}`;
    const append = () =>
      store.append({ tenant, streamId: stream, expectedVersion: 0, events: [{ type: 'Created', data: {} }], metadata });
    const results = await Promise.allSettled([append(), append(), append()]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConcurrencyError);
    expect(await store.readStream(tenant, stream)).toHaveLength(1);
  });

  it('appends nothing when the inline projection guard does not apply', async () => {
    const stream = `s-${randomUUID()}`;
    const attempt = store.append({
      tenant,
      streamId: stream,
      expectedVersion: 0,
      events: [{ type: 'Guarded', data: {} }],
      metadata,
      projection: { sql: `SELECT 1 WHERE $1::int = 2`, params: [1] },
    });
    await expect(attempt).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await store.readStream(tenant, stream)).toHaveLength(0);
  });

  it('bulk-loads any text, null and time with COPY, in its transaction, unchanged', async () => {
    const awkward = ['tab\there', 'line\nbreak\r\n', 'back\\slash \\N \\. \\t', '\\N', '\\.', '', 'Ünïcødé ☃ 𝄞', null];
    const at = new Date('2026-12-01T14:02:03.456Z');
    const rows = await store.transaction(async (sql) => {
      await sql.query(`CREATE TEMP TABLE copied (n int, t text, at timestamptz, j jsonb) ON COMMIT DROP`);
      await sql.copyIn(
        'copied',
        ['n', 't', 'at', 'j'],
        awkward.map((t, n) => [n, t, at, { t }]),
      );
      return sql.query<{ n: number; t: string | null; at: Date; j: { t: string | null } }>(
        `SELECT * FROM copied ORDER BY n`,
      );
    });
    expect(rows.map((r) => r.t)).toEqual(awkward);
    expect(rows.map((r) => r.j.t)).toEqual(awkward);
    expect(rows.every((r) => r.at.getTime() === at.getTime())).toBe(true);
  });

  it('refuses to update or delete an event', async () => {
    const stream = `s-${randomUUID()}`;
    await store.append({
      tenant,
      streamId: stream,
      expectedVersion: 0,
      events: [{ type: 'Kept', data: {} }],
      metadata,
    });
    await expect(db.query(`UPDATE events SET type = 'Changed' WHERE stream_id = $1`, [stream])).rejects.toThrow(
      /append-only/,
    );
    await expect(db.query(`DELETE FROM events WHERE stream_id = $1`, [stream])).rejects.toThrow(/append-only/);
    expect((await store.readStream(tenant, stream))[0].type).toBe('Kept');
  });

  it('reads a batch of the log with the first event and the moves of each of its streams, in one statement', async () => {
    const start = await store.head();
    const own = `tenant${randomUUID().slice(0, 8)}`; // nothing else in the log is this tenant's
    const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
    const appendTo = (streamId: string, expectedVersion: number, ...types: string[]) =>
      store.append({
        tenant: own,
        streamId,
        expectedVersion,
        events: types.map((type) => ({ type, data: { type } })),
        metadata,
      });
    await appendTo(a, 0, 'Created');
    await appendTo(b, 0, 'Created');
    await appendTo(a, 1, 'Moved', 'Changed');
    await appendTo(a, 3, 'Changed');
    // What each stream's first event and moves are (event ids), as readFirstEvents reads them.
    const origins = new Map<string, string[]>();
    for (const e of await store.readFirstEvents(
      [a, b].map((streamId) => ({ tenant: own, streamId })),
      ['Moved'],
    ))
      origins.set(e.streamId, [...(origins.get(e.streamId) ?? []), e.eventId]);
    expect([...origins.values()].map((ids) => ids.length)).toEqual([2, 1]);

    // Two events a batch, so some batches hold a stream without its first event. Other suites'
    // transactions hold the horizon back (it is cluster-wide): read on until all five are seen.
    const seen: RecordedEvent[] = [];
    let checkpoint = start;
    while (seen.length < 5) {
      const { events, firstEvents } = await store.readAllWithFirstEvents(checkpoint, 2, ['Moved']);
      if (events.length === 0) continue;
      checkpoint = events[events.length - 1];
      const mine = events.filter((e) => e.tenant === own);
      seen.push(...mine);
      const expected = [...new Set(mine.map((e) => e.streamId))].flatMap((stream) => origins.get(stream)!);
      expect(
        firstEvents
          .filter((e) => e.tenant === own)
          .map((e) => e.eventId)
          .sort(),
      ).toEqual(expected.sort());
    }
    expect(seen.map((e) => `${e.streamId === a ? 'a' : 'b'}${e.streamVersion} ${e.type}`)).toEqual([
      'a1 Created',
      'b1 Created',
      'a2 Moved',
      'a3 Changed',
      'a4 Changed',
    ]);
  });

  it('never lets a checkpointed reader skip a transaction that commits after a later position', async () => {
    // Catch up first, so the reader starts from the end of the log.
    let checkpoint: RecordedEvent | undefined;
    for (
      let page = (await store.readAll(undefined, 1000, ANY_SIZE)).events;
      page.length;
      page = (await store.readAll(checkpoint, 1000, ANY_SIZE)).events
    ) {
      checkpoint = page[page.length - 1];
    }
    const early = `early-${randomUUID()}`;
    const late = `late-${randomUUID()}`;
    let releaseEarly!: () => void;
    const earlyMayCommit = new Promise<void>((resolve) => (releaseEarly = resolve));
    let earlyAppended!: () => void;
    const earlyHasAppended = new Promise<void>((resolve) => (earlyAppended = resolve));

    // Transaction 1 takes the lower position, then waits; transaction 2 appends and commits first.
    const slow = store.transaction(async (sql) => {
      await store.append(
        { tenant, streamId: early, expectedVersion: 0, events: [{ type: 'Early', data: {} }], metadata },
        sql,
      );
      earlyAppended();
      await earlyMayCommit;
    });
    try {
      await earlyHasAppended;
      await store.append({
        tenant,
        streamId: late,
        expectedVersion: 0,
        events: [{ type: 'Late', data: {} }],
        metadata,
      });

      const positions = await db.query(`SELECT stream_id, position FROM events WHERE stream_id IN ($1, $2)`, [
        early,
        late,
      ]);
      expect(positions).toHaveLength(1); // only the committed one is visible to a plain reader
      const naive = await db.query(`SELECT position FROM events WHERE position > $1 ORDER BY position`, [
        checkpoint?.position ?? '0',
      ]);
      expect(naive.length).toBeGreaterThan(0); // a position-ordered reader would now move past the open transaction's position

      // The xid8 rule holds back even the committed later event while the earlier transaction is open.
      const whileOpen = (await store.readAll(checkpoint, 1000, ANY_SIZE)).events;
      expect(whileOpen.map((e) => e.streamId)).not.toContain(late);
      expect(whileOpen.map((e) => e.streamId)).not.toContain(early);
      // ...and says so, so that the watch feed looks again soon instead of waiting for a notification.
      expect((await store.readAllWithFirstEvents(checkpoint, 1000, [])).heldBack).toBe(true);
    } finally {
      // Never leave the transaction open: it would hold back every reader in the cluster.
      releaseEarly();
      await slow;
    }
    // Other transactions in this database count too: page through everything after the
    // checkpoint until both events show, waiting those transactions out.
    let after: RecordedEvent[] = [];
    for (
      let i = 0;
      i < 600 && !(after.some((e) => e.streamId === early) && after.some((e) => e.streamId === late));
      i++
    ) {
      after = [];
      for (
        let page = (await store.readAll(checkpoint, 5000, ANY_SIZE)).events;
        page.length;
        page = (await store.readAll(page[page.length - 1], 5000, ANY_SIZE)).events
      ) {
        after.push(...page.filter((e) => e.streamId === early || e.streamId === late));
      }
      if (after.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    const seen = after.map((e) => e.streamId).filter((s) => s === early || s === late);
    expect(seen).toEqual([early, late]);
    const [earlyEvent, lateEvent] = [after.find((e) => e.streamId === early)!, after.find((e) => e.streamId === late)!];
    expect(BigInt(earlyEvent.position)).toBeLessThan(BigInt(lateEvent.position));
  });

  it('reads a page bounded by its stored bytes as well as by count, the first event always, and says when it was cut', async () => {
    const streamId = `sized-${randomUUID()}`;
    // Hex of random bytes: about the same stored size compressed or not.
    const blob = () => randomBytes(1500).toString('hex');
    await store.append({
      tenant,
      streamId,
      expectedVersion: 0,
      events: [1, 2, 3, 4].map((n) => ({ type: 'Sized', data: { n, blob: blob() } })),
      metadata,
    });
    const sizes = (
      await db.query<Array<{ size: number }>>(
        `SELECT pg_column_size(data) AS size FROM events WHERE tenant = $1 AND stream_id = $2 ORDER BY stream_version`,
        [tenant, streamId],
      )
    ).map((r) => r.size);
    const written = await store.readStream(tenant, streamId);
    const from = { transactionId: written[0].transactionId, position: String(BigInt(written[0].position) - 1n) };
    const numbers = (page: { events: RecordedEvent[]; more: boolean }) => ({
      n: page.events.map((e) => (e.data as { n: number }).n),
      more: page.more,
    });
    // Nothing else appends meanwhile (jest runs one file at a time): the page is this stream's.
    expect(numbers(await store.readAll(from, 10, sizes[0] + sizes[1] + 1))).toEqual({ n: [1, 2, 3], more: true });
    expect(numbers(await store.readAll(from, 10, 1))).toEqual({ n: [1], more: true });
    expect(numbers(await store.readAll(from, 2, 1_000_000))).toEqual({ n: [1, 2], more: true });
    expect(numbers(await store.readAll(written[2], 10, 1_000_000))).toEqual({ n: [4], more: false });
    expect(numbers(await store.readAll(written[3], 10, 1_000_000))).toEqual({ n: [], more: false });
  });

  it('is not held back by a transaction open in another database of the server', async () => {
    const [{ name }] = await db.query<Array<{ name: string }>>(`SELECT current_database() AS name`);
    const other = `${name}_other`;
    await db.query(`CREATE DATABASE "${other}"`);
    const url = new URL(testDatabaseUrl());
    url.pathname = `/${other}`;
    const elsewhere = new Client({ connectionString: url.toString() });
    await elsewhere.connect();
    try {
      await elsewhere.query('BEGIN');
      const [{ xid }] = (await elsewhere.query<{ xid: string }>(`SELECT pg_current_xact_id()::text AS xid`)).rows;
      const streamId = `after-${randomUUID()}`;
      await store.append({ tenant, streamId, expectedVersion: 0, events: [{ type: 'Appended', data: {} }], metadata });

      const [horizons] = await db.query<Array<{ cluster: string; here: string }>>(
        `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS cluster, events_horizon()::text AS here`,
      );
      // The cluster-wide xmin stops at the other database's transaction; this database's horizon
      // passes it (nothing else runs in this database meanwhile: jest runs one file at a time).
      expect(BigInt(horizons.cluster)).toBeLessThanOrEqual(BigInt(xid));
      expect(BigInt(horizons.here)).toBeGreaterThan(BigInt(xid));
      const { transactionId, position } = (await store.readStream(tenant, streamId))[0];
      const justBefore = { transactionId, position: String(BigInt(position) - 1n) };
      expect((await store.readAll(justBefore, 10, ANY_SIZE)).events.map((e) => e.streamId)).toEqual([streamId]);
    } finally {
      await elsewhere.end();
      await db.query(`DROP DATABASE "${other}"`);
    }
  });
});
