import { Injectable } from '@nestjs/common';
import { EventStore } from '@leasehold/event-store';

export interface AuditFilter {
  share?: string;
  /** The path key (lowercased path below the share); '' is the share root. */
  pathKey?: string;
  /** With a path: the directory and everything under it. */
  recursive?: boolean;
  /** With a path (not recursive): every event of each stream that has been at it, so a renamed file's history is whole. */
  wholeStreams?: boolean;
  /** One event type, or any of several. */
  type?: string | string[];
  leaseId?: string;
  handleId?: string;
  jobId?: string;
  clientRequestId?: string;
  principal?: string;
  from?: Date;
  to?: Date;
}

export interface AuditEvent {
  seq: string;
  position: string;
  type: string;
  share: string | null;
  path: string | null;
  streamId: string;
  streamVersion: number;
  leaseId: string | null;
  handleId: string | null;
  jobId: string | null;
  requestId: string | null;
  clientRequestId: string | null;
  principal: string | null;
  recordedAt: string;
  data: unknown;
}

/** What a lease timeline reads of an event: a page of them is parsed for every history asked. */
export type TimelineEvent = Pick<
  AuditEvent,
  'seq' | 'type' | 'path' | 'principal' | 'requestId' | 'clientRequestId' | 'recordedAt' | 'data'
>;

/** A row of audit_log as pg returns it (bigints as text). */
interface AuditRow {
  seq: string;
  position: string;
  type: string;
  share: string | null;
  path: string | null;
  stream_id: string;
  stream_version: number;
  lease_id: string | null;
  handle_id: string | null;
  job_id: string | null;
  request_id: string | null;
  client_request_id: string | null;
  principal: string | null;
  recorded_at: Date;
  data: AuditEvent['data'];
}

type TimelineRow = Pick<
  AuditRow,
  'seq' | 'type' | 'path' | 'principal' | 'request_id' | 'client_request_id' | 'recorded_at' | 'data'
>;

const toTimelineEvent = (r: TimelineRow): TimelineEvent => ({
  seq: String(r.seq),
  type: r.type,
  path: r.path,
  requestId: r.request_id,
  clientRequestId: r.client_request_id,
  principal: r.principal,
  recordedAt: new Date(r.recorded_at).toISOString(),
  data: r.data,
});

const toEvent = (r: AuditRow): AuditEvent => {
  const t = toTimelineEvent(r);
  // In the order the API has always answered with.
  return {
    seq: t.seq,
    position: String(r.position),
    type: t.type,
    share: r.share,
    path: t.path,
    streamId: r.stream_id,
    streamVersion: r.stream_version,
    leaseId: r.lease_id,
    handleId: r.handle_id === null ? null : String(r.handle_id),
    jobId: r.job_id,
    requestId: t.requestId,
    clientRequestId: t.clientRequestId,
    principal: t.principal,
    recordedAt: t.recordedAt,
    data: t.data,
  };
};

/** The columns a page reads of audit_log (a chunk's handle_ids are in its data already). */
const PAGE_COLUMNS =
  'seq, position, tenant, type, share, path, stream_id, stream_version, lease_id, handle_id, job_id, request_id, client_request_id, principal, recorded_at';
/** What an event of a page answers with. */
const ROW_COLUMNS =
  'a.seq, a.position, a.type, a.share, a.path, a.stream_id, a.stream_version, a.lease_id, a.handle_id, a.job_id, a.request_id, a.client_request_id, a.principal, a.recorded_at';
/** A timeline's: each column costs the API its parsing, row after row (bench/README.md, audit). */
const TIMELINE_COLUMNS = 'a.seq, a.type, a.path, a.request_id, a.client_request_id, a.principal, a.recorded_at';

/**
 * Rows of seq in a bucket of audit_by_client_request (migrations/1765300000000-AuditIndexesStayHot.ts):
 * a lookup must divide seq by the index's own divisor for the planner to use the index.
 */
export const CLIENT_REQUEST_BUCKET = 1048576;

const likePrefix = (key: string) => `${key.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`;

