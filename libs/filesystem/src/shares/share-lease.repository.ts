import { Injectable } from '@nestjs/common';
import { CommandContext, evolveShareLease, ShareLeaseEvent, ShareLeaseState } from '@leasehold/domain';
import { eventMetadata, EventStore, SqlExecutor, Statement } from '@leasehold/event-store';
import { ShareColumns, ShareRow, toShareRow } from '../nodes/node.repository';
import { shareLeaseColumns, shareLeaseOf, ShareLeaseRow } from './share-lease.row';
import { shareStream } from './share.events';

/** A share with its lease, and the database's clock when the row was read: the one clock lease decisions use. */
export interface LeasedShare extends ShareRow {
  lease: ShareLeaseState;
  /** PostgreSQL's clock_timestamp() in the statement that read the row, ms since the epoch. */
  readAt: number;
}

/** The lease columns of the shares projection: reads on PostgreSQL's clock, and the inline projection of lease events. */
@Injectable()
export class ShareLeaseRepository {
  constructor(private readonly store: EventStore) {}

  async find(tenant: string, name: string, sql: SqlExecutor = this.store.db): Promise<LeasedShare | undefined> {
    const rows = await sql.query<ShareColumns & ShareLeaseRow & { read_at: number }>(
      `SELECT *, floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS read_at FROM shares WHERE tenant = $1 AND name = $2`,
      [tenant, name],
    );
    if (!rows.length) return undefined;
    return { ...toShareRow(rows[0]), lease: shareLeaseOf(rows[0]), readAt: rows[0].read_at };
  }

  /**
   * Appends lease events to the share's stream at the version `share` was read at, with the lease
   * they leave in the same statement; a ConcurrencyError when the stream has moved on. Returns the lease.
   */
  async record(context: CommandContext, share: LeasedShare, events: ShareLeaseEvent[]): Promise<ShareLeaseState> {
    const lease = events.reduce(evolveShareLease, share.lease);
    await this.store.append({
      tenant: context.tenant,
      streamId: shareStream(share.shareId),
      expectedVersion: share.version,
      events,
      metadata: eventMetadata(context),
      projection: this.project(share.shareId, share.version, lease, events.length),
    });
    return lease;
  }

  /** Writes the lease `events` events left, where the share's stream is still at `expectedVersion`. */
  private project(shareId: string, expectedVersion: number, lease: ShareLeaseState, events: number): Statement {
    return {
      sql: `UPDATE shares s SET (lease_status, lease_id, lease_epoch, lease_duration, lease_expires_at, lease_broken_at) =
              (SELECT lease_status, lease_id, lease_epoch, lease_duration, lease_expires_at, lease_broken_at FROM jsonb_populate_record(NULL::shares, $3::jsonb)),
              version = s.version + $4
            WHERE s.share_id = $1 AND s.version = $2 RETURNING 1`,
      params: [shareId, expectedVersion, JSON.stringify(shareLeaseColumns(lease)), events],
    };
  }

  /** Shares whose lease has run out without a ShareLeaseExpired event yet, longest overdue first. */
  async lapsed(limit: number): Promise<Array<{ tenant: string; name: string }>> {
    return this.store.db.query(
      `SELECT tenant, name FROM shares
       WHERE lease_status = 'leased' AND lease_expires_at <= clock_timestamp()
       ORDER BY lease_expires_at LIMIT $1`,
      [limit],
    );
  }
}
