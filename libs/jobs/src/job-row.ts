import { ForceCloseJob } from '@leasehold/domain';

/** A job's row in the jobs projection: the one mapping both the inline projection and rebuilds use. */
export const jobRow = (tenant: string, job: ForceCloseJob) => ({
  job_id: job.jobId,
  tenant,
  idempotency_key: job.idempotencyKey,
  share_id: job.shareId,
  share_name: job.shareName,
  node_key: job.nodeKey,
  path: job.path,
  recursive: job.recursive,
  handle_id: job.handleId,
  state: job.state,
  cancel_requested: job.cancelRequested,
  chunks_done: job.chunksDone,
  closed: job.closed,
  marker: job.marker ?? null,
  requested_by: job.requestedBy,
  created_at: job.createdAt,
  started_at: job.startedAt ?? null,
  ended_at: job.endedAt ?? null,
  error: job.error ?? null,
  version: job.version,
});
