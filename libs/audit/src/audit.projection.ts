import { pathKey } from '@leasehold/domain';
import { RecordedEvent, SqlExecutor } from '@leasehold/event-store';
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
}

const factsOf = (event: RecordedEvent) => (event.data ?? {}) as AuditFacts;

/** The share a new stream belongs to, when its first event names it by id. */
function shareIdOf(event: RecordedEvent): string | undefined {
  return ['DirectoryCreated', 'FileCreated', 'HandleOpened'].includes(event.type) ? factsOf(event).shareId : undefined;
}

/**
 * The audit read model: one row per event with the share and path it is about (lease events carry
 * neither; the stream's creation event does, and audit_streams remembers it), the lease, handle and
 * job ids it concerns, and who caused it.
 */
export const auditProjection: AsyncProjection = {
  name: 'audit',
  async apply(sql: SqlExecutor, events: RecordedEvent[]): Promise<void> {
    const key = (tenant: string, stream: string) => `${tenant}\n${stream}`;
    const wanted = new Set<string>();
    for (const e of events) {
      wanted.add(key(e.tenant, e.streamId));
      const shareId = shareIdOf(e);
      if (shareId) wanted.add(key(e.tenant, shareStream(shareId)));
    }
    const places = new Map<string, Place>();
    const known = await sql.query<Place & { tenant: string; stream_id: string }>(
      `SELECT tenant, stream_id, share, path FROM audit_streams
       WHERE (tenant, stream_id) IN (SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(tenant text, stream_id text))`,
      [JSON.stringify([...wanted].map((k) => ({ tenant: k.split('\n')[0], stream_id: k.split('\n')[1] })))],
    );
    for (const r of known) places.set(key(r.tenant, r.stream_id), { share: r.share, path: r.path });
    const learned = new Map<string, Place & { tenant: string; stream_id: string }>();
    const learn = (tenant: string, stream: string, place: Place) => {
      places.set(key(tenant, stream), place);
      learned.set(key(tenant, stream), { tenant, stream_id: stream, ...place });
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
      return {
        position: e.position,
        tenant: e.tenant,
        stream_id: e.streamId,
        stream_version: e.streamVersion,
        type: e.type,
        share: place.share,
        path: place.path,
        path_key: place.path === null ? null : pathKey(place.path === '' ? [] : place.path.split('/')),
        lease_id: typeof leaseId === 'string' && UUID.test(leaseId) ? leaseId : null,
        handle_id: typeof d.handleId === 'string' && ID.test(d.handleId) ? d.handleId : null,
        job_id: typeof jobId === 'string' && UUID.test(jobId) ? jobId : null,
        request_id: e.metadata?.requestId ?? null,
        client_request_id: e.metadata?.clientRequestId ?? null,
        principal: e.metadata?.principal ?? null,
        recorded_at: e.recordedAt,
        data: d,
      };
    });
    if (learned.size) {
      await sql.query(
        `INSERT INTO audit_streams SELECT * FROM jsonb_populate_recordset(NULL::audit_streams, $1::jsonb)
         ON CONFLICT (tenant, stream_id) DO UPDATE SET share = EXCLUDED.share, path = EXCLUDED.path`,
        [JSON.stringify([...learned.values()])],
      );
    }
    await sql.query(
      `INSERT INTO audit_log (position, tenant, stream_id, stream_version, type, share, path, path_key, lease_id, handle_id, job_id,
         request_id, client_request_id, principal, recorded_at, data)
       SELECT position, tenant, stream_id, stream_version, type, share, path, path_key, lease_id, handle_id, job_id,
         request_id, client_request_id, principal, recorded_at, data
       FROM jsonb_populate_recordset(NULL::audit_log, $1::jsonb)`,
      [JSON.stringify(rows)],
    );
  },
};
