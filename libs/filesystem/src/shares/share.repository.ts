import { Injectable } from '@nestjs/common';
import { SignedIdentifier } from '@leasehold/domain';
import { EventStore, SqlExecutor, Statement } from '@leasehold/event-store';
import { ShareColumns } from '../nodes/node.repository';
import { READ_AT, shareLeaseOf, ShareLeaseRow } from './share-lease.row';
import { AccessTier, ShareSnapshotState, ShareState, shareRow } from './share.events';

/** A share as its row holds it, and the database's clock when the row was read: the lease's state is derived at that instant. */
export interface ReadShare extends ShareState {
  /** PostgreSQL's clock_timestamp() in the statement that read the row, ms since the epoch. */
  readAt: number;
}

/** A shares row with the settings and lease columns, and the clock READ_AT adds. */
interface ShareRow extends ShareColumns, ShareLeaseRow {
  access_tier: string;
  access_tier_changed_at: Date | null;
  signed_identifiers: SignedIdentifier[];
  snapshots: ShareSnapshotState[];
  read_at: number;
}

function toShare(r: ShareRow): ReadShare {
  return {
    shareId: r.share_id,
    name: r.name,
    quota: r.quota,
    accessTier: r.access_tier as AccessTier,
    accessTierChangedAt:
      r.access_tier_changed_at === null ? undefined : new Date(r.access_tier_changed_at).toISOString(),
    metadata: r.metadata,
    signedIdentifiers: r.signed_identifiers,
    lease: shareLeaseOf(r),
    snapshots: r.snapshots,
    etag: r.etag,
    lastModified: new Date(r.last_modified).toISOString(),
    version: r.version,
    readAt: r.read_at,
  };
}

/**
 * Reads of the shares projection for the share-level operations (settings, listing, usage), and the
 * statement that keeps a share's row current when its settings change.
 */
@Injectable()
export class ShareRepository {
  constructor(private readonly store: EventStore) {}

  async find(tenant: string, name: string, sql: SqlExecutor = this.store.db): Promise<ReadShare | undefined> {
    const rows = await sql.query<ShareRow>(`SELECT *, ${READ_AT} FROM shares WHERE tenant = $1 AND name = $2`, [
      tenant,
      name,
    ]);
    return rows.length ? toShare(rows[0]) : undefined;
  }

  /** Read on every request with a SAS that names a policy, so that a changed or removed policy applies at once. */
  async signedIdentifiersOf(tenant: string, name: string): Promise<SignedIdentifier[] | undefined> {
    const rows = await this.store.db.query<Pick<ShareRow, 'signed_identifiers'>>(
      `SELECT signed_identifiers FROM shares WHERE tenant = $1 AND name = $2`,
      [tenant, name],
    );
    return rows[0]?.signed_identifiers;
  }

  /** One tenant's shares whose names start with `prefix`, after `after`, at most `limit`, by name. */
  async list(tenant: string, prefix: string, after: string, limit: number): Promise<ReadShare[]> {
    const rows = await this.store.db.query<ShareRow>(
      `SELECT *, ${READ_AT} FROM shares WHERE tenant = $1 AND name > $2 AND starts_with(name, $3) ORDER BY name LIMIT $4`,
      [tenant, after, prefix, limit],
    );
    return rows.map(toShare);
  }

  /** The bytes the share's files hold in storage (ranges never written take none). */
  async usageBytes(shareId: string): Promise<number> {
    // bigint: pg returns it as a string.
    const rows = await this.store.db.query<{ bytes: string }>(
      `SELECT coalesce(sum(octet_length(c.data)), 0)::bigint AS bytes
       FROM nodes n JOIN file_chunks c ON c.file_id = n.file_id
       WHERE n.share_id = $1 AND n.kind = 'file'`,
      [shareId],
    );
    return Number(rows[0].bytes);
  }

  /** The inline projection of a share's new settings, applied only where its row is still at `expectedVersion`. */
  projectSettings(tenant: string, state: ShareState, expectedVersion: number): Statement {
    return {
      sql: `UPDATE shares s SET (quota, metadata, etag, last_modified, version, access_tier, access_tier_changed_at, signed_identifiers) =
              (SELECT quota, metadata, etag, last_modified, version, access_tier, access_tier_changed_at, signed_identifiers
               FROM jsonb_populate_record(NULL::shares, $3::jsonb))
            WHERE s.share_id = $1 AND s.version = $2 RETURNING 1`,
      params: [state.shareId, expectedVersion, JSON.stringify(shareRow(tenant, state))],
    };
  }

  /** The inline projection of a snapshot created or deleted, applied only where the share's row is still at `expectedVersion`. */
  projectSnapshots(state: ShareState, expectedVersion: number): Statement {
    return {
      sql: `UPDATE shares SET snapshots = $3::jsonb, version = $4 WHERE share_id = $1 AND version = $2 RETURNING 1`,
      params: [state.shareId, expectedVersion, JSON.stringify(state.snapshots), state.version],
    };
  }
}
