import { Injectable } from '@nestjs/common';
import type { CommandContext } from '@leasehold/domain';
import { eventMetadata, EventStore, SqlExecutor } from '@leasehold/event-store';
import type { OpenHandles } from '@leasehold/filesystem';
import {
  AccessRight,
  closedHandleIds,
  HANDLE_CLOSURE_STREAM_PREFIX,
  HANDLE_STREAM_PREFIX,
  HandleEvent,
  HandleForceClosed,
  HandleOpened,
  handleRow,
  HandlesForceClosed,
  handleStream,
} from './handle.events';
import { HandlePosition } from './markers';
import { randomBytes } from 'node:crypto';

/** The events a Force Close Handles request may have recorded: a chunk's, or (before HandlesForceClosed) one per handle. */
const FORCE_CLOSES = ['HandlesForceClosed', 'HandleForceClosed'];

const randomId = (): string => ((randomBytes(8).readBigUInt64BE() % (2n ** 63n - 1n)) + 1n).toString();

export interface HandleRow {
  handleId: string;
  path: string;
  fileId: string;
  parentId: string;
  sessionId: string;
  clientIp: string;
  clientName: string;
  access: AccessRight[];
  openTime: Date;
  nodeKey: string;
}

/** Which handles an operation is about: those on one node, or (recursive) on a directory and everything below it. */
export interface HandleScope {
  shareId: string;
  nodeKey: string;
  /** The node's path as named (case-preserved, '' for the share root): where the audit shows a close. */
  path: string;
  recursive: boolean;
  /** One handle id, or undefined for all. */
  handleId?: string;
}

export interface ClosedChunk {
  closed: number;
  /** Where the next chunk starts, when handles remain after this one. */
  next?: HandlePosition;
}

/** A row of the handles table as pg returns it (bigints as text). */
interface HandleColumns {
  handle_id: string;
  path: string;
  file_id: string;
  parent_id: string;
  session_id: string;
  client_ip: string;
  client_name: string;
  access: AccessRight[];
  open_time: Date;
  node_key: string;
}

const toHandle = (r: HandleColumns): HandleRow => ({
  handleId: String(r.handle_id),
  path: r.path,
  fileId: String(r.file_id),
  parentId: String(r.parent_id),
  sessionId: String(r.session_id),
  clientIp: r.client_ip,
  clientName: r.client_name,
  access: r.access,
  openTime: r.open_time,
  nodeKey: r.node_key,
});

/**
 * The filter shared by listing and closing, as SQL over $1..$5 (share, node key, recursive,
 * descendant prefix, handle id) and $6..$7 (the position to start after). Keyset order
 * (node_key, handle_id) keeps pages consistent under concurrent opens and closes.
 */
const SCOPE = `share_id = $1
  AND (node_key = $2 OR ($3 AND starts_with(node_key, $4)))
  AND ($5::bigint IS NULL OR handle_id = $5::bigint)
  AND (node_key, handle_id) > ($6::text, $7::bigint)`;

function scopeParams(scope: HandleScope, after?: HandlePosition): unknown[] {
  const prefix = scope.nodeKey === '' ? '' : `${scope.nodeKey}/`;
  return [
    scope.shareId,
    scope.nodeKey,
    scope.recursive,
    prefix,
    scope.handleId ?? null,
    after?.nodeKey ?? '',
    after?.handleId ?? '-1',
  ];
}

/** The handles table and the handle streams: the only code that writes either. */
@Injectable()
export class HandleRepository implements OpenHandles {
  constructor(private readonly store: EventStore) {}

  /** One page of handles in scope after `after`; `more` tells whether another page follows. */
  async list(
    scope: HandleScope,
    after: HandlePosition | undefined,
    limit: number,
  ): Promise<{ handles: HandleRow[]; more: boolean }> {
    const rows = await this.store.db.query<HandleColumns>(
      `SELECT * FROM handles WHERE ${SCOPE} ORDER BY node_key, handle_id LIMIT $8`,
      [...scopeParams(scope, after), limit + 1],
    );
    return { handles: rows.slice(0, limit).map(toHandle), more: rows.length > limit };
  }

