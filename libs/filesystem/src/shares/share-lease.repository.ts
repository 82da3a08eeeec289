import { Injectable } from '@nestjs/common';
import { CommandContext, evolveShareLease, ShareLeaseEvent, ShareLeaseState } from '@leasehold/domain';
import {
  AppendRequest,
  Batcher,
  ConcurrencyError,
  eventMetadata,
  EventStore,
  expiringCache,
  SqlExecutor,
  Statement,
} from '@leasehold/event-store';
import { shareLeaseBatchSize } from '@leasehold/observability';
import { ShareColumns, ShareRow, toShareRow } from '../nodes/node.repository';
import { READ_AT, shareLeaseColumns, shareLeaseOf, ShareLeaseRow } from './share-lease.row';
import { forLeaseSubject, ShareSnapshotState, snapshotLease, shareStream, withSnapshotLease } from './share.events';

/**
 * A lease subject, the share or one of its snapshots, with its lease, and the database's clock
 * when the row was read: the one clock lease decisions use. A snapshot's lease is decided and
 * recorded exactly as the share's, on the share's stream, its events naming the snapshot.
 */
export interface LeasedShare extends ShareRow {
  tenant: string;
  /** The snapshot whose lease this is (Lease Share with sharesnapshot); undefined: the share's own lease. */
  snapshot?: string;
  /** The subject's lease. */
  lease: ShareLeaseState;
  /** The share's own lease (`lease` itself when the subject is the share), written back unchanged with a snapshot's. */
  shareLease: ShareLeaseState;
  /** The share's snapshots, whose subject's entry a snapshot lease's write replaces. */
  snapshots: ShareSnapshotState[];
  /** PostgreSQL's clock_timestamp() in the statement that read the row, ms since the epoch. */
  readAt: number;
  /**
   * Set on a lease remembered from this process's last read or write (remembered()): readAt is
   * then this process's estimate of PostgreSQL's clock, and a write decided on it is checked
   * against PostgreSQL's clock (and the share's version) in the statement that writes it.
   */
  estimated?: true;
}

type LeasedShareRow = ShareColumns &
  ShareLeaseRow & { tenant: string; snapshots: ShareSnapshotState[]; read_at: number };

/** The share's lease, or the named snapshot's (with the snapshot's ETag and Last-Modified); undefined: no such snapshot. */
function toLeasedShare(row: LeasedShareRow, snapshot?: string): LeasedShare | undefined {
  const share = {
    ...toShareRow(row),
    tenant: row.tenant,
    shareLease: shareLeaseOf(row),
    snapshots: row.snapshots,
    readAt: row.read_at,
  };
  if (snapshot === undefined) return { ...share, lease: share.shareLease };
  const taken = row.snapshots.find((s) => s.snapshot === snapshot);
  return (
    taken && {
      ...share,
      snapshot,
      lease: snapshotLease(taken),
      etag: taken.etag,
      lastModified: new Date(taken.lastModified),
    }
  );
}

/** A subject's key in this process's memory of leases. */
const subjectKey = (tenant: string, name: string, snapshot?: string) =>
  snapshot === undefined ? `${tenant}/${name}` : `${tenant}/${name}@${snapshot}`;

/**
 * A lease change waiting for the next batch: its events and the share's lease columns they leave
 * (and, for a snapshot's lease, the share's snapshots), at the version the share was read at.
 */
interface LeaseWrite {
  request: Omit<AppendRequest, 'projection'>;
  shareId: string;
  /** The subject's key in this process's memory, and what to remember there once the write applies. */
  key: string;
  after: LeasedShare;
  columns: ReturnType<typeof shareLeaseColumns> & { snapshots?: ShareSnapshotState[] };
  /** The estimated instant a decision on a remembered lease was taken at; undefined when decided on a read. */
  decidedAt?: number;
}

/** Enough for every share lease a busy process keeps renewing; a few hundred bytes each. */
const REMEMBERED = 100_000;
/** A guess older than this is not worth its memory: the next request reads afresh. */
const REMEMBER_MS = 10 * 60_000;
/**
 * How far behind PostgreSQL's clock a decision on a remembered lease may be when its write runs: no
 * older than a decision on a read that waited this long for its write. Never ahead of it.
 */
export const DECIDED_WITHIN_MS = 1000;

