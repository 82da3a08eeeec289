import { pathKey } from '@leasehold/domain';
import { RecordedEvent } from '@leasehold/event-store';
import { shareStream } from '@leasehold/filesystem';
import { JOB_STREAM_PREFIX } from '@leasehold/jobs';
import { AsyncProjection } from './async-projector';

interface Place {
  share: string | null;
  path: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ID = /^\d{1,19}$/;

/** The fields the audit reads from an event's data, where the event type has them (every type's data is an object). */
interface AuditFacts {
  shareId?: string;
  name?: string;
  shareName?: string;
  path?: string;
  leaseId?: unknown;
  toLeaseId?: unknown;
  handleId?: unknown;
  handleIds?: unknown;
}

const factsOf = (event: RecordedEvent) => (event.data ?? {}) as AuditFacts;

/** The share a new stream belongs to, when its first event names it by id. */
function shareIdOf(event: RecordedEvent): string | undefined {
  return ['DirectoryCreated', 'FileCreated', 'HandleOpened', 'HandlesForceClosed'].includes(event.type)
    ? factsOf(event).shareId
    : undefined;
}

/** The audit row's columns, as apply builds each row; the event's data stays in the log (queries join it by position). */
const AUDIT_COLUMNS = [
  'position',
  'tenant',
  'stream_id',
  'stream_version',
  'type',
  'share',
  'path',
  'path_key',
  'lease_id',
  'handle_id',
  'handle_ids',
  'job_id',
  'request_id',
  'client_request_id',
  'principal',
  'recorded_at',
] as const;

/** The handles a chunk closed (HandlesForceClosed), as an array literal: null unless every one is an id. */
function handleIdsOf(ids: unknown): string | null {
  return Array.isArray(ids) && ids.length > 0 && ids.every((id) => typeof id === 'string' && ID.test(id))
    ? `{${ids.join(',')}}`
    : null;
}

/** Rows of `width` values as `width` arrays, one per column: the parameters of an unnest(). */
function columnsOf(rows: readonly (readonly unknown[])[], width: number): unknown[][] {
  return Array.from({ length: width }, (_, i) => rows.map((row) => row[i]));
}

/** A batch's writes: its audit rows, and the places of streams it learned (in audit_streams' columns). */
interface AuditWrites {
  rows: unknown[][];
  learned: Map<string, [string, string, string | null, string | null]>;
}

const key = (tenant: string, stream: string) => `${tenant}\n${stream}`;

/**
 * The audit read model: one row per event with the share and path it is about (lease events carry
 * neither; the stream's creation event does, and audit_streams remembers it), the lease, handle
 * (or, for a chunk of closes, handles) and job ids it concerns, and who caused it.
 */
export const auditProjection: AsyncProjection<AuditWrites> = {
  name: 'audit',
  async prepare(sql, events, previous) {
    const places = new Map<string, Place>();
    // The places the batch before learned, which it may not have committed yet.
    for (const [k, [, , share, path]] of previous?.learned ?? []) places.set(k, { share, path });
    // The places to look up: not those of streams that begin in this batch, which none has stored.
    const wanted = new Map<string, [string, string]>();
    const fresh = new Set<string>();
    const want = (tenant: string, stream: string) => {
      const k = key(tenant, stream);
      if (!fresh.has(k) && !places.has(k)) wanted.set(k, [tenant, stream]);
    };
    for (const e of events) {
      if (e.streamVersion === 1) fresh.add(key(e.tenant, e.streamId));
      want(e.tenant, e.streamId);
      const shareId = shareIdOf(e);
      if (shareId) want(e.tenant, shareStream(shareId));
    }
    // One primary-key probe per stream (LATERAL, kept apart from the join by its LIMIT), never a
    // hash of the whole table, which the planner chose for the plain join as audit_streams grew:
    // 33 ms a batch at 73,000 streams against 3.
    const known = await sql.query<Place & { tenant: string; stream_id: string }>(
      `SELECT s.tenant, s.stream_id, s.share, s.path FROM unnest($1::text[], $2::text[]) AS w(tenant, stream_id),
         LATERAL (SELECT * FROM audit_streams s WHERE s.tenant = w.tenant AND s.stream_id = w.stream_id LIMIT 1) s`,
      columnsOf([...wanted.values()], 2),
    );
    for (const r of known) places.set(key(r.tenant, r.stream_id), { share: r.share, path: r.path });
    const learned: AuditWrites['learned'] = new Map();
    const learn = (tenant: string, stream: string, place: Place) => {
      places.set(key(tenant, stream), place);
      learned.set(key(tenant, stream), [tenant, stream, place.share, place.path]);
    };
    const rows = events.map((e) => {
      const d = factsOf(e);
      if (e.type === 'ShareCreated') learn(e.tenant, e.streamId, { share: d.name ?? null, path: '' });
      else if (e.type === 'ForceCloseJobSubmitted')
        learn(e.tenant, e.streamId, { share: d.shareName ?? null, path: d.path ?? null });
      else if (shareIdOf(e) && !places.has(key(e.tenant, e.streamId))) {
        learn(e.tenant, e.streamId, {
          share: places.get(key(e.tenant, shareStream(shareIdOf(e)!)))?.share ?? null,
          path: d.path ?? null,
        });
      }
      // A renamed node keeps its stream: from this event on, it is about the new path.
      else if (e.type === 'NodeRenamed' || e.type === 'NodeMoved')
        learn(e.tenant, e.streamId, {
          share: places.get(key(e.tenant, e.streamId))?.share ?? null,
          path: d.path ?? null,
        });
      const place = places.get(key(e.tenant, e.streamId)) ?? { share: null, path: null };
      const leaseId = d.leaseId ?? d.toLeaseId;
      const jobId =
        e.metadata?.jobId ??
        (e.streamId.startsWith(JOB_STREAM_PREFIX) ? e.streamId.slice(JOB_STREAM_PREFIX.length) : undefined);
      // In AUDIT_COLUMNS' order.
      return [
        e.position,
        e.tenant,
        e.streamId,
        e.streamVersion,
        e.type,
        place.share,
        place.path,
        place.path === null ? null : pathKey(place.path === '' ? [] : place.path.split('/')),
        typeof leaseId === 'string' && UUID.test(leaseId) ? leaseId : null,
        typeof d.handleId === 'string' && ID.test(d.handleId) ? d.handleId : null,
        e.type === 'HandlesForceClosed' ? handleIdsOf(d.handleIds) : null,
        typeof jobId === 'string' && UUID.test(jobId) ? jobId : null,
        e.metadata?.requestId,
        e.metadata?.clientRequestId,
        e.metadata?.principal,
        e.recordedAt,
      ];
    });
    return { rows, learned };
  },
  async write(sql, { rows, learned }) {
    if (learned.size) {
      await sql.query(
        `INSERT INTO audit_streams (tenant, stream_id, share, path) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (tenant, stream_id) DO UPDATE SET share = EXCLUDED.share, path = EXCLUDED.path`,
        columnsOf([...learned.values()], 4),
      );
    }
    await sql.copyIn('audit_log', AUDIT_COLUMNS, rows);
  },
};
