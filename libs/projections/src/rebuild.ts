import type { PoolClient } from 'pg';
import { keyOf, PROJECTIONS, ProjectionSpec, specFor, StreamEvent } from './projection-specs';

const FETCH = 5000;
const FLUSH = 1000;

/** Rows derived from the log, written in batches into one set of target tables. */
class RowWriter {
  private readonly pending = new Map<string, object[]>();
  rows = 0;

  constructor(
    private readonly client: PoolClient,
    private readonly target: (table: string) => string,
  ) {}

  async add(spec: ProjectionSpec, row: object): Promise<void> {
    const batch = this.pending.get(spec.table) ?? [];
    batch.push(row);
    this.pending.set(spec.table, batch);
    this.rows++;
    if (batch.length >= FLUSH) await this.flush(spec.table);
  }

  async flush(table?: string): Promise<void> {
    for (const name of table ? [table] : [...this.pending.keys()]) {
      const batch = this.pending.get(name);
      if (!batch?.length) continue;
      const target = this.target(name);
      await this.client.query(
        `INSERT INTO ${target} SELECT * FROM jsonb_populate_recordset(NULL::${target}, $1::jsonb)`,
        [JSON.stringify(batch)],
      );
      this.pending.set(name, []);
    }
  }
}

/**
 * Folds every stream of the log, in stream-version order, into the target tables. Reading by
 * (tenant, stream, version) keeps one stream in memory at a time, so memory stays flat however long
 * the log. Returns the number of events read.
 */
async function foldLog(
  client: PoolClient,
  writer: RowWriter,
  streams?: { tenant: string; stream_id: string }[],
): Promise<number> {
  const filter = streams
    ? `WHERE (tenant, stream_id) IN (SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(tenant text, stream_id text))`
    : '';
  await client.query(
    `DECLARE log NO SCROLL CURSOR FOR SELECT tenant, stream_id, type, data FROM events ${filter} ORDER BY tenant, stream_id, stream_version`,
    streams ? [JSON.stringify(streams)] : [],
  );
  let events = 0;
  let current: { tenant: string; streamId: string; events: StreamEvent[] } | undefined;
  const finish = async () => {
    if (!current) return;
    const spec = specFor(current.streamId);
    const row = spec?.row(current.tenant, current.streamId, current.events);
    if (spec && row) await writer.add(spec, row);
  };
  for (;;) {
    const { rows } = await client.query<{ tenant: string; stream_id: string; type: string; data: unknown }>(
      `FETCH ${FETCH} FROM log`,
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      events++;
      if (!current || current.tenant !== r.tenant || current.streamId !== r.stream_id) {
        await finish();
        current = { tenant: r.tenant, streamId: r.stream_id, events: [] };
      }
      current.events.push({ type: r.type, data: r.data });
    }
  }
  await finish();
  await client.query(`CLOSE log`);
  await writer.flush();
  return events;
}

/** Nodes and handles of a deleted share go with it (Delete Share removes them in the same transaction). */
async function dropOrphans(client: PoolClient, target: (table: string) => string): Promise<void> {
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
export async function verifyProjections(client: PoolClient, samples = 10): Promise<VerifyResult> {
  const scratch = (table: string) => `verify_${table}`;
  // Rolled back at the end: the temporary tables vanish with the transaction.
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    for (const { table } of PROJECTIONS)
      await client.query(`CREATE TEMP TABLE ${scratch(table)} (LIKE ${table} INCLUDING DEFAULTS) ON COMMIT DROP`);
    const writer = new RowWriter(client, scratch);
    const events = await foldLog(client, writer);
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
export async function rebuildProjections(client: PoolClient): Promise<RebuildResult> {
  const next = (table: string) => `${table}_next`;
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  let snapshot: string;
  let events: number;
  let writer: RowWriter;
  try {
    snapshot = (await client.query<{ s: string }>(`SELECT pg_current_snapshot()::text AS s`)).rows[0].s;
    for (const table of PROJECTION_TABLES) {
      await client.query(`DROP TABLE IF EXISTS ${next(table)}`);
      await client.query(`CREATE TABLE ${next(table)} (LIKE ${table} INCLUDING ALL)`);
    }
    writer = new RowWriter(client, next);
    events = await foldLog(client, writer);
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
      `SELECT DISTINCT tenant, stream_id FROM events WHERE NOT pg_visible_in_snapshot(transaction_id, $1::pg_snapshot)`,
      [snapshot],
    );
    for (const { stream_id } of changed) {
      const spec = specFor(stream_id);
      if (spec)
        await client.query(`DELETE FROM ${next(spec.table)} WHERE ${spec.keyColumn}::text = $1`, [
          keyOf(spec, stream_id),
        ]);
    }
    if (changed.length) events += await foldLog(client, writer, changed);
    await dropOrphans(client, next);
    for (const table of PROJECTION_TABLES) await swapIn(client, table, next(table));
    await client.query('COMMIT');
    return { events, rows: writer.rows, caughtUp: changed.length };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** Replaces `table` by `fresh`, keeping the index and constraint names the code and migrations know. */
async function swapIn(client: PoolClient, table: string, fresh: string): Promise<void> {
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
