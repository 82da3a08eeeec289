import { Injectable } from '@nestjs/common';
import { evolveJob, ForceCloseJob, JobEvent } from '@leasehold/domain';
import { EventMetadata, EventStore, SqlExecutor, Statement } from '@leasehold/event-store';
import { jobRow } from './job-row';

/** A job's stream, job-<id>: its events are the domain's JobEvent. */
export const JOB_STREAM_PREFIX = 'job-';
export const jobStream = (jobId: string) => `${JOB_STREAM_PREFIX}${jobId}`;

/** A row of the jobs table as pg returns it (bigints as text, timestamps as Date). */
interface JobColumns {
  job_id: string;
  tenant: string;
  idempotency_key: string;
  share_id: string;
  share_name: string;
  node_key: string;
  path: string;
  recursive: boolean;
  handle_id: string;
  state: ForceCloseJob['state'];
  cancel_requested: boolean;
  chunks_done: number;
  closed: string;
  marker: ForceCloseJob['marker'] | null;
  requested_by: string;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
  error: string | null;
  version: number;
}

const toJob = (r: JobColumns): ForceCloseJob => ({
  jobId: r.job_id,
  idempotencyKey: r.idempotency_key,
  shareId: String(r.share_id),
  shareName: r.share_name,
  nodeKey: r.node_key,
  path: r.path,
  recursive: r.recursive,
  handleId: r.handle_id,
  state: r.state,
  cancelRequested: r.cancel_requested,
  chunksDone: r.chunks_done,
  closed: Number(r.closed),
  marker: r.marker ?? undefined,
  requestedBy: r.requested_by,
  createdAt: new Date(r.created_at).toISOString(),
  startedAt: r.started_at ? new Date(r.started_at).toISOString() : undefined,
  endedAt: r.ended_at ? new Date(r.ended_at).toISOString() : undefined,
  error: r.error ?? undefined,
  version: r.version,
});

/** The jobs projection, and the job stream's appends with it (one statement each). */
@Injectable()
export class JobRepository {
  constructor(private readonly store: EventStore) {}

  async find(tenant: string, jobId: string, sql: SqlExecutor = this.store.db): Promise<ForceCloseJob | undefined> {
    // The exact shape of a uuid: anything else would reach PostgreSQL's uuid parser and fail there (a 500).
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(jobId)) return undefined;
    const rows = await sql.query<JobColumns>(`SELECT * FROM jobs WHERE tenant = $1 AND job_id = $2`, [tenant, jobId]);
    return rows.length ? toJob(rows[0]) : undefined;
  }

  async findByIdempotencyKey(tenant: string, key: string): Promise<ForceCloseJob | undefined> {
    const rows = await this.store.db.query<JobColumns>(
      `SELECT * FROM jobs WHERE tenant = $1 AND idempotency_key = $2`,
      [tenant, key],
    );
    return rows.length ? toJob(rows[0]) : undefined;
  }

  /** A page of a tenant's jobs, newest first, after the (created_at, job_id) position `after`. */
  async list(
    tenant: string,
    after: { createdAt: string; jobId: string } | undefined,
    limit: number,
  ): Promise<{ jobs: ForceCloseJob[]; more: boolean }> {
    const rows = await this.store.db.query<JobColumns>(
      `SELECT * FROM jobs WHERE tenant = $1 AND ($2::timestamptz IS NULL OR (created_at, job_id) < ($2::timestamptz, $3::uuid))
       ORDER BY created_at DESC, job_id DESC LIMIT $4`,
      [tenant, after?.createdAt ?? null, after?.jobId ?? '00000000-0000-0000-0000-000000000000', limit + 1],
    );
    return { jobs: rows.slice(0, limit).map(toJob), more: rows.length > limit };
  }

  /** Jobs per state across all tenants, for the metrics. */
  async countByState(): Promise<Array<{ state: string; count: number }>> {
    const rows = await this.store.db.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM jobs GROUP BY state`,
    );
    return rows.map((r) => ({ state: r.state, count: r.n }));
  }

  /** Jobs not yet ended, for the worker to make sure each has its next chunk queued. */
  async unfinished(): Promise<{ tenant: string; jobId: string; chunksDone: number }[]> {
    const rows = await this.store.db.query<Pick<JobColumns, 'tenant' | 'job_id' | 'chunks_done'>>(
      `SELECT tenant, job_id, chunks_done FROM jobs WHERE state IN ('queued', 'running')`,
    );
    return rows.map((r) => ({ tenant: r.tenant, jobId: r.job_id, chunksDone: r.chunks_done }));
  }

  /** The inline projection of the job's new state, through jobRow: a new job's row, or the update guarded by the version it was read at. */
  private project(tenant: string, job: ForceCloseJob, expectedVersion: number): Statement {
    const row = JSON.stringify(jobRow(tenant, job));
    if (expectedVersion === 0) {
      return {
        sql: `INSERT INTO jobs SELECT * FROM jsonb_populate_record(NULL::jobs, $1::jsonb) ON CONFLICT DO NOTHING RETURNING 1`,
        params: [row],
      };
    }
    return {
      sql: `UPDATE jobs j SET (state, cancel_requested, chunks_done, closed, marker, started_at, ended_at, error, version) =
              (SELECT state, cancel_requested, chunks_done, closed, marker, started_at, ended_at, error, version FROM jsonb_populate_record(NULL::jobs, $3::jsonb))
            WHERE j.tenant = $1 AND j.job_id = $2 AND j.version = $4 RETURNING 1`,
      params: [tenant, job.jobId, row, expectedVersion],
    };
  }

  /**
   * Appends to the job's stream at the version it was read at, with its projected row: a second
   * runner of the same chunk (BullMQ delivers at least once) fails here with a ConcurrencyError.
   */
  async commit(
    tenant: string,
    job: ForceCloseJob | undefined,
    events: JobEvent[],
    metadata: EventMetadata,
    sql?: SqlExecutor,
  ): Promise<ForceCloseJob> {
    const after = events.reduce<ForceCloseJob | undefined>(evolveJob, job)!;
    const expectedVersion = job?.version ?? 0;
    await this.store.append(
      {
        tenant,
        streamId: jobStream(after.jobId),
        expectedVersion,
        events,
        metadata,
        projection: this.project(tenant, after, expectedVersion),
      },
      sql,
    );
    return after;
  }
}
