import { createHash, randomUUID } from 'node:crypto';
import type { ClientBase, Pool, PoolClient } from 'pg';
import { eventAppendDuration } from '@leasehold/observability';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { isUnavailable } from './availability';
import { copyIn } from './copy';
import { ConcurrencyError, isDeadlock, isUniqueViolation } from './errors';
import {
  AppendRequest,
  Checkpoint,
  ConnectionExecutor,
  EventMetadata,
  ReadScope,
  RecordedEvent,
  SqlExecutor,
  Statement,
} from './event-store.types';

const COLUMNS = `position, transaction_id, tenant, stream_id, stream_version, event_id, type,
  schema_version, data, metadata, recorded_at`;

interface EventRow {
  position: string;
  transaction_id: string;
  tenant: string;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

/**
 * readAll's statement: the next events after `after` below events_horizon() (the oldest transaction
 * still in progress in this database; see its migration), in (transaction id, position) order.
 * `horizon` is its SQL: a statement that needs the horizon twice computes it once.
 */
function nextBatch(
  after: Checkpoint | undefined,
  limit: number,
  scope: ReadScope = {},
  horizon = '(SELECT events_horizon())',
): { sql: string; params: unknown[] } {
  const params: unknown[] = [after?.transactionId ?? '0', after?.position ?? '0', limit];
  let narrower = '';
  if (scope.tenant !== undefined) {
    params.push(scope.tenant);
    narrower += ` AND tenant = $${params.length}`;
  }
  if (scope.until !== undefined) {
    params.push(scope.until.transactionId, scope.until.position);
    narrower += ` AND (transaction_id, position) <= ($${params.length - 1}::xid8, $${params.length}::bigint)`;
  }
  return {
    sql: `SELECT ${COLUMNS} FROM events
       WHERE transaction_id < ${horizon}
         AND (transaction_id, position) > ($1::xid8, $2::bigint)${narrower}
       ORDER BY transaction_id, position
       LIMIT $3`,
    params,
  };
}

/**
 * The first event of each stream of the relation `wanted` (tenant, stream_id) and its events of
 * `types`; `extra` is put before the columns. Each first event is looked up by the stream's index
 * (the LIMIT keeps the planner from hashing every stream's first event instead, which it did on a
 * young table's statistics). The types are written into the statement, never bound: renames and
 * moves have a partial index (events_moves), which a prepared statement's generic plan could not
 * use for a parameter, and would read each stream whole for them.
 */
function firstEventsOf(wanted: string, types: string[], extra = ''): string {
  const first = `SELECT ${extra}first.* FROM ${wanted} w CROSS JOIN LATERAL (
     SELECT ${COLUMNS} FROM events WHERE tenant = w.tenant AND stream_id = w.stream_id AND stream_version = 1 LIMIT 1
   ) first`;
  if (types.length === 0) return first;
  for (const type of types) if (!/^\w+$/.test(type)) throw new Error(`not an event type: ${type}`);
  return `${first}
   UNION ALL
   SELECT ${extra}${COLUMNS} FROM events JOIN ${wanted} USING (tenant, stream_id)
    WHERE type IN (${types.map((type) => `'${type}'`).join(', ')}) AND stream_version > 1`;
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    position: String(row.position),
    transactionId: String(row.transaction_id),
    tenant: row.tenant,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  };
}

/**
 * Statements run as named prepared statements, so PostgreSQL parses and plans each one once per
 * connection rather than on every call (measured 1.45-2.1x on the lease hot path). Names come from
 * the text, so one name never stands for two statements; only plannable statements qualify.
 */
const statementNames = new Map<string, string | undefined>();
function prepared(sql: string, values: unknown[] | undefined) {
  let name = statementNames.get(sql);
  if (name === undefined && !statementNames.has(sql)) {
    name = /^\s*(select|with|insert|update|delete)\b/i.test(sql)
      ? `lh_${createHash('sha1').update(sql).digest('base64url').slice(0, 24)}`
      : undefined;
    // The service's statements are a fixed set; ad-hoc ones (tests, tools) are not remembered past a bound.
    if (statementNames.size < 10_000) statementNames.set(sql, name);
  }
  return { name, text: sql, values };
}

