import { Injectable } from '@nestjs/common';
import { ByteRange, CopyState, DomainError, evolveRanges, NodeEvent, NodeState, pathKey } from '@leasehold/domain';
import { EventStore, SqlExecutor, Statement } from '@leasehold/event-store';
import type { Readable } from 'node:stream';
import { contentStream, readContent, STREAM_SEGMENT_BYTES } from '../files/file-content';
import { ShareSnapshot, ShareState, shareRow } from '../shares/share.events';

export interface ShareRow {
  shareId: string;
  name: string;
  quota: number;
  metadata: Record<string, string>;
  etag: string;
  lastModified: Date;
  version: number;
}

/** Where a path points: its share, the node there (if any), and whether its parent directory exists. */
export interface Located {
  share: ShareRow;
  node?: NodeState;
  parentExists: boolean;
  /** The parent's FileId: '0' for the share root. */
  parentId: string;
  key: string;
  parentKey: string;
  /** Set when this is where the path pointed in a share snapshot (read-only). */
  snapshot?: ShareSnapshot;
}

/** A node's stream, node-<file id>: its events are the domain's NodeEvent. */
export const NODE_STREAM_PREFIX = 'node-';
export const nodeStream = (fileId: string) => `${NODE_STREAM_PREFIX}${fileId}`;

/** One entry of List Directories and Files. */
export interface ListedNode {
  kind: 'directory' | 'file';
  name: string;
  fileId: string;
  contentLength: number;
  /** The key a listing continues after. */
  pathKey: string;
  etag: string;
  lastModified: Date;
}

/** A node's row in the nodes projection: the one mapping both the inline projection and rebuilds use. */
export function nodeRow(tenant: string, shareId: string, state: NodeState) {
  const segments = state.path.split('/');
  const lease = state.lease;
  return {
    share_id: shareId,
    path_key: pathKey(segments),
    parent_key: pathKey(segments.slice(0, -1)),
    tenant,
    file_id: state.fileId,
    parent_id: state.parentId,
    kind: state.kind,
    path: state.path,
    name: segments[segments.length - 1],
    metadata: state.metadata,
    properties: state.properties,
    content_length: state.contentLength,
    etag: state.etag,
    created_at: state.createdAt,
    last_modified: state.lastModified,
    lease_state: lease.status,
    lease_id: lease.status === 'available' ? null : lease.leaseId,
    lease_epoch: lease.epoch,
    copy: state.copy ?? null,
    version: state.version,
  };
}

/** NODE_COLUMNS as pg returns them (bigints as text). */
interface NodeColumns {
  file_id: string;
  parent_id: string;
  kind: NodeState['kind'];
  path: string;
  metadata: NodeState['metadata'];
  properties: NodeState['properties'];
  content_length: string;
  etag: string;
  created_at: Date;
  last_modified: Date;
  lease_state: NodeState['lease']['status'];
  lease_id: string | null;
  lease_epoch: string;
  copy: CopyState | null;
  version: number;
}

/** A row of the shares table. */
export interface ShareColumns {
  share_id: string;
  name: string;
  quota: number;
  metadata: Record<string, string>;
  etag: string;
  last_modified: Date;
  version: number;
}

function toNode(row: NodeColumns): NodeState {
  return {
    kind: row.kind,
    fileId: String(row.file_id),
    parentId: String(row.parent_id),
    path: row.path,
    metadata: row.metadata,
    properties: row.properties,
    contentLength: Number(row.content_length),
    etag: row.etag,
    createdAt: new Date(row.created_at).toISOString(),
    lastModified: new Date(row.last_modified).toISOString(),
    lease:
      row.lease_state === 'available'
        ? { status: 'available', epoch: Number(row.lease_epoch) }
        : // A leased or broken node always has its lease id.
          { status: row.lease_state, leaseId: row.lease_id!, epoch: Number(row.lease_epoch) },
    ...(row.copy ? { copy: row.copy } : {}),
    version: row.version,
  };
}

const NODE_COLUMNS = `n.file_id, n.parent_id, n.kind, n.path, n.metadata, n.properties, n.content_length, n.etag,
  n.created_at, n.last_modified, n.lease_state, n.lease_id, n.lease_epoch, n.copy, n.version`;

export const toShareRow = (r: ShareColumns): ShareRow => ({
  shareId: String(r.share_id),
  name: r.name,
  quota: r.quota,
  metadata: r.metadata,
  etag: r.etag,
  lastModified: r.last_modified,
  version: r.version,
});

/** The located node, which must exist and be of `kind`. */
export function requireNode(located: Located, kind: 'file' | 'directory'): Located & { node: NodeState } {
  if (!located.node) throw new DomainError(located.parentExists ? 'ResourceNotFound' : 'ParentNotFound');
  if (located.node.kind !== kind) throw new DomainError('ResourceNotFound');
  return located as Located & { node: NodeState };
}