  /** Open handles across all tenants, for the metrics. */
  async countAll(): Promise<number> {
    const rows = await this.store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM handles`);
    return rows[0].n;
  }

  async countOn(shareId: string, nodeKey: string, sql: SqlExecutor = this.store.db): Promise<number> {
    const rows = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM handles WHERE share_id = $1 AND node_key = $2`,
      [shareId, nodeKey],
    );
    return rows[0].n;
  }

  async anyOpenOn(shareId: string, nodeKey: string, sql: SqlExecutor): Promise<boolean> {
    return (
      (await sql.query(`SELECT 1 FROM handles WHERE share_id = $1 AND node_key = $2 LIMIT 1`, [shareId, nodeKey]))
        .length > 0
    );
  }

  async anyOpenUnder(shareId: string, nodeKey: string, sql: SqlExecutor): Promise<boolean> {
    const rows = await sql.query(
      `SELECT 1 FROM handles WHERE share_id = $1 AND (node_key = $2 OR starts_with(node_key, $3)) LIMIT 1`,
      [shareId, nodeKey, `${nodeKey}/`],
    );
    return rows.length > 0;
  }

  /**
   * A new handle id and a new session id (used when the client names no session): random positive
   * 63-bit integers (uint64 on the wire, bigint here). A counter would tell one tenant how busy the
   * others are, and would make the session id that proves a Close Handle guessable.
   */
  nextIds(): { handleId: string; sessionId: string } {
    return { handleId: randomId(), sessionId: randomId() };
  }

  /** Appends HandleOpened with the handle's row, in the caller's transaction. */
  async recordOpened(context: CommandContext, opened: HandleOpened, sql: SqlExecutor): Promise<void> {
    const event: HandleEvent = { type: 'HandleOpened', data: opened };
    await this.store.append(
      {
        tenant: context.tenant,
        streamId: handleStream(opened.handleId),
        expectedVersion: 0,
        events: [event],
        metadata: eventMetadata(context),
        projection: {
          sql: `INSERT INTO handles SELECT * FROM jsonb_populate_record(NULL::handles, $1::jsonb) RETURNING 1`,
          params: [JSON.stringify(handleRow(context.tenant, opened))],
        },
      },
      sql,
    );
  }

  /** Closes a handle for its holder (the handle id and the session prove who holds it); false when no such handle is open there. */
  async closeByHolder(
    context: CommandContext,
    shareId: string,
    nodeKey: string,
    handleId: string,
    sessionId: string,
  ): Promise<boolean> {
    const closed = await this.store.appendPerRow(context.tenant, eventMetadata(context), {
      sql: `DELETE FROM handles WHERE handle_id = $1 AND share_id = $2 AND node_key = $3 AND session_id = $4
            RETURNING $5::text || handle_id AS stream_id, 2 AS stream_version, 'HandleClosed' AS type,
              jsonb_build_object('handleId', handle_id::text, 'path', path, 'fileId', file_id::text, 'sessionId', session_id::text) AS data`,
      params: [handleId, shareId, nodeKey, sessionId, HANDLE_STREAM_PREFIX],
    });
    return closed.length > 0;
  }

  /** Delete Share: every handle in the share closed, one HandleForceClosed each (reason ShareDeleted). */
  async closeAllInShare(context: CommandContext, shareId: string, sql: SqlExecutor): Promise<void> {
    await this.store.appendPerRow(
      context.tenant,
      eventMetadata(context),
      {
        sql: `DELETE FROM handles WHERE share_id = $1
              RETURNING $2::text || handle_id AS stream_id, 2 AS stream_version, 'HandleForceClosed' AS type,
                jsonb_build_object('handleId', handle_id::text, 'path', path, 'nodeKey', node_key, 'fileId', file_id::text,
                  'sessionId', session_id::text, 'clientName', client_name, 'reason', 'ShareDeleted') AS data`,
        params: [shareId, HANDLE_STREAM_PREFIX],
      },
      sql,
    );
  }

  /**
   * Force-closes the next chunk of handles in scope after `after`, in one statement: the rows are
   * deleted and one HandlesForceClosed event lists them, so a handle closed concurrently (by its
   * holder, or by another closer) is closed exactly once: its row is deleted once. The synchronous
   * Force Close Handles operation and the queued job both close through this.
   *
   * The statement picks the chunk's rows and one more by the keyset index, deletes the chunk's by
   * ctid (no second lookup, no row lock before the delete: handles rows are never updated, so a
   * row picked is either deleted here, and listed, or already deleted by a concurrent closer and
   * skipped), and answers how many it closed, the chunk's last position (in PostgreSQL's order;
   * every picked row up to it is gone, whoever closed it) and whether the extra row shows handles
   * in scope beyond it. A chunk whose handles were all closed concurrently appends no event and
   * still carries the job on.
   */
  async forceCloseChunk(
    context: CommandContext,
    scope: HandleScope,
    after: HandlePosition | undefined,
    limit: number,
    sql: SqlExecutor = this.store.db,
  ): Promise<ClosedChunk> {
    const [last] = await this.store.appendPerRowThen<{
      closed: number;
      node_key: string;
      handle_id: string;
      more: boolean;
    }>(
      context.tenant,
      eventMetadata(context),
      {
        before: `picked AS (
                   SELECT ctid, node_key, handle_id FROM handles WHERE ${SCOPE} ORDER BY node_key, handle_id LIMIT $8::int + 1
                 ), chunk AS (SELECT * FROM picked ORDER BY node_key, handle_id LIMIT $8::int),
                 last AS (SELECT node_key, handle_id FROM chunk ORDER BY node_key DESC, handle_id DESC LIMIT 1),
                 deleted AS (DELETE FROM handles WHERE ctid = ANY (ARRAY(SELECT ctid FROM chunk)) RETURNING handle_id)`,
        sql: `SELECT $9::text || uuid_v7() AS stream_id, 1 AS stream_version, 'HandlesForceClosed' AS type,
                jsonb_build_object('shareId', $1::text, 'path', $10::text, 'recursive', $3::boolean,
                  'handleIds', jsonb_agg(handle_id::text),
                  'last', (SELECT jsonb_build_object('nodeKey', node_key, 'handleId', handle_id::text) FROM last)) AS data
              FROM deleted HAVING count(*) > 0`,
        params: [...scopeParams(scope, after), limit, HANDLE_CLOSURE_STREAM_PREFIX, scope.path],
      },
      `SELECT (SELECT count(*)::int FROM deleted) AS closed, node_key, handle_id::text AS handle_id,
         (SELECT count(*) FROM picked) > $8::int AS more
       FROM last`,
      sql,
    );
    if (!last) return { closed: 0 };
    return {
      closed: last.closed,
      next: last.more ? { nodeKey: last.node_key, handleId: last.handle_id } : undefined,
    };
  }

  /**
   * What a Force Close Handles with this client request id closed within `windowMs`: a retry of a
   * request that committed gets that answer, instead of closing what was opened since. A chunk
   * short of `limit` left nothing behind it then, so it carries no marker; a full one continues
   * after its last handle. Undefined when it closed nothing.
   */
  async closedBy(
    context: CommandContext,
    scope: HandleScope,
    windowMs: number,
    limit: number,
  ): Promise<ClosedChunk | undefined> {
    if (!context.clientRequestId) return undefined;
    const since = new Date(context.now.getTime() - windowMs);
    const events = await this.store.recordedBy(context.tenant, FORCE_CLOSES, context.clientRequestId, since);
    // Each event's last position in the keyset order: a chunk's, or (an older per-handle event) its handle's.
    const positions = events.map((e) =>
      e.type === 'HandlesForceClosed' ? (e.data as HandlesForceClosed).last : (e.data as HandleForceClosed),
    );
    const closed = events.reduce((n, e) => n + closedHandleIds(e).length, 0);
    if (closed === 0) return undefined;
    if (closed < limit) return { closed };
    return this.chunkOf(scope, closed, positions);
  }

  /** The answer for a chunk that closed `closed` and ended at the greatest of `positions`: where the next chunk starts, when handles in scope lie beyond it. */
  private async chunkOf(scope: HandleScope, closed: number, positions: HandlePosition[]): Promise<ClosedChunk> {
    // The chunk's last position in PostgreSQL's own order (its collation, not JavaScript's), and whether any handle lies beyond it.
    const [last] = await this.store.db.query<{ node_key: string; handle_id: string; more: boolean }>(
      `WITH last AS (
         SELECT node_key, handle_id FROM jsonb_to_recordset($6::jsonb) AS c(node_key text, handle_id bigint)
         ORDER BY node_key DESC, handle_id DESC LIMIT 1
       )
       SELECT last.node_key, last.handle_id::text,
         EXISTS (SELECT 1 FROM handles WHERE ${SCOPE.replace('($6::text, $7::bigint)', '(last.node_key, last.handle_id)')}) AS more
       FROM last`,
      [
        ...scopeParams(scope, undefined).slice(0, 5),
        JSON.stringify(positions.map((p) => ({ node_key: p.nodeKey, handle_id: p.handleId }))),
      ],
    );
    return {
      closed,
      next: last.more ? { nodeKey: last.node_key, handleId: last.handle_id } : undefined,
    };
  }
}