/**
 * The predicate of the partial index shares_snapshot_lease_expiry (migration 1764730000000): shares
 * with a snapshot lease that can lapse. A query must repeat it word for word for the index to serve.
 */
const FIXED_SNAPSHOT_LEASE = `jsonb_path_exists(s.snapshots, '$[*].lease ? (@.status == "leased" && exists(@.expiresAt))')`;

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
 * With the lease remembered from its last write (remembered()), a renewal costs a share of one
 * statement instead of two whole ones.
 */
@Injectable()
export class ShareLeaseRepository {
  private readonly reads = new Batcher<{ tenant: string; name: string; snapshot?: string }, LeasedShare | undefined>(
    (keys) => this.readBatch(keys),
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT },
  );
  /** One write of a share in flight at a time: two writes at one version cannot both apply. */
  private readonly writes = new Batcher<LeaseWrite, boolean>((batch) => this.writeBatch(batch), {
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_IN_FLIGHT,
    key: (write) => write.shareId,
  });

  private readonly recent = expiringCache<string, LeasedShare>({ max: REMEMBERED, ttl: REMEMBER_MS });
  /**
   * PostgreSQL's clock minus this process's, from the last batch read: a little low (the row was
   * read before its answer arrived), so estimates of PostgreSQL's clock lag it rather than lead it.
   */
  private clockOffset?: number;

  constructor(private readonly store: EventStore) {}

  /**
   * The lease this process last read or wrote for the share, as of PostgreSQL's clock estimated now,
   * saving the read: one statement per renewal instead of two. A guess, never an answer: other
   * processes write too, so a write decided on it is guarded by the version it carries and by its
   * decision instant (which PostgreSQL checks lies within its last DECIDED_WITHIN_MS), and a refusal
   * or a success with nothing to write must be decided again on a fresh read.
   */
  remembered(tenant: string, name: string, snapshot?: string): LeasedShare | undefined {
    const share = this.recent.get(subjectKey(tenant, name, snapshot));
    if (!share || this.clockOffset === undefined) return undefined;
    return { ...share, readAt: Math.floor(Date.now() + this.clockOffset), estimated: true };
  }

  /** The share's lease, or with `snapshot` that snapshot's; undefined when the share or the snapshot is not there. */
  async find(tenant: string, name: string, snapshot?: string, sql?: SqlExecutor): Promise<LeasedShare | undefined> {
    if (!sql) {
      const share = await this.reads.submit({ tenant, name, snapshot });
      if (share) this.recent.set(subjectKey(tenant, name, snapshot), share);
      return share;
    }
    const rows = await sql.query<LeasedShareRow>(`SELECT *, ${READ_AT} FROM shares WHERE tenant = $1 AND name = $2`, [
      tenant,
      name,
    ]);
    return rows.length ? toLeasedShare(rows[0], snapshot) : undefined;
  }

  private async readBatch(
    keys: Array<{ tenant: string; name: string; snapshot?: string }>,
  ): Promise<Array<LeasedShare | undefined>> {
    shareLeaseBatchSize.observe({ statement: 'read' }, keys.length);
    const rows = await this.store.db.query<LeasedShareRow & { ord: string }>(
      `SELECT k.ord, s.*, ${READ_AT}
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(tenant, name, ord)
       JOIN shares s ON s.tenant = k.tenant AND s.name = k.name`,
      [keys.map((k) => k.tenant), keys.map((k) => k.name)],
    );
    const received = Date.now();
    if (rows.length) this.clockOffset = Math.max(...rows.map((row) => row.read_at)) - received;
    const found = new Map(rows.map((row) => [Number(row.ord), row]));
    return keys.map((key, i) => {
      const row = found.get(i + 1);
      return row && toLeasedShare(row, key.snapshot);
    });
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
      events: forLeaseSubject(events, share.snapshot),
      metadata: eventMetadata(context),
    };
    const key = subjectKey(context.tenant, share.name, share.snapshot);
    const left =
      share.snapshot === undefined
        ? { shareLease: lease, snapshots: share.snapshots }
        : { shareLease: share.shareLease, snapshots: withSnapshotLease(share.snapshots, share.snapshot, lease) };
    // A snapshot's lease writes the share's snapshots; the share's own leaves them (however large) alone.
    const columns = {
      ...shareLeaseColumns(left.shareLease),
      ...(share.snapshot === undefined ? {} : { snapshots: left.snapshots }),
    };
    const decidedAt = share.estimated ? share.readAt : undefined;
    const after = { ...share, lease, ...left, version: share.version + events.length, estimated: undefined };
    const write = { request, shareId: share.shareId, key, after, columns, decidedAt };
    if (!(await this.writes.submit(write))) {
      // A later state remembered meanwhile, from a write that won, stays.
      if (!this.superseded(write)) this.recent.delete(key);
      throw new ConcurrencyError(request.tenant, request.streamId, request.expectedVersion);
    }
    return lease; // remembered by writeBatch()
  }

  /** Whether this process has since remembered a later version of the write's share: the write is then bound to fail. */
  private superseded(write: LeaseWrite): boolean {
    const known = this.recent.peek(write.key);
    return !!known && known.shareId === write.shareId && known.version > write.request.expectedVersion;
  }

  /** Commits one batch (EventStore.appendBatch); per write, whether it applied. */
  private writeBatch(batch: LeaseWrite[]): Promise<boolean[]> {
    return this.store.appendBatch(batch, {
      superseded: (w) => this.superseded(w),
      rowId: (w) => w.shareId,
      statement: (live) => {
        shareLeaseBatchSize.observe({ statement: 'write' }, live.length);
        return this.project(live);
      },
      applied: (w) => this.recent.set(w.key, w.after),
    });
  }

  /**
   * Writes the lease each write's events left (and a snapshot lease's, the snapshots), where its
   * share's stream is still at the expected version and a decision on a remembered lease was taken
   * at an instant PostgreSQL's clock has passed, and not long ago; returns the ordinals that applied.
   */
  private project(writes: LeaseWrite[]): Statement {
    return {
      sql: `UPDATE shares s SET (lease_status, lease_id, lease_epoch, lease_duration, lease_expires_at, lease_broken_at) =
              (SELECT lease_status, lease_id, lease_epoch, lease_duration, lease_expires_at, lease_broken_at FROM jsonb_populate_record(NULL::shares, u.row)),
              snapshots = CASE WHEN u.row ? 'snapshots' THEN u.row->'snapshots' ELSE s.snapshots END,
              version = s.version + u.events
            FROM unnest($1::bigint[], $2::int[], $3::jsonb[], $4::int[], $5::float8[]) WITH ORDINALITY AS u(share_id, expected, row, events, decided_at, ord)
            WHERE s.share_id = u.share_id AND s.version = u.expected
              AND (u.decided_at IS NULL OR to_timestamp(u.decided_at / 1000) BETWEEN clock_timestamp() - make_interval(secs => $6::float8 / 1000) AND clock_timestamp())
            RETURNING u.ord`,
      params: [
        writes.map((w) => w.shareId),
        writes.map((w) => w.request.expectedVersion),
        writes.map((w) => JSON.stringify(w.columns)),
        writes.map((w) => w.request.events.length),
        writes.map((w) => w.decidedAt ?? null),
        DECIDED_WITHIN_MS,
      ],
    };
  }

  /**
   * Leases of shares and of share snapshots that have run out without a ShareLeaseExpired event yet,
   * longest overdue first, read on PostgreSQL's clock. Each kind is found through its partial index.
   */
  async lapsed(limit: number): Promise<LeasedShare[]> {
    const rows = await this.store.db.query<LeasedShareRow & { subject: string | null }>(
      `SELECT * FROM (
         SELECT s.*, ${READ_AT}, NULL AS subject, s.lease_expires_at AS lapsed_at FROM shares s
         WHERE s.lease_status = 'leased' AND s.lease_expires_at <= clock_timestamp()
         UNION ALL
         SELECT s.*, ${READ_AT}, t->>'snapshot', to_timestamp((t->'lease'->>'expiresAt')::float8 / 1000) FROM shares s
           CROSS JOIN LATERAL jsonb_array_elements(s.snapshots) t
         WHERE ${FIXED_SNAPSHOT_LEASE} AND t->'lease'->>'status' = 'leased'
           AND to_timestamp((t->'lease'->>'expiresAt')::float8 / 1000) <= clock_timestamp()
       ) lapsed ORDER BY lapsed_at LIMIT $1`,
      [limit],
    );
    return rows.map((row) => toLeasedShare(row, row.subject ?? undefined)!);
  }
}