/** Builds the WHERE clause of an audit query; every query is confined to one tenant first. */
function where(tenant: string, filter: AuditFilter, params: unknown[]): string {
  const add = (value: unknown) => `$${params.push(value)}`;
  const tenantParam = add(tenant);
  const clauses = [`tenant = ${tenantParam}`];
  if (filter.share !== undefined) clauses.push(`share = ${add(filter.share)}`);
  if (filter.pathKey !== undefined) {
    if (filter.recursive && filter.pathKey === '') clauses.push(`path_key IS NOT NULL`);
    else if (filter.recursive)
      clauses.push(`(path_key = ${add(filter.pathKey)} OR path_key LIKE ${add(likePrefix(filter.pathKey))})`);
    else if (filter.wholeStreams)
      clauses.push(
        `stream_id IN (SELECT stream_id FROM audit_log WHERE tenant = ${tenantParam} AND share = ${add(filter.share)} AND path_key = ${add(filter.pathKey)})`,
      );
    else clauses.push(`path_key = ${add(filter.pathKey)}`);
  }
  if (filter.type)
    clauses.push(Array.isArray(filter.type) ? `type = ANY(${add(filter.type)})` : `type = ${add(filter.type)}`);
  if (filter.leaseId) clauses.push(`lease_id = ${add(filter.leaseId)}`);
  // A handle's own events, and the chunk of closes that named it.
  if (filter.handleId) {
    const id = add(filter.handleId);
    clauses.push(`(handle_id = ${id} OR handle_ids @> ARRAY[${id}::bigint])`);
  }
  if (filter.jobId) clauses.push(`job_id = ${add(filter.jobId)}`);
  // One probe per bucket of the tenant's range of seq, in the index's own buckets.
  if (filter.clientRequestId) {
    const bucket = (seq: string) => `${seq} / ${CLIENT_REQUEST_BUCKET}`;
    clauses.push(
      `client_request_id = ${add(filter.clientRequestId)} AND ${bucket('seq')} = ANY(ARRAY(
         SELECT generate_series(${bucket('min(seq)')}, ${bucket('max(seq)')}) FROM audit_log WHERE tenant = ${tenantParam}))`,
    );
  }
  if (filter.principal) clauses.push(`principal = ${add(filter.principal)}`);
  if (filter.from) clauses.push(`recorded_at >= ${add(filter.from)}`);
  if (filter.to) clauses.push(`recorded_at <= ${add(filter.to)}`);
  return clauses.join(' AND ');
}

/** Reads of the audit read model. */
@Injectable()
export class AuditRepository {
  constructor(private readonly store: EventStore) {}

  /** One page in seq order; `after` is the seq the previous page ended at. */
  async query(
    tenant: string,
    filter: AuditFilter,
    order: 'asc' | 'desc',
    after: string | undefined,
    limit: number,
  ): Promise<{ events: AuditEvent[]; more: boolean }> {
    const { rows, more } = await this.page<AuditRow>(ROW_COLUMNS, tenant, filter, order, after, limit);
    return { events: rows.map(toEvent), more };
  }

  /** A page as `query` gives it, oldest first, with only what a lease timeline reads of each event. */
  async timeline(
    tenant: string,
    filter: AuditFilter,
    after: string | undefined,
    limit: number,
  ): Promise<{ events: TimelineEvent[]; more: boolean }> {
    const { rows, more } = await this.page<TimelineRow>(TIMELINE_COLUMNS, tenant, filter, 'asc', after, limit);
    return { events: rows.map(toTimelineEvent), more };
  }

  private async page<R>(
    columns: string,
    tenant: string,
    filter: AuditFilter,
    order: 'asc' | 'desc',
    after: string | undefined,
    limit: number,
  ): Promise<{ rows: R[]; more: boolean }> {
    const params: unknown[] = [];
    const clause = where(tenant, filter, params);
    const cursor = after === undefined ? '' : ` AND seq ${order === 'asc' ? '>' : '<'} $${params.push(after)}`;
    // The page is chosen on audit_log alone; only its rows fetch their data from the log (by the
    // tenant too, so that sharded by tenant the join stays on one shard: docs/scaling.md).
    const rows = await this.store.db.query<R>(
      `SELECT ${columns}, e.data FROM (SELECT ${PAGE_COLUMNS} FROM audit_log WHERE ${clause}${cursor} ORDER BY seq ${order} LIMIT $${params.push(limit + 1)}) a
       JOIN events e ON e.tenant = a.tenant AND e.position = a.position ORDER BY a.seq ${order}`,
      params,
    );
    return { rows: rows.slice(0, limit), more: rows.length > limit };
  }

  /** Which of these handles a chunk of closes (HandlesForceClosed) named by `to`: a chunk's row is at the directory closed, not at each handle's path. */
  async closedAmong(tenant: string, handleIds: string[], to: Date): Promise<Set<string>> {
    const rows = await this.store.db.query<{ id: string }>(
      `SELECT DISTINCT id::text FROM audit_log, unnest(handle_ids) AS id
       WHERE tenant = $1 AND handle_ids && $2::bigint[] AND recorded_at <= $3 AND id = ANY($2::bigint[])`,
      [tenant, handleIds, to],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Streams a range in pages of `page` rows, so an export of any size holds one page in memory. */
  async *stream(tenant: string, filter: AuditFilter, page = 1000): AsyncGenerator<AuditEvent[]> {
    let after: string | undefined;
    for (;;) {
      const { events, more } = await this.query(tenant, filter, 'asc', after, page);
      if (events.length) yield events;
      if (!more) return;
      after = events[events.length - 1].seq;
    }
  }
}
