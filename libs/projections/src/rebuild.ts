import { Client, ClientBase, ClientConfig } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { copyIn, textOf } from '@leasehold/event-store';
import { keyOf, PROJECTIONS, ProjectionSpec, specFor, StreamEvent } from './projection-specs';

const FLUSH = 1000;
const CATCH_UP_FETCH = 5000;
/** Connections reading the first pass, each a slice of the stream keys (the server's heap reads are most of its cost). */
const READERS = 2;
const LOG_COLUMNS = 'tenant, stream_id, type, data::text';
const LOG_ORDER = 'ORDER BY tenant, stream_id, stream_version';

/** A target table's column, as RowWriter writes it in COPY's text format. */
interface Column {
  name: string;
  json: boolean;
  array: boolean;
}

/** A PostgreSQL array literal's element: quoted, with its quotes and backslashes escaped. */
const arrayElement = (value: unknown) =>
  value === null || value === undefined ? 'NULL' : `"${textOf(value).replace(/["\\]/g, '\\$&')}"`;

/** A row's value as jsonb_populate_recordset read it from the row's JSON: null or absent is NULL. */
function columnValue(column: Column, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (column.json) return JSON.stringify(value);
  if (column.array && Array.isArray(value)) return `{${value.map(arrayElement).join(',')}}`;
  return value;
}

/** Rows derived from the log, written in batches (COPY FROM) into one set of target tables. */
class RowWriter {
  private readonly pending = new Map<string, object[]>();
  private readonly columns = new Map<string, Column[]>();
  private written: Promise<void> = Promise.resolve();
  rows = 0;

  constructor(
    private readonly client: ClientBase,
    private readonly target: (table: string) => string,
  ) {}

  /** Settles once the row's batch is written if it filled one (the reader waits: memory stays flat), else at once. */
  add(spec: ProjectionSpec, row: object): Promise<void> | undefined {
    const batch = this.pending.get(spec.table) ?? [];
    batch.push(row);
    this.pending.set(spec.table, batch);
    this.rows++;
    return batch.length >= FLUSH ? this.flush(spec.table) : undefined;
  }

  /** Writes the pending rows; batches go out one at a time, in order, whoever adds them. */
  flush(table?: string): Promise<void> {
    for (const name of table ? [table] : [...this.pending.keys()]) {
      const batch = this.pending.get(name);
      if (!batch?.length) continue;
      this.pending.set(name, []);
      this.written = this.written.then(() => this.write(this.target(name), batch));
      // A failed write reaches whoever waits next; none may be waiting when a reader failed first.
      this.written.catch(() => undefined);
    }
    return this.written;
  }