/** Reads of the shares and nodes projections, and the inline-projection statements that keep them current. */
@Injectable()
export class NodeRepository {
  constructor(private readonly store: EventStore) {}

  async findShare(tenant: string, name: string, sql: SqlExecutor = this.store.db): Promise<ShareRow | undefined> {
    const rows = await sql.query<ShareColumns>(`SELECT * FROM shares WHERE tenant = $1 AND name = $2`, [tenant, name]);
    return rows.length ? toShareRow(rows[0]) : undefined;
  }

  /** The share, the node at `path` and its parent's existence, in one round trip. */
  async locate(tenant: string, shareName: string, path: string[], sql: SqlExecutor = this.store.db): Promise<Located> {
    const key = pathKey(path);
    const parentKey = pathKey(path.slice(0, -1));
    type LocateRow = Pick<ShareColumns, 'share_id' | 'quota'> & {
      share_name: string;
      share_metadata: ShareColumns['metadata'];
      share_etag: string;
      share_last_modified: Date;
      share_version: number;
      parent_file_id: string | null;
      parent_kind: NodeState['kind'] | null;
    } & ({ file_id: null } | NodeColumns);
    const rows = await sql.query<LocateRow>(
      `SELECT s.share_id, s.name AS share_name, s.quota, s.metadata AS share_metadata, s.etag AS share_etag,
              s.last_modified AS share_last_modified, s.version AS share_version,
              p.file_id AS parent_file_id, p.kind AS parent_kind, ${NODE_COLUMNS}
       FROM shares s
       LEFT JOIN nodes n ON n.share_id = s.share_id AND n.path_key = $3
       LEFT JOIN nodes p ON p.share_id = s.share_id AND p.path_key = $4
       WHERE s.tenant = $1 AND s.name = $2`,
      [tenant, shareName, key, parentKey],
    );
    if (!rows.length) throw new DomainError('ShareNotFound');
    const r = rows[0];
    const atRoot = path.length <= 1;
    return {
      share: {
        shareId: String(r.share_id),
        name: r.share_name,
        quota: r.quota,
        metadata: r.share_metadata,
        etag: r.share_etag,
        lastModified: r.share_last_modified,
        version: r.share_version,
      },
      node: r.file_id === null ? undefined : toNode(r),
      parentExists: atRoot || r.parent_kind === 'directory',
      parentId: atRoot ? '0' : String(r.parent_file_id ?? '0'),
      key,
      parentKey,
    };
  }

  /** The node at `path`, which must exist and be of `kind` (the share root counts as a directory with no node). */
  async require(
    tenant: string,
    shareName: string,
    path: string[],
    kind: 'file' | 'directory',
  ): Promise<Located & { node: NodeState }> {
    return requireNode(await this.locate(tenant, shareName, path), kind);
  }

  /** One page of a directory's entries whose keys start with `prefix`, after `after`, in key order; `more` tells whether another follows. */
  async listChildren(
    shareId: string,
    key: string,
    prefix: string,
    after: string,
    limit: number,
  ): Promise<{ entries: ListedNode[]; more: boolean }> {
    const rows = await this.store.db.query<
      Pick<NodeColumns, 'kind' | 'file_id' | 'content_length' | 'etag' | 'last_modified'> & {
        name: string;
        path_key: string;
      }
    >(
      `SELECT kind, name, file_id, content_length, path_key, etag, last_modified FROM nodes
       WHERE share_id = $1 AND parent_key = $2 AND path_key > $3 AND starts_with(path_key, $4)
       ORDER BY path_key LIMIT $5`,
      [shareId, key, after, prefix, limit + 1],
    );
    const entries = rows.slice(0, limit).map((r) => ({
      kind: r.kind,
      name: r.name,
      fileId: String(r.file_id),
      contentLength: Number(r.content_length),
      pathKey: r.path_key,
      etag: r.etag,
      lastModified: r.last_modified,
    }));
    return { entries, more: rows.length > limit };
  }

  /**
   * Bytes [start, endExclusive) of a file (as of a share snapshot's pg_snapshot when given): read at
   * once up to one segment (a failure is still an answer), streamed beyond.
   */
  async content(fileId: string, start: number, endExclusive: number, at?: string): Promise<Buffer | Readable> {
    if (endExclusive - start <= STREAM_SEGMENT_BYTES)
      return readContent(this.store.db, fileId, start, endExclusive, at);
    return contentStream(this.store.db, fileId, start, endExclusive, at);
  }