/**
 * The INSERT … SELECT of requests' events from parameter arrays (numbered after `lead` others),
 * each row tagged with its request's ordinal `e.ord` (from 1) for the caller's WHERE clause.
 */
function eventRows(requests: Array<Omit<AppendRequest, 'projection'>>, lead: number) {
  const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
  const firstEventIds: string[] = [];
  requests.forEach((request, i) => {
    const metadata = JSON.stringify(request.metadata);
    request.events.forEach((event, k) => {
      const id = randomUUID();
      if (k === 0) firstEventIds.push(id);
      const row = [
        i + 1,
        request.tenant,
        request.streamId,
        request.expectedVersion + k + 1,
        id,
        event.type,
        event.schemaVersion ?? 1,
        JSON.stringify(event.data),
        metadata,
      ];
      row.forEach((value, c) => columns[c].push(value));
    });
  });
  const p = (n: number) => `$${lead + n}`;
  return {
    insert: `INSERT INTO events (tenant, stream_id, stream_version, event_id, type, schema_version, data, metadata)
      SELECT e.tenant, e.stream_id, e.stream_version, e.id, e.type, e.schema_version, e.data, e.metadata
      FROM unnest(${p(1)}::int[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::int[], ${p(5)}::uuid[], ${p(6)}::text[], ${p(7)}::smallint[], ${p(8)}::jsonb[], ${p(9)}::jsonb[])
        AS e(ord, tenant, stream_id, stream_version, id, type, schema_version, data, metadata)`,
    params: columns,
    firstEventIds,
  };
}

/**
 * Statements on one connection of the caller's, prepared as the pool's are: a transaction's, or a
 * reader's own connection that no request queues in front of (the watch feed's).
 */
export const executorOn = (client: ClientBase): ConnectionExecutor => ({
  query: async <R>(sql: string, params?: unknown[]) => (await client.query(prepared(sql, params))).rows as R[],
  copyIn: (table, columns, rows) => copyIn(client, table, columns, rows),
});

/** Statements on a pool, each on whichever connection is free, prepared as on a connection (above). */
export const executorOnPool = (pool: Pool): SqlExecutor => ({
  query: async <R>(sql: string, params?: unknown[]) => (await pool.query(prepared(sql, params))).rows as R[],
});

/** The channel notified after a commit that appended events (payload empty); the watch feed listens on it. */
export const EVENTS_CHANNEL = 'leasehold_events';

/** The application_name of a connection that LISTENs on EVENTS_CHANNEL: writers look for one before they notify. */
export const LISTENER_APPLICATION_NAME = 'leasehold-watch';

/**
 * How long a writer trusts its last look for listeners. A listener that connected since may miss
 * notifications for up to this long after it connected, so it polls briskly meanwhile (WatchFeed).
 */
export const LISTENER_CHECK_MS = 1_000;

/** The append statement's time, successful or not (a conflict costs a round trip too). */
function timed<T>(statement: Promise<T>): Promise<T> {
  const end = eventAppendDuration.startTimer();
  return statement.finally(() => end());
}

/**
 * The append-only event log on PostgreSQL. Optimistic concurrency comes from the unique
 * (tenant, stream_id, stream_version) constraint and from the inline projection's version guard;
 * every append is one statement, so a command costs one round trip once its state is read.
 */
export class EventStore {
  /** TypeORM owns the pool and the migrations; statements go straight to its pg pool. */
  private readonly pool: Pool;
  readonly db: SqlExecutor;
  /** The executors of open transactions, each with whether an append ran in it. */
  private readonly transactions = new WeakMap<SqlExecutor, { appended: boolean }>();
  private notifying = false;
  private notifyAgain = false;
  /** The last look for listeners: when it started, and whether one was there. None yet: notify. */
  private listeners?: { at: number; present: boolean };
  private lookingForListeners = false;
  private readonly commitListeners = new Set<() => void>();

  constructor(dataSource: DataSource) {
    this.pool = (dataSource.driver as PostgresDriver).master as Pool;
    this.db = executorOnPool(this.pool);
  }