  private async write(target: string, batch: object[]): Promise<void> {
    let columns = this.columns.get(target);
    if (!columns) {
      ({ rows: columns } = await this.client.query<Column>(
        `SELECT attname AS name, atttypid = 'jsonb'::regtype AS json, attndims > 0 OR t.typcategory = 'A' AS array
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [target],
      ));
      this.columns.set(target, columns);
    }
    const rows = batch.map((row) => columns.map((c) => columnValue(c, (row as Record<string, unknown>)[c.name])));
    await copyIn(
      this.client,
      target,
      columns.map((c) => c.name),
      rows,
    );
  }
}

/** An event as read: its data is parsed only if a projection reads it (a closed handle's never is). */
class LoggedEvent implements StreamEvent {
  private parsed: unknown;

  constructor(
    readonly type: string,
    private readonly text: string,
  ) {}

  get data(): unknown {
    return (this.parsed ??= JSON.parse(this.text) as unknown);
  }
}

/**
 * Folds events arriving in (tenant, stream, version) order: one stream in memory at a time, so
 * memory stays flat however long the log.
 */
class StreamFolder {
  events = 0;
  private tenant = '';
  private streamId = '';
  private current: LoggedEvent[] = [];

  constructor(private readonly writer: RowWriter) {}

  /** Finishes the stream read so far; settles when the writer has room again if its row filled a batch. */
  next(tenant: string, streamId: string): Promise<void> | undefined {
    const written = this.finish();
    this.tenant = tenant;
    this.streamId = streamId;
    return written;
  }

  push(type: string, data: string): void {
    this.events++;
    this.current.push(new LoggedEvent(type, data));
  }

  finish(): Promise<void> | undefined {
    if (!this.current.length) return;
    const spec = specFor(this.streamId);
    const row = spec?.row(this.tenant, this.streamId, this.current);
    this.current = [];
    return spec && row ? this.writer.add(spec, row) : undefined;
  }
}

/**
 * Streams `COPY (query) TO STDOUT (FORMAT binary)` of LOG_COLUMNS (four text fields, never null)
 * into `folder`: no cursor round trips, the server producing while this process folds.
 */
async function copyLog(client: ClientBase, where: string, folder: StreamFolder): Promise<void> {
  const stream = client.query(
    copyTo(`COPY (SELECT ${LOG_COLUMNS} FROM events ${where} ${LOG_ORDER}) TO STDOUT (FORMAT binary)`),
  );
  // The file header: 11-byte signature, flags, then an extension area of the length given.
  let header = true;
  let rest: Buffer | undefined;
  let key = Buffer.alloc(256);
  let keyLength = -1;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let at = 0;
    if (header) {
      if (buf.length < 19) {
        rest = buf;
        continue;
      }
      header = false;
      at = 19 + buf.readInt32BE(15);
    }
    for (;;) {
      // A tuple: field count (-1 ends the data), then each field's length and bytes.
      if (at + 2 > buf.length || buf.readInt16BE(at) === -1) break;
      const f1 = at + 2;
      if (f1 + 4 > buf.length) break;
      const f2 = f1 + 4 + buf.readInt32BE(f1);
      if (f2 + 4 > buf.length) break;
      const f3 = f2 + 4 + buf.readInt32BE(f2);
      if (f3 + 4 > buf.length) break;
      const f4 = f3 + 4 + buf.readInt32BE(f3);
      if (f4 + 4 > buf.length) break;
      const end = f4 + 4 + buf.readInt32BE(f4);
      if (end > buf.length) break;
      // A new stream when its key's bytes (tenant and stream id, with their lengths) differ from the last.
      let written: Promise<void> | undefined;
      if (f3 - f1 !== keyLength || buf.compare(key, 0, keyLength, f1, f3) !== 0) {
        keyLength = f3 - f1;
        if (keyLength > key.length) key = Buffer.alloc(2 * keyLength);
        buf.copy(key, 0, f1, f3);
        written = folder.next(buf.toString('utf8', f1 + 4, f2), buf.toString('utf8', f2 + 4, f3));
      }
      folder.push(buf.toString('utf8', f3 + 4, f4), buf.toString('utf8', f4 + 4, end));
      at = end;
      if (written) await written;
    }
    rest = at < buf.length ? buf.subarray(at) : undefined;
  }
  // All that may be left is the trailer: a field count of -1.
  if (rest?.length !== 2 || rest.readInt16BE(0) !== -1) throw new Error('COPY of the event log ended inside a tuple');
}

/** Another connection to the database `client` is connected to (node-postgres keeps its parameters). */
const sibling = (client: ClientBase) =>
  new Client((client as unknown as { connectionParameters: ClientConfig }).connectionParameters);

/**
 * Folds every stream of the log, as of the snapshot `client`'s transaction exported, into the
 * target tables: READERS connections each stream a slice of the stream keys in that snapshot, and
 * `client` writes the rows. Returns the number of events read.
 */
async function foldLog(client: ClientBase, snapshot: string, writer: RowWriter): Promise<number> {
  // Slice boundaries from a sample of about 200 pages: quantiles of the stream keys, each a stream's start.
  const { rows: bounds } = await client.query<{ tenant: string; stream_id: string }>(
    `WITH s AS (SELECT tenant, stream_id, row_number() OVER (ORDER BY tenant, stream_id) AS i, count(*) OVER () AS n
                FROM events TABLESAMPLE SYSTEM (least(100, 20000.0 / greatest(1, pg_relation_size('events') / current_setting('block_size')::int))) REPEATABLE (0))
     SELECT DISTINCT tenant, stream_id FROM s WHERE i > 1 AND ((i - 1) * $1) / n <> ((i - 2) * $1) / n ORDER BY tenant, stream_id`,
    [READERS],
  );
  const key = (b: { tenant: string; stream_id: string }) =>
    `(${client.escapeLiteral(b.tenant)}, ${client.escapeLiteral(b.stream_id)})`;
  const slices = [...bounds, undefined].map((upper, i) => {
    const lower = bounds[i - 1];
    const conditions = [
      ...(lower ? [`(tenant, stream_id) >= ${key(lower)}`] : []),
      ...(upper ? [`(tenant, stream_id) < ${key(upper)}`] : []),
    ];
    return conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  });
  const read = await Promise.allSettled(
    slices.map(async (where) => {
      const reader = sibling(client);
      await reader.connect();
      try {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await reader.query(`SET TRANSACTION SNAPSHOT ${client.escapeLiteral(snapshot)}`);
        const folder = new StreamFolder(writer);
        await copyLog(reader, where, folder);
        await folder.finish();
        await reader.query('COMMIT');
        return folder;
      } finally {
        await reader.end();
      }
    }),
  );
  const failed = read.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  await writer.flush();
  return read.reduce((n, r) => n + (r.status === 'fulfilled' ? r.value.events : 0), 0);
}

/**
 * Folds the given streams, read by `client` itself in its transaction, into the target tables.
 * Through a cursor, so that the writer's batches go out on the same connection between fetches.
 */
async function foldStreams(
  client: ClientBase,
  writer: RowWriter,
  streams: { tenant: string; stream_id: string }[],
): Promise<number> {
  await client.query(
    `DECLARE streams NO SCROLL CURSOR FOR SELECT ${LOG_COLUMNS} FROM events
     WHERE (tenant, stream_id) IN (SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(tenant text, stream_id text)) ${LOG_ORDER}`,
    [JSON.stringify(streams)],
  );
  const folder = new StreamFolder(writer);
  let last: { tenant: string; stream_id: string } | undefined;
  for (;;) {
    const { rows } = await client.query<{ tenant: string; stream_id: string; type: string; data: string }>(
      `FETCH ${CATCH_UP_FETCH} FROM streams`,
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.stream_id !== last?.stream_id || r.tenant !== last.tenant) await folder.next(r.tenant, r.stream_id);
      folder.push(r.type, r.data);
      last = r;
    }
  }
  await folder.finish();
  await client.query(`CLOSE streams`);
  await writer.flush();
  return folder.events;
}

/** Events committed after the first pass's snapshot ($1); the xmin bound lets events_transaction_order find them. */
const WRITTEN_SINCE_SNAPSHOT = `transaction_id >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(transaction_id, $1::pg_snapshot)`;

/**
 * Handles that a HandlesForceClosed event of their tenant lists are closed, though their own streams
 * end at HandleOpened (the writer deleted their rows with that event). `closures` narrows the
 * events read: SQL over `events`, with `params` as $1….
 */
async function dropClosedHandles(
  client: ClientBase,
  target: (table: string) => string,
  closures = 'TRUE',
  params: unknown[] = [],
): Promise<void> {
  await client.query(
    `DELETE FROM ${target('handles')} h USING events e, jsonb_array_elements_text(e.data->'handleIds') AS closed(id)
     WHERE e.type = 'HandlesForceClosed' AND ${closures} AND h.tenant = e.tenant AND h.handle_id = closed.id::bigint`,
    params,
  );
}

/** Nodes and handles of a deleted share go with it (Delete Share removes them in the same transaction). */
async function dropOrphans(client: ClientBase, target: (table: string) => string): Promise<void> {
  for (const table of ['nodes', 'handles']) {
    await client.query(
      `DELETE FROM ${target(table)} t WHERE NOT EXISTS (SELECT 1 FROM ${target('shares')} s WHERE s.share_id = t.share_id)`,
    );
  }
}

export interface TableDifference {
  table: string;
  onlyLive: number;
  onlyRebuilt: number;
  samples: { side: 'live' | 'rebuilt'; row: unknown }[];
}

export interface VerifyResult {
  events: number;
  rows: number;
  differences: TableDifference[];
}

/**
 * Rebuilds every projection from the log into scratch tables and compares them with the live ones,
 * all in one repeatable-read snapshot (the inline projections commit with their events, so the
 * snapshot is consistent). Changes nothing.
 */
export async function verifyProjections(client: ClientBase, samples = 10): Promise<VerifyResult> {
  const scratch = (table: string) => `verify_${table}`;
  // Rolled back at the end: the temporary tables vanish with the transaction.
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    const snapshot = (await client.query<{ s: string }>(`SELECT pg_export_snapshot() AS s`)).rows[0].s;
    for (const { table } of PROJECTIONS)
      await client.query(`CREATE TEMP TABLE ${scratch(table)} (LIKE ${table} INCLUDING DEFAULTS) ON COMMIT DROP`);
    const writer = new RowWriter(client, scratch);
    const events = await foldLog(client, snapshot, writer);
    await dropClosedHandles(client, scratch);
    await dropOrphans(client, scratch);
    const differences: TableDifference[] = [];
    for (const { table } of PROJECTIONS) {
      const { rows } = await client.query<{
        only_live: number;
        only_rebuilt: number;
        live_samples: unknown[];
        rebuilt_samples: unknown[];
      }>(
        `WITH live AS (SELECT * FROM ${table} EXCEPT SELECT * FROM ${scratch(table)}),
              rebuilt AS (SELECT * FROM ${scratch(table)} EXCEPT SELECT * FROM ${table})
         SELECT (SELECT count(*) FROM live)::int AS only_live, (SELECT count(*) FROM rebuilt)::int AS only_rebuilt,
           (SELECT coalesce(jsonb_agg(to_jsonb(l)), '[]') FROM (SELECT * FROM live LIMIT $1) l) AS live_samples,
           (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM (SELECT * FROM rebuilt LIMIT $1) r) AS rebuilt_samples`,
        [samples],
      );
      const r = rows[0];
      if (r.only_live || r.only_rebuilt) {
        differences.push({
          table,
          onlyLive: r.only_live,
          onlyRebuilt: r.only_rebuilt,
          samples: [
            ...r.live_samples.map((row) => ({ side: 'live' as const, row })),
            ...r.rebuilt_samples.map((row) => ({ side: 'rebuilt' as const, row })),
          ],
        });
      }
    }
    return { events, rows: writer.rows, differences };
  } finally {
    await client.query('ROLLBACK');
  }
}

export interface RebuildResult {
  events: number;
  rows: number;
  /** Streams written after the first pass, replayed while writes were held for the swap. */
  caughtUp: number;
}

const PROJECTION_TABLES = PROJECTIONS.map((p) => p.table);

/**
 * Rebuilds every projection from the log into fresh tables and swaps them in. The long first pass
 * runs beside live traffic; then one short transaction holds the tables, replays the streams
 * written since the first pass's snapshot, and swaps by rename. Reads wait only for that swap.
 */
export async function rebuildProjections(client: ClientBase): Promise<RebuildResult> {
  const next = (table: string) => `${table}_next`;
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  let snapshot: string;
  let events: number;
  let writer: RowWriter;
  try {
    let exported: string;
    ({ snapshot, exported } = (
      await client.query<{ snapshot: string; exported: string }>(
        `SELECT pg_current_snapshot()::text AS snapshot, pg_export_snapshot() AS exported`,
      )
    ).rows[0]);
    for (const table of PROJECTION_TABLES) {
      await client.query(`DROP TABLE IF EXISTS ${next(table)}`);
      // Indexes come once the rows are in: one sort each rather than an insert per row.
      await client.query(`CREATE TABLE ${next(table)} (LIKE ${table} INCLUDING ALL EXCLUDING INDEXES)`);
    }
    writer = new RowWriter(client, next);
    events = await foldLog(client, exported, writer);
    // Before the indexes: the closed handles' rows go in one pass instead of an index update each.
    await dropClosedHandles(client, next);
    for (const table of PROJECTION_TABLES) await copyIndexes(client, table, next(table));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }

  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '10s'`);
    await client.query(`LOCK TABLE events, ${PROJECTION_TABLES.join(', ')} IN ACCESS EXCLUSIVE MODE`);
    const { rows: changed } = await client.query<{ tenant: string; stream_id: string }>(
      `SELECT DISTINCT tenant, stream_id FROM events WHERE ${WRITTEN_SINCE_SNAPSHOT}`,
      [snapshot],
    );
    for (const { stream_id } of changed) {
      const spec = specFor(stream_id);
      if (spec)
        await client.query(`DELETE FROM ${next(spec.table)} WHERE ${spec.keyColumn}::text = $1`, [
          keyOf(spec, stream_id),
        ]);
    }
    if (changed.length) events += await foldStreams(client, writer, changed);
    // Only the closures written since: an earlier one cannot name a handle refolded here, whose
    // HandleOpened (its stream's only event, or it has no row) came after the snapshot.
    await dropClosedHandles(client, next, WRITTEN_SINCE_SNAPSHOT, [snapshot]);
    await dropOrphans(client, next);
    for (const table of PROJECTION_TABLES) await swapIn(client, table, next(table));
    await client.query('COMMIT');
    return { events, rows: writer.rows, caughtUp: changed.length };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** Gives `fresh` the indexes and key constraints of `table`, under names of its own (swapIn renames them). */
async function copyIndexes(client: ClientBase, table: string, fresh: string): Promise<void> {
  const { rows } = await client.query<{ statement: string }>(
    `SELECT CASE WHEN c.oid IS NULL
                 THEN regexp_replace(pg_get_indexdef(x.indexrelid), '^(CREATE (UNIQUE )?INDEX) \\S+ ON \\S+', '\\1 ON ' || $2)
                 ELSE format('ALTER TABLE %s ADD %s', $2, pg_get_constraintdef(c.oid)) END AS statement
     FROM pg_index x
     LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x')
     WHERE x.indrelid = $1::regclass`,
    [table, fresh],
  );
  for (const { statement } of rows) await client.query(statement);
}

/** Replaces `table` by `fresh`, keeping the index and constraint names the code and migrations know. */
async function swapIn(client: ClientBase, table: string, fresh: string): Promise<void> {
  const indexNames = async (relation: string) =>
    (
      await client.query(
        `SELECT i.relname AS name, regexp_replace(pg_get_indexdef(i.oid), '^.* USING ', '') AS definition
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::regclass`,
        [relation],
      )
    ).rows as { name: string; definition: string }[];
  const original = await indexNames(table);
  const created = await indexNames(fresh);
  await client.query(`DROP TABLE ${table}`);
  await client.query(`ALTER TABLE ${fresh} RENAME TO ${table}`);
  for (const index of created) {
    const wanted = original.find((o) => o.definition === index.definition);
    if (wanted && wanted.name !== index.name) await client.query(`ALTER INDEX ${index.name} RENAME TO ${wanted.name}`);
  }
}
