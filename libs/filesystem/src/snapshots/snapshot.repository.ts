import { Injectable } from '@nestjs/common';
import { DomainError, evolveNode, NodeEvent, NodeState, pathKey } from '@leasehold/domain';
import { EventStore, SqlExecutor } from '@leasehold/event-store';
import { LRUCache } from 'lru-cache';
import { ListedNode, Located, ShareRow } from '../nodes/node.repository';
import { foldShare, ShareSnapshot, ShareSnapshotState, ShareState, shareStream } from '../shares/share.events';
import { ShareRepository } from '../shares/share.repository';

/** A share snapshot and the share it is of, as it was then. */
export interface SnapshotView {
  /** With its lease as it stands now (Lease Share with sharesnapshot). */
  snapshot: ShareSnapshotState;
  /** The share's settings as of the snapshot; the metadata is the snapshot's own. */
  share: ShareState;
  /** PostgreSQL's clock when the snapshot's lease was read: its state is derived at that instant. */
  readAt: number;
}

/** A snapshot's tree: every node in it by path key. A snapshot never changes, so neither does this. */
type Tree = Map<string, NodeState>;

/** Trees kept per API process: each is as large as its share's namespace was. */
const TREES = 16;

const snapshotShareRow = (view: SnapshotView): ShareRow => ({
  shareId: view.share.shareId,
  name: view.share.name,
  quota: view.share.quota,
  metadata: view.snapshot.metadata,
  etag: view.share.etag,
  lastModified: new Date(view.share.lastModified),
  version: view.share.version,
});

/**
 * Reads of a share as it was at one of its snapshots, folded from the log: the share's stream up
 * to the snapshot, and its nodes' streams as far as the snapshot's pg_snapshot sees them. Files in
 * a snapshot are never leased (a snapshot is read-only).
 */
@Injectable()
export class SnapshotRepository {
  private readonly trees = new LRUCache<string, Tree>({ max: TREES });

  constructor(
    private readonly store: EventStore,
    private readonly shares: ShareRepository,
  ) {}

  /** The named snapshot of a share: ShareNotFound when the share or the snapshot is not there (as Azure says it). */
  async view(tenant: string, shareName: string, name: string): Promise<SnapshotView> {
    const live = await this.shares.find(tenant, shareName);
    const snapshot = live?.snapshots.find((s) => s.snapshot === name);
    if (!live || !snapshot) throw new DomainError('ShareNotFound');
    const rows = await this.store.db.query<{ type: string; data: unknown }>(
      `SELECT type, data FROM events WHERE tenant = $1 AND stream_id = $2 AND stream_version <= $3 ORDER BY stream_version`,
      [tenant, shareStream(live.shareId), snapshot.shareVersion],
    );
    return { snapshot, share: foldShare(rows)!, readAt: live.readAt };
  }

  /**
   * The tree at the snapshot: every event of the share's node streams that its pg_snapshot sees,
   * folded with the same evolveNode as the nodes projection. One query (the creation events'
   * index finds the streams); its cost grows with the share's node events up to the snapshot.
   */
  private async tree(tenant: string, view: SnapshotView): Promise<Tree> {
    const cacheKey = `${tenant}/${view.share.shareId}@${view.snapshot.snapshot}`;
    const cached = this.trees.get(cacheKey);
    if (cached) return cached;
    const rows = await this.store.db.query<NodeEvent & { stream_id: string }>(
      `SELECT e.stream_id, e.type, e.data FROM events e
       WHERE e.tenant = $1 AND pg_visible_in_snapshot(e.transaction_id, $3::pg_snapshot)
         AND e.stream_id IN (
           SELECT c.stream_id FROM events c
           WHERE c.tenant = $1 AND c.data->>'shareId' = $2 AND c.type IN ('DirectoryCreated', 'FileCreated'))
       ORDER BY e.stream_id, e.stream_version`,
      [tenant, view.share.shareId, view.snapshot.pgSnapshot],
    );
    const states = new Map<string, NodeState | undefined>();
    for (const { stream_id, type, data } of rows)
      states.set(stream_id, evolveNode(states.get(stream_id), { type, data } as NodeEvent));
    const tree: Tree = new Map();
    for (const state of states.values()) {
      // A file in a snapshot cannot be leased: it shows no lease, whatever the live file had then.
      if (state) tree.set(pathKey(state.path.split('/')), { ...state, lease: { status: 'available', epoch: 0 } });
    }
    this.trees.set(cacheKey, tree);
    return tree;
  }