  /**
   * The file's written ranges as of its stream version `version` (the state the caller read), folded
   * from the range events since its latest creation: one indexed scan of its stream, whose cost grows
   * with the writes since then.
   */
  async ranges(
    tenant: string,
    fileId: string,
    version: number,
    sql: SqlExecutor = this.store.db,
  ): Promise<ByteRange[]> {
    const rows = await sql.query<NodeEvent>(
      `SELECT type, data FROM events
       WHERE tenant = $1 AND stream_id = $2 AND stream_version <= $3
         AND stream_version >= (SELECT max(stream_version) FROM events WHERE tenant = $1 AND stream_id = $2 AND stream_version <= $3 AND type = 'FileCreated')
         AND type IN ('FileCreated', 'FileRangeWritten', 'FileRangeCleared', 'FilePropertiesSet')
       ORDER BY stream_version`,
      [tenant, nodeStream(fileId), version],
    );
    return rows.reduce<ByteRange[]>(evolveRanges, []);
  }

  /** The file's range events after stream version `after`, up to `upTo`, in order (and its re-creations: FileCreated). */
  async rangeEventsBetween(tenant: string, fileId: string, after: number, upTo: number): Promise<NodeEvent[]> {
    return this.store.db.query<NodeEvent>(
      `SELECT type, data FROM events
       WHERE tenant = $1 AND stream_id = $2 AND stream_version > $3 AND stream_version <= $4
         AND type IN ('FileCreated', 'FileRangeWritten', 'FileRangeCleared', 'FilePropertiesSet')
       ORDER BY stream_version`,
      [tenant, nodeStream(fileId), after, upTo],
    );
  }

