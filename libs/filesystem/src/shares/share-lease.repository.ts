import { Injectable } from '@nestjs/common';
import { CommandContext, evolveShareLease, ShareLeaseEvent, ShareLeaseState } from '@leasehold/domain';
import {
  AppendRequest,
  Batcher,
  ConcurrencyError,
  eventMetadata,
  EventStore,
  isDeadlock,
  SqlExecutor,
  Statement,
} from '@leasehold/event-store';
import { shareLeaseBatchSize } from '@leasehold/observability';
import { ShareColumns, ShareRow, toShareRow } from '../nodes/node.repository';
import { READ_AT, shareLeaseColumns, shareLeaseOf, ShareLeaseRow } from './share-lease.row';
import { shareStream } from './share.events';

/** A share with its lease, and the database's clock when the row was read: the one clock lease decisions use. */
export interface LeasedShare extends ShareRow {
  tenant: string;
  lease: ShareLeaseState;
  /** PostgreSQL's clock_timestamp() in the statement that read the row, ms since the epoch. */
  readAt: number;
}

type LeasedShareRow = ShareColumns & ShareLeaseRow & { tenant: string; read_at: number };

const toLeasedShare = (row: LeasedShareRow): LeasedShare => ({
  ...toShareRow(row),
  tenant: row.tenant,
  lease: shareLeaseOf(row),
  readAt: row.read_at,
});

/** A lease change waiting for the next batch: its events and the lease they leave, at the version the share was read at. */
interface LeaseWrite {
  request: Omit<AppendRequest, 'projection'>;
  shareId: string;
  lease: ShareLeaseState;
}

/** Reads or writes in one statement at most. */
const MAX_BATCH = 256;
/**
 * One statement of each kind in flight: whatever arrives meanwhile waits for it and goes out in
 * the next, so under load each statement (and each commit) carries many leases. A renewal waits
 * at most one statement longer; with more in flight, the batches stayed near one lease each.
 */
const MAX_IN_FLIGHT = 1;

/**
 * The lease columns of the shares projection: reads on PostgreSQL's clock, and the inline
 * projection of lease events.
 *
 * Reads and writes made outside a caller's transaction are batched the way NodeWriter batches
 * Lease File writes: the reads that arrive while earlier ones are in flight share one SELECT
 * (each row still carries the clock_timestamp() it was read at), and the writes one statement and
 * one commit, each guarded by its own share's version, so a conflict fails only the write that lost.
 * A renewal costs a share of two statements instead of two.
 */
@Injectable()
export class ShareLeaseRepository {
  private readonly reads = new Batcher<{ tenant: string; name: string }, LeasedShare | undefined>(
    (keys) => this.readBatch(keys),
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT },
  );
  /** A share appears at most once per write batch: two writes at one version cannot both apply. */
  private readonly writes = new Batcher<LeaseWrite, boolean>((batch) => this.writeBatch(batch), {
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_IN_FLIGHT,
    key: (write) => write.shareId,
  });

  constructor(private readonly store: EventStore) {}

  async find(tenant: string, name: string, sql?: SqlExecutor): Promise<LeasedShare | undefined> {
    if (!sql) return this.reads.submit({ tenant, name });
    const rows = await sql.query<LeasedShareRow>(`SELECT *, ${READ_AT} FROM shares WHERE tenant = $1 AND name = $2`, [
      tenant,
      name,
    ]);
    return rows.length ? toLeasedShare(rows[0]) : undefined;
  }

  private async readBatch(keys: Array<{ tenant: string; name: string }>): Promise<Array<LeasedShare | undefined>> {
    shareLeaseBatchSize.observe({ statement: 'read' }, keys.length);
    const rows = await this.store.db.query<LeasedShareRow & { ord: string }>(
      `SELECT k.ord, s.*, ${READ_AT}
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(tenant, name, ord)
       JOIN shares s ON s.tenant = k.tenant AND s.name = k.name`,
      [keys.map((k) => k.tenant), keys.map((k) => k.name)],
    );
    const found = new Map(rows.map((row) => [Number(row.ord), toLeasedShare(row)]));
    return keys.map((_, i) => found.get(i + 1));
  }

  /**
   * Appends lease events to the share's stream at the version `share` was read at, with the lease
   * they leave in the same statement; a ConcurrencyError when the stream has moved on. Returns the lease
   * (no events: nothing to write).
   */
  async record(context: CommandContext, share: LeasedShare, events: ShareLeaseEvent[]): Promise<ShareLeaseState> {
    const lease = events.reduce(evolveShareLease, share.lease);
    if (events.length === 0) return lease;
    const request = {
      tenant: context.tenant,
      streamId: shareStream(share.shareId),
      expectedVersion: share.version,
      events,
      metadata: eventMetadata(context),
    };
    if (!(await this.writes.submit({ request, shareId: share.shareId, lease })))
      throw new ConcurrencyError(request.tenant, request.streamId, request.expectedVersion);
    return lease;
  }

  /** Commits one batch; per write, whether it applied (false: its share had moved on, or a deadlock says decide again). */
  private async writeBatch(batch: LeaseWrite[]): Promise<boolean[]> {
    shareLeaseBatchSize.observe({ statement: 'write' }, batch.length);
    // Rows locked in one order by every batch, so that two batches never wait for each other in a cycle.
    const sorted = batch.slice().sort((a, b) => Number(BigInt(a.shareId) - BigInt(b.shareId)));
    try {
      const applied = await this.store.appendEach(
        sorted.map((w) => w.request),
        this.project(sorted),
      );
      return batch.map((w) => applied[sorted.indexOf(w)]);
    } catch (error) {
      if (isDeadlock(error) || error instanceof ConcurrencyError) return batch.map(() => false);
      throw error;
    }
  }

  /** Writes the lease each write's events left, where its share's stream is still at the expected version; returns the ordinals that applied. */
  private project(writes: LeaseWrite[]): Statement {
    return {
      sql: `UPDATE shares s SET (lease_status, lease_id, lease_epoch, lease_duration, lease_expires_at, lease_broken_at) =
              (SELECT lease_status, lease_id, lease_epoch, lease_duration, lease_expires_at, lease_broken_at FROM jsonb_populate_record(NULL::shares, u.row)),
              version = s.version + u.events
            FROM unnest($1::bigint[], $2::int[], $3::jsonb[], $4::int[]) WITH ORDINALITY AS u(share_id, expected, row, events, ord)
            WHERE s.share_id = u.share_id AND s.version = u.expected
            RETURNING u.ord`,
      params: [
        writes.map((w) => w.shareId),
        writes.map((w) => w.request.expectedVersion),
        writes.map((w) => JSON.stringify(shareLeaseColumns(w.lease))),
        writes.map((w) => w.request.events.length),
      ],
    };
  }

  /** Shares whose lease has run out without a ShareLeaseExpired event yet, longest overdue first, read on PostgreSQL's clock. */
  async lapsed(limit: number): Promise<LeasedShare[]> {
    const rows = await this.store.db.query<LeasedShareRow>(
      `SELECT *, ${READ_AT} FROM shares
       WHERE lease_status = 'leased' AND lease_expires_at <= clock_timestamp()
       ORDER BY lease_expires_at LIMIT $1`,
      [limit],
    );
    return rows.map(toLeasedShare);
  }
}