  /**
   * Runs `work` in one transaction; the executor it gets must be used for every statement. A
   * deadlock (two writers locking rows in opposite orders, e.g. copies A→B and B→A) is a
   * ConcurrencyError: PostgreSQL rolled one back, and it only has to decide again.
   */
  async transaction<T>(work: (sql: ConnectionExecutor) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    // A checked-out client has no listener of the pool's: without one, the server going away
    // (the statement in flight fails anyway) would be an unhandled 'error' that ends the process.
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    const sql = executorOn(client);
    const state = { appended: false };
    this.transactions.set(sql, state);
    try {
      await client.query('BEGIN');
      const result = await work(sql);
      await client.query('COMMIT');
      if (state.appended) this.notifyCommitted();
      return result;
    } catch (error) {
      if (isUnavailable(error)) broken ??= error as Error;
      else await client.query('ROLLBACK').catch(() => undefined);
      throw isDeadlock(error) ? new ConcurrencyError('', '(transaction)', -1) : error;
    } finally {
      client.off('error', onError);
      // A broken connection is closed, not handed to the next caller.
      client.release(broken);
    }
  }

  /**
   * Appends the events at expectedVersion+1… together with their inline projection, in one
   * statement. Returns the new stream version.
   */
  async append(request: AppendRequest, sql: SqlExecutor = this.db): Promise<number> {
    const { tenant, streamId, expectedVersion, events, projection } = request;
    if (events.length === 0) return expectedVersion;
    const rows = eventRows([request], projection?.params.length ?? 0);
    const statement = projection
      ? `WITH projection AS (${projection.sql}) ${rows.insert} WHERE EXISTS (SELECT 1 FROM projection) RETURNING stream_version`
      : `${rows.insert} RETURNING stream_version`;
    let appended: unknown[];
    try {
      appended = await timed(sql.query(statement, [...(projection?.params ?? []), ...rows.params]));
    } catch (error) {
      if (isUniqueViolation(error, 'events_stream_version_unique'))
        throw new ConcurrencyError(tenant, streamId, expectedVersion);
      throw error;
    }
    if (appended.length !== events.length) throw new ConcurrencyError(tenant, streamId, expectedVersion);
    this.appended(sql);
    return expectedVersion + events.length;
  }