  /** Where a path points in the snapshot (as NodeRepository.locate does in the live share). */
  async locate(tenant: string, shareName: string, path: string[], name: string): Promise<Located> {
    const view = await this.view(tenant, shareName, name);
    const tree = await this.tree(tenant, view);
    const key = pathKey(path);
    const parentKey = pathKey(path.slice(0, -1));
    const parent = tree.get(parentKey);
    const atRoot = path.length <= 1;
    return {
      share: snapshotShareRow(view),
      node: tree.get(key),
      parentExists: atRoot || parent?.kind === 'directory',
      parentId: atRoot ? '0' : (parent?.fileId ?? '0'),
      key,
      parentKey,
      snapshot: view.snapshot,
    };
  }

  /** A page of a directory's entries in the snapshot, as NodeRepository.listChildren pages the live one. */
  async listChildren(
    tenant: string,
    directory: Located & { snapshot: ShareSnapshot },
    prefix: string,
    after: string,
    limit: number,
  ): Promise<{ entries: ListedNode[]; more: boolean }> {
    const tree = await this.tree(tenant, await this.view(tenant, directory.share.name, directory.snapshot.snapshot));
    const keys = [...tree.keys()]
      .filter((k) => pathKey(k.split('/').slice(0, -1)) === directory.key && k > after && k.startsWith(prefix))
      .sort();
    const entries = keys.slice(0, limit).map((k) => {
      const node = tree.get(k)!;
      return {
        kind: node.kind,
        name: node.path.split('/').pop()!,
        fileId: node.fileId,
        contentLength: node.contentLength,
        pathKey: k,
        etag: node.etag,
        lastModified: new Date(node.lastModified),
      };
    });
    return { entries, more: keys.length > limit };
  }

  /**
   * The point of the log a snapshot taken now is: PostgreSQL's snapshot, the snapshot's name (its
   * instant on PostgreSQL's clock, Azure's seven fractional digits) and the last position it sees.
   */
  async takePoint(sql: SqlExecutor): Promise<{ pgSnapshot: string; name: string; position: string }> {
    const [point] = await sql.query<{ pg_snapshot: string; name: string }>(
      `SELECT pg_current_snapshot()::text AS pg_snapshot,
              to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '0Z' AS name`,
    );
    const [last] = await sql.query<{ position: string }>(
      `SELECT position::text FROM events WHERE pg_visible_in_snapshot(transaction_id, $1::pg_snapshot)
       ORDER BY position DESC LIMIT 1`,
      [point.pg_snapshot],
    );
    return { pgSnapshot: point.pg_snapshot, name: point.name, position: last?.position ?? '0' };
  }

  /** The chunk versions kept for the share that none of `remaining` sees any more (a snapshot of it was deleted). */
  async dropUnseenVersions(shareId: string, remaining: ShareSnapshot[], sql: SqlExecutor): Promise<void> {
    await sql.query(
      `DELETE FROM file_chunk_versions v WHERE v.share_id = $1 AND NOT EXISTS (
         SELECT 1 FROM unnest($2::pg_snapshot[]) AS s(snap)
         WHERE pg_visible_in_snapshot(v.written_xid, s.snap) AND NOT pg_visible_in_snapshot(v.replaced_xid, s.snap))`,
      [shareId, remaining.map((s) => s.pgSnapshot)],
    );
  }

  /** Every chunk version kept for the share (it is deleted with its snapshots). */
  async dropVersions(shareId: string, sql: SqlExecutor): Promise<void> {
    await sql.query(`DELETE FROM file_chunk_versions WHERE share_id = $1`, [shareId]);
  }
}
