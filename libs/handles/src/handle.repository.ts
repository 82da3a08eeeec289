import { Injectable } from '@nestjs/common';
import { EventMetadata, EventStore, SqlExecutor } from '@leasehold/event-store';
import { HandlePosition } from './markers';

export type AccessRight = 'Read' | 'Write' | 'Delete';

/** The data of a HandleOpened event. */
export interface HandleOpened {
  shareId: string;
  handleId: string;
  fileId: string;
  parentId: string;
  sessionId: string;
  path: string;
  nodeKey: string;
  clientName: string;
  clientIp: string;
  access: AccessRight[];
  openTime: string;
}

/** An open handle's row in the handles projection: the one mapping both the inline projection and rebuilds use. */
export const handleRow = (tenant: string, h: HandleOpened) => ({
  handle_id: h.handleId,
  tenant,
  share_id: h.shareId,
  node_key: h.nodeKey,
  path: h.path,
  file_id: h.fileId,
  parent_id: h.parentId,
  session_id: h.sessionId,
  client_ip: h.clientIp,
  client_name: h.clientName,
  access: h.access,
  open_time: h.openTime,
  last_reconnect_time: null,
});

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
  lastReconnectTime?: Date;
  nodeKey: string;
}

/** Which handles an operation is about: those on one node, or (recursive) on a directory and everything below it. */
export interface HandleScope {
  shareId: string;
  nodeKey: string;
  recursive: boolean;
  /** One handle id, or undefined for all. */
  handleId?: string;
}

export interface ClosedChunk {
  closed: number;
  /** Where the next chunk starts, when handles remain after this one. */
  next?: HandlePosition;
}

const toHandle = (r: any): HandleRow => ({
  handleId: String(r.handle_id),
  path: r.path,
  fileId: String(r.file_id),
  parentId: String(r.parent_id),
  sessionId: String(r.session_id),
  clientIp: r.client_ip,
  clientName: r.client_name,
  access: r.access,
  openTime: r.open_time,
  lastReconnectTime: r.last_reconnect_time ?? undefined,
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
  return [scope.shareId, scope.nodeKey, scope.recursive, prefix, scope.handleId ?? null, after?.nodeKey ?? '', after?.handleId ?? '-1'];
}

@Injectable()
export class HandleRepository {
  constructor(private readonly store: EventStore) {}

  /** One page of handles in scope after `after`; `more` tells whether another page follows. */
  async list(scope: HandleScope, after: HandlePosition | undefined, limit: number): Promise<{ handles: HandleRow[]; more: boolean }> {
    const rows = await this.store.db.query(
      `SELECT * FROM handles WHERE ${SCOPE} ORDER BY node_key, handle_id LIMIT $8`,
      [...scopeParams(scope, after), limit + 1],
    );
    return { handles: rows.slice(0, limit).map(toHandle), more: rows.length > limit };
  }

  async countOn(shareId: string, nodeKey: string, sql: SqlExecutor = this.store.db): Promise<number> {
    const rows = await sql.query(`SELECT count(*)::int AS n FROM handles WHERE share_id = $1 AND node_key = $2`, [shareId, nodeKey]);
    return rows[0].n;
  }

  /**
   * Force-closes the next chunk of handles in scope after `after`, in one statement: the rows are
   * locked, deleted and each gets a HandleForceClosed event at version 2 of its own stream, so a
   * handle closed concurrently (by its holder, or by another closer) is closed exactly once. The
   * synchronous Force Close Handles operation and the queued job both close through this.
   */
  async forceCloseChunk(tenant: string, scope: HandleScope, after: HandlePosition | undefined, limit: number, metadata: EventMetadata, sql: SqlExecutor = this.store.db): Promise<ClosedChunk> {
    const closed = await this.store.appendPerRow(
      tenant,
      metadata,
      {
        sql: `DELETE FROM handles WHERE handle_id IN (
                SELECT handle_id FROM handles WHERE ${SCOPE} ORDER BY node_key, handle_id LIMIT $8 FOR UPDATE
              )
              RETURNING 'handle-' || handle_id AS stream_id, 2 AS stream_version, 'HandleForceClosed' AS type,
                jsonb_build_object('handleId', handle_id::text, 'path', path, 'nodeKey', node_key, 'fileId', file_id::text,
                  'sessionId', session_id::text, 'clientName', client_name) AS data`,
        params: [...scopeParams(scope, after), limit],
      },
      sql,
    );
    if (closed.length === 0) return { closed: 0 };
    // The chunk's last position in PostgreSQL's own order (its collation, not JavaScript's), and whether any handle lies beyond it.
    const [last] = await sql.query(
      `WITH last AS (
         SELECT node_key, handle_id FROM jsonb_to_recordset($6::jsonb) AS c(node_key text, handle_id bigint)
         ORDER BY node_key DESC, handle_id DESC LIMIT 1
       )
       SELECT last.node_key, last.handle_id::text,
         EXISTS (SELECT 1 FROM handles WHERE ${SCOPE.replace('($6::text, $7::bigint)', '(last.node_key, last.handle_id)')}) AS more
       FROM last`,
      [...scopeParams(scope, undefined).slice(0, 5), JSON.stringify(closed.map((c) => ({ node_key: c.nodeKey, handle_id: c.handleId })))],
    );
    return { closed: closed.length, next: last.more ? { nodeKey: last.node_key, handleId: last.handle_id } : undefined };
  }
}