  async childCount(shareId: string, key: string, sql: SqlExecutor = this.store.db): Promise<number> {
    const rows = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM nodes WHERE share_id = $1 AND parent_key = $2 LIMIT 1) c`,
      [shareId, key],
    );
    return rows[0].n;
  }

  /**
   * Locks the share's row until the transaction ends: a node insert in flight (it share-locks the
   * share row) commits first, later ones wait and then find no share. False when the share is gone.
   */
  async lockShare(shareId: string, sql: SqlExecutor): Promise<boolean> {
    return (await sql.query(`SELECT 1 FROM shares WHERE share_id = $1 FOR UPDATE`, [shareId])).length > 0;
  }

  /** Deletes the share's nodes, then their bytes in a later statement, which sees any write that held a node until now. */
  async deleteShareNodes(shareId: string, sql: SqlExecutor): Promise<void> {
    const gone = await sql.query<{ file_id: string }>(`DELETE FROM nodes WHERE share_id = $1 RETURNING file_id`, [
      shareId,
    ]);
    await sql.query(`DELETE FROM file_chunks WHERE file_id = ANY($1::bigint[])`, [gone.map((r) => r.file_id)]);
  }

  /** The inline projection of ShareCreated: the share row is the guard, so of two concurrent creates one applies. */
  projectShareCreated(tenant: string, share: ShareState): Statement {
    return {
      sql: `INSERT INTO shares SELECT * FROM jsonb_populate_record(NULL::shares, $1::jsonb) ON CONFLICT DO NOTHING RETURNING 1`,
      params: [JSON.stringify(shareRow(tenant, share))],
    };
  }

  /** The inline projection of ShareDeleted, guarded by the share's version. */
  projectShareDeleted(shareId: string, expectedVersion: number): Statement {
    return {
      sql: `DELETE FROM shares WHERE share_id = $1 AND version = $2 RETURNING 1`,
      params: [shareId, expectedVersion],
    };
  }

  /**
   * Locks the node's row (or, for the share root, the share's) until the transaction ends: opening
   * a handle and deleting the node take this lock, so a delete never slips past a handle being opened.
   */
  async lockNode(shareId: string, key: string, sql: SqlExecutor): Promise<void> {
    if (key === '') await sql.query(`SELECT 1 FROM shares WHERE share_id = $1 FOR UPDATE`, [shareId]);
    else await sql.query(`SELECT 1 FROM nodes WHERE share_id = $1 AND path_key = $2 FOR UPDATE`, [shareId, key]);
  }

  /** Key-share-locks a directory's row until the transaction ends (it cannot be deleted meanwhile); false when there is none. The share root always is. */
  async holdDirectory(shareId: string, key: string, sql: SqlExecutor): Promise<boolean> {
    if (key === '') return true;
    return (
      (
        await sql.query(
          `SELECT 1 FROM nodes WHERE share_id = $1 AND path_key = $2 AND kind = 'directory' FOR KEY SHARE`,
          [shareId, key],
        )
      ).length > 0
    );
  }

  /**
   * Locks the rows of everything below a directory until the transaction ends (a create below it
   * key-share-locks its parent, so it waits too) and returns their states, in key order.
   */
  async lockDescendants(shareId: string, key: string, sql: SqlExecutor): Promise<NodeState[]> {
    const rows = await sql.query(
      `SELECT ${NODE_COLUMNS} FROM nodes n WHERE n.share_id = $1 AND starts_with(n.path_key, $2) ORDER BY n.path_key FOR UPDATE`,
      [shareId, `${key}/`],
    );
    return rows.map(toNode);
  }

  /**
   * The inline projection of a rename: each moved node's row gets its new path (and keys) and
   * state where it is still at its old key and expected version; returns the ordinal (from 1) of
   * each move that applied. No new key can collide: the destination and everything below it are free.
   */
  projectMoves(
    tenant: string,
    shareId: string,
    moves: Array<{ fromKey: string; state: NodeState; expectedVersion: number }>,
  ): Statement {
    return {
      sql: `UPDATE nodes n SET (path_key, parent_key, path, name, parent_id, metadata, etag, last_modified, lease_state, lease_id, lease_epoch, version) =
              (SELECT path_key, parent_key, path, name, parent_id, metadata, etag, last_modified, lease_state, lease_id, lease_epoch, version
               FROM jsonb_populate_record(NULL::nodes, u.row))
            FROM unnest($2::text[], $3::bigint[], $4::int[], $5::jsonb[]) WITH ORDINALITY AS u(from_key, file_id, expected, row, ord)
            WHERE n.share_id = $1 AND n.path_key = u.from_key AND n.file_id = u.file_id AND n.version = u.expected
            RETURNING u.ord`,
      params: [
        shareId,
        moves.map((m) => m.fromKey),
        moves.map((m) => m.state.fileId),
        moves.map((m) => m.expectedVersion),
        moves.map((m) => JSON.stringify(nodeRow(tenant, shareId, m.state))),
      ],
    };
  }

  async nextId(): Promise<string> {
    const rows = await this.store.db.query<{ id: string }>(`SELECT nextval('node_ids')::text AS id`);
    return rows[0].id;
  }

  /**
   * The inline projection of a node's new state, guarded so that it applies only where the same
   * node's stream still is at `expectedVersion`: insert (a new node, whose parent directory must
   * still exist), update, or delete.
   */
  projectNode(tenant: string, located: Located, state: NodeState | undefined, expectedVersion: number): Statement {
    const { share, key, parentKey } = located;
    if (state === undefined) {
      return {
        sql: `DELETE FROM nodes WHERE share_id = $1 AND path_key = $2 AND file_id = $4 AND version = $3 RETURNING 1`,
        params: [share.shareId, key, expectedVersion, located.node?.fileId],
      };
    }
    if (expectedVersion > 0) return this.projectNodeUpdates([{ tenant, located, state, expectedVersion }]);
    const row = JSON.stringify(nodeRow(tenant, share.shareId, state));
    // The parent row and the share row are share-locked, so a concurrent Delete Directory or Delete
    // Share cannot slip between check and insert (no foreign key does it for us).
    return {
      sql: `WITH share AS (
              SELECT 1 FROM shares WHERE share_id = $1 FOR KEY SHARE
            ), parent AS (
              SELECT 1 FROM nodes WHERE share_id = $1 AND path_key = $2 AND kind = 'directory' FOR KEY SHARE
            )
            INSERT INTO nodes SELECT * FROM jsonb_populate_record(NULL::nodes, $3::jsonb)
            WHERE EXISTS (SELECT 1 FROM share) AND ($2 = '' OR EXISTS (SELECT 1 FROM parent))
            ON CONFLICT DO NOTHING RETURNING 1`,
      params: [share.shareId, parentKey, row],
    };
  }

  /**
   * The inline projection of existing nodes' new states, in one statement: each row is written only
   * where the same node is still at its expected version, and the statement returns the ordinal
   * (from 1) of each update that applied.
   */
  projectNodeUpdates(
    updates: Array<{ tenant: string; located: Located; state: NodeState; expectedVersion: number }>,
  ): Statement {
    return {
      sql: `UPDATE nodes n SET (metadata, properties, content_length, etag, last_modified, lease_state, lease_id, lease_epoch, copy, version) =
              (SELECT metadata, properties, content_length, etag, last_modified, lease_state, lease_id, lease_epoch, copy, version
               FROM jsonb_populate_record(NULL::nodes, u.row))
            FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::jsonb[]) WITH ORDINALITY AS u(share_id, path_key, file_id, expected, row, ord)
            WHERE n.share_id = u.share_id AND n.path_key = u.path_key AND n.file_id = u.file_id AND n.version = u.expected
            RETURNING u.ord`,
      params: [
        updates.map((u) => u.located.share.shareId),
        updates.map((u) => u.located.key),
        updates.map((u) => u.state.fileId),
        updates.map((u) => u.expectedVersion),
        updates.map((u) => JSON.stringify(nodeRow(u.tenant, u.located.share.shareId, u.state))),
      ],
    };
  }
}