  /**
   * Calls `listener` after each commit of this process that appended events, before the NOTIFY
   * that tells other processes (which waits for a pooled connection). Returns the unsubscriber.
   */
  onCommit(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** After an append: listeners are told now when it committed on its own, else when its transaction commits. */
  private appended(sql: SqlExecutor): void {
    const transaction = this.transactions.get(sql);
    if (transaction) transaction.appended = true;
    else this.notifyCommitted();
  }

  /**
   * NOTIFY EVENTS_CHANNEL, after the commit and in a statement of its own: inside the appending
   * transaction it would serialize every append's commit behind the last one's flush (PostgreSQL
   * holds its notify lock until a notifying commit is flushed; migration 1764780000000). One at a
   * time: commits made meanwhile are told by the next, which starts after they committed. One lost
   * (the process dies between commit and notify, the database goes away) costs listeners their
   * poll period, never an event. Skipped while no listener is connected: a NOTIFY is a transaction
   * of its own, with a commit to flush, and most deployments watch nothing most of the time.
   */
  private notifyCommitted(): void {
    for (const listener of this.commitListeners) listener();
    if (!this.mayBeListenedTo()) return;
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    void this.pool
      .query(`SELECT pg_notify('${EVENTS_CHANNEL}', '')`)
      .catch(() => undefined)
      .finally(() => {
        this.notifying = false;
        if (!this.notifyAgain) return;
        this.notifyAgain = false;
        this.notifyCommitted();
      });
  }

  /** What the last look for listeners saw while it is fresh; else looks again, and answers yes meanwhile. */
  private mayBeListenedTo(): boolean {
    const seen = this.listeners;
    if (seen && Date.now() - seen.at < LISTENER_CHECK_MS) return seen.present;
    if (!this.lookingForListeners) void this.lookForListeners().catch(() => undefined);
    return true;
  }

  /**
   * Looks for a connection listening on EVENTS_CHANNEL (by its application_name, the same user's
   * sessions being visible in pg_stat_activity); for LISTENER_CHECK_MS from the start of the look,
   * commits notify only if there was one. A look that fails leaves every commit notifying.
   */
  async lookForListeners(): Promise<boolean> {
    this.lookingForListeners = true;
    const at = Date.now();
    try {
      const { rows } = await this.pool.query<{ present: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = $1) AS present`,
        [LISTENER_APPLICATION_NAME],
      );
      // A slower, older look does not overwrite a newer one.
      if (!this.listeners || this.listeners.at <= at) this.listeners = { at, present: rows[0].present };
      return rows[0].present;
    } catch (error) {
      this.listeners = undefined;
      throw error;
    } finally {
      this.lookingForListeners = false;
    }
  }

  /**
   * Appends several requests in one statement, each together with its part of one projection
   * statement for all of them: request i (from 1) is appended only when the projection returns a
   * row with `ord` = i. Returns, per request, whether it was appended. One round trip and one
   * commit for many writes.
   */
  async appendEach(
    requests: Array<Omit<AppendRequest, 'projection'>>,
    projection: Statement,
    sql: SqlExecutor = this.db,
  ): Promise<boolean[]> {
    const rows = eventRows(requests, projection.params.length);
    let appended: Array<{ event_id: string }>;
    try {
      appended = await timed(
        sql.query<{ event_id: string }>(
          `WITH projection AS (${projection.sql}) ${rows.insert} WHERE e.ord IN (SELECT ord FROM projection) RETURNING event_id`,
          [...projection.params, ...rows.params],
        ),
      );
    } catch (error) {
      if (isUniqueViolation(error, 'events_stream_version_unique'))
        throw new ConcurrencyError(requests[0].tenant, '(several streams)', -1);
      throw error;
    }
    const ids = new Set(appended.map((r) => r.event_id));
    if (ids.size > 0) this.appended(sql);
    return rows.firstEventIds.map((id) => ids.has(id));
  }

  /**
   * Commits one batch of writes, each guarded by its stream's version, through appendEach; per
   * write, whether it applied (false: its stream had moved on, or a deadlock says decide again).
   * What is shared by the batched writers (NodeWriter, ShareLeaseRepository):
   * - a write `superseded` says is bound to fail (its writer has since seen a later version of the
   *   stream) gets false without a statement: on a contended file or share, every request decided
   *   on the state before the winner's write would otherwise send its own doomed statement;
   * - the rest go out ordered by `rowId`, so that two batches lock rows in one order and never
   *   wait for each other in a cycle, in the one statement `statement` builds for them;
   * - `applied` runs for each write that applied before this returns, so that a writer remembers
   *   the new state before its next write of the same stream goes out (Batcher keys).
   */
  async appendBatch<W extends { request: Omit<AppendRequest, 'projection'> }>(
    batch: W[],
    how: {
      superseded(write: W): boolean;
      rowId(write: W): string;
      statement(live: W[]): Statement;
      applied(write: W): void;
    },
  ): Promise<boolean[]> {
    const live = batch.filter((w) => !how.superseded(w));
    if (live.length === 0) return batch.map(() => false);
    live.sort((a, b) => Number(BigInt(how.rowId(a)) - BigInt(how.rowId(b))));
    let applied: boolean[];
    try {
      applied = await this.appendEach(
        live.map((w) => w.request),
        how.statement(live),
      );
    } catch (error) {
      if (isDeadlock(error) || error instanceof ConcurrencyError) return batch.map(() => false);
      throw error;
    }
    live.forEach((w, i) => {
      if (applied[i]) how.applied(w);
    });
    return batch.map((w) => {
      const i = live.indexOf(w);
      return i >= 0 && applied[i];
    });
  }

  /**
   * Appends one event per row the projection statement returns (columns stream_id, stream_version,
   * type, data), in the same statement: for one change that touches many streams, such as closing
   * a chunk of handles. Returns the data of the appended events.
   */
  async appendPerRow<D = unknown>(
    tenant: string,
    metadata: EventMetadata,
    projection: Statement,
    sql: SqlExecutor = this.db,
  ): Promise<D[]> {
    const rows = await this.appendPerRowThen<{ data: D }>(
      tenant,
      metadata,
      projection,
      'SELECT data FROM projection',
      sql,
    );
    return rows.map((r) => r.data);
  }

  /**
   * As appendPerRow, but answers `answer`, a SELECT over the projection's rows (`FROM projection`,
   * which may return columns besides the event's) and over `before`, WITH queries that the
   * projection and the answer both read, instead of the events' data: a count and a position
   * rather than a chunk of a thousand events sent back to Node. Every projection row becomes an
   * event (a data-modifying WITH runs to completion whatever the outer SELECT reads).
   * The ids are time-ordered (uuid_v7), so that a chunk's ids go in at the right edge of the
   * event_id index instead of one random leaf page per event.
   */
  async appendPerRowThen<R>(
    tenant: string,
    metadata: EventMetadata,
    projection: Statement & { before?: string },
    answer: string,
    sql: SqlExecutor = this.db,
  ): Promise<R[]> {
    const n = projection.params.length;
    const before = projection.before ? `${projection.before}, ` : '';
    const statement = `WITH ${before}projection AS (${projection.sql}), appended AS (
        INSERT INTO events (tenant, stream_id, stream_version, event_id, type, schema_version, data, metadata)
        SELECT $${n + 1}, p.stream_id, p.stream_version, uuid_v7(), p.type, 1, p.data, $${n + 2}::jsonb FROM projection p
      )
      ${answer}`;
    try {
      const answered = await timed(sql.query<R>(statement, [...projection.params, tenant, JSON.stringify(metadata)]));
      this.appended(sql);
      return answered;
    } catch (error) {
      if (isUniqueViolation(error, 'events_stream_version_unique'))
        throw new ConcurrencyError(tenant, '(several streams)', -1);
      throw error;
    }
  }

  async readStream(tenant: string, streamId: string, sql: SqlExecutor = this.db): Promise<RecordedEvent[]> {
    const rows = await sql.query<EventRow>(
      `SELECT ${COLUMNS} FROM events WHERE tenant = $1 AND stream_id = $2 ORDER BY stream_version`,
      [tenant, streamId],
    );
    return rows.map(toRecorded);
  }

  /** A stream's events after version `after` (in order): its recent past, read without reading all of it. */
  async readStreamAfter(
    tenant: string,
    streamId: string,
    after: number,
    sql: SqlExecutor = this.db,
  ): Promise<RecordedEvent[]> {
    const rows = await sql.query(
      `SELECT ${COLUMNS} FROM events WHERE tenant = $1 AND stream_id = $2 AND stream_version > $3 ORDER BY stream_version`,
      [tenant, streamId, after],
    );
    return rows.map(toRecorded);
  }

  /**
   * The events of the given types a client request (its x-ms-client-request-id) recorded in the
   * tenant since `since`: what a retried request already did. Served by a partial index over the
   * types that ask for it (events_force_closed_by_request): pg plans each statement with its
   * values, so the planner sees the types and can use it.
   */
  async recordedBy(
    tenant: string,
    types: readonly string[],
    clientRequestId: string,
    since: Date,
    sql: SqlExecutor = this.db,
  ): Promise<RecordedEvent[]> {
    const rows = await sql.query(
      `SELECT ${COLUMNS} FROM events WHERE tenant = $1 AND type = ANY($2::text[]) AND metadata->>'clientRequestId' = $3 AND recorded_at >= $4 ORDER BY position`,
      [tenant, types, clientRequestId, since],
    );
    return rows.map(toRecorded);
  }

  /**
   * The next events after `after` in an order a checkpointed reader can follow without ever
   * skipping a transaction that commits late: only transactions older than every transaction
   * of this database still in progress (below events_horizon()) are visible, ordered by (transaction id,
   * position). A position taken from a sequence is assigned at insert but becomes visible at
   * commit, so ordering by position alone would skip events.
   *
   * At most `limit` events, and the page ends before the event whose data would take its stored
   * size (pg_column_size: as TOAST keeps it, compressed) past `maxBytes`, though its first event
   * always comes: a reader holds a page in memory whatever its events weigh (a chunk of a
   * force-close job names up to 5,000 handles in one event). `more`: the page was cut by either
   * bound, so another may follow at once.
   */
  async readAll(
    after: Checkpoint | undefined,
    limit: number,
    maxBytes: number,
  ): Promise<{ events: RecordedEvent[]; more: boolean }> {
    const page = nextBatch(after, limit);
    const rows = await this.db.query<EventRow & { page_rows: number }>(
      `SELECT ${COLUMNS}, page_rows FROM (
         SELECT *, sum(pg_column_size(data)) OVER w - pg_column_size(data) AS before, count(*) OVER ()::int AS page_rows
         FROM (${page.sql}) page WINDOW w AS (ORDER BY transaction_id, position)
       ) sized
       WHERE before < $${page.params.length + 1} ORDER BY transaction_id, position`,
      [...page.params, maxBytes],
    );
    const pageRows = rows[0]?.page_rows ?? 0;
    return { events: rows.map(toRecorded), more: pageRows === limit || pageRows > rows.length };
  }

  /**
   * readAll's next batch together with what readFirstEvents would give for every stream in it
   * (each stream's first event and its events of `alsoTypes`, here in the log's order), in one
   * statement: one round trip and one snapshot where a reader would otherwise make two. The watch
   * feed, and a watcher catching up, find where their events happen with it. `heldBack`: a
   * committed event after `after` waits behind the horizon (an older transaction is still running),
   * so a reader should look again soon rather than wait for the next notification.
   */
  async readAllWithFirstEvents(
    after: Checkpoint | undefined,
    limit: number,
    alsoTypes: string[],
    sql: SqlExecutor = this.db,
    scope: ReadScope = {},
  ): Promise<{ events: RecordedEvent[]; firstEvents: RecordedEvent[]; heldBack: boolean }> {
    const batch = nextBatch(after, limit, scope, '(SELECT h FROM horizon)');
    // kind 0: the batch; 1: first events and moves; 2: one committed event after `after` that an
    // older transaction still running holds behind the horizon, if there is one (ordered, so that
    // the planner walks the log's index from `after` rather than scanning the table: 8 ms at 38,000 events).
    const rows = await sql.query<EventRow & { kind: number }>(
      `WITH horizon AS MATERIALIZED (SELECT events_horizon() AS h),
            batch AS MATERIALIZED (${batch.sql}),
            wanted AS (SELECT DISTINCT tenant, stream_id FROM batch)
       SELECT 0 AS kind, ${COLUMNS} FROM batch
       UNION ALL
       ${firstEventsOf('wanted', alsoTypes, '1 AS kind, ')}
       UNION ALL
       (SELECT 2 AS kind, ${COLUMNS} FROM events
         WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id >= (SELECT h FROM horizon)
         ORDER BY transaction_id, position
         LIMIT 1)
       ORDER BY kind, transaction_id, position`,
      batch.params,
    );
    const events: RecordedEvent[] = [];
    const firstEvents: RecordedEvent[] = [];
    let heldBack = false;
    for (const row of rows) {
      if (row.kind === 2) heldBack = true;
      else (row.kind === 0 ? events : firstEvents).push(toRecorded(row));
    }
    return { events, firstEvents, heldBack };
  }

  /**
   * Where readAll's order currently ends: the last event below events_horizon(). A reader that
   * starts here sees every event committed after it, and nothing before.
   */
  async head(sql: SqlExecutor = this.db): Promise<Checkpoint> {
    const rows = await sql.query<{ transaction_id: string; position: string }>(
      `SELECT transaction_id::text, position::text FROM events
       WHERE transaction_id < (SELECT events_horizon())
       ORDER BY transaction_id DESC, position DESC
       LIMIT 1`,
    );
    return rows.length
      ? { transactionId: rows[0].transaction_id, position: rows[0].position }
      : { transactionId: '0', position: '0' };
  }

  /**
   * The first event (version 1) of each of the given streams that exists and, when asked, their
   * events of the `alsoTypes` (a stream's in version order). The watch asks for renames and moves.
   */
  async readFirstEvents(
    streams: Array<{ tenant: string; streamId: string }>,
    alsoTypes: string[] = [],
    sql: SqlExecutor = this.db,
  ): Promise<RecordedEvent[]> {
    if (streams.length === 0) return [];
    const rows = await sql.query<EventRow>(
      `WITH wanted (tenant, stream_id) AS (SELECT * FROM unnest($1::text[], $2::text[]))
       ${firstEventsOf('wanted', alsoTypes)}
       ORDER BY tenant, stream_id, stream_version`,
      [streams.map((s) => s.tenant), streams.map((s) => s.streamId)],
    );
    return rows.map(toRecorded);
  }
}
