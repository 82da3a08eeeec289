import { Inject, Injectable } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { chunkEvents, decideChunk, ForceCloseJob } from '@leasehold/domain';
import { ConcurrencyError, EventMetadata, EventStore } from '@leasehold/event-store';
import { HandleRepository } from '@leasehold/handles';
import { JobRepository } from './job.repository';
import { ChunkJobData } from './queue';

/** Job events and the handles a job closes record the job, and who asked for it. */
export const jobMetadata = (job: ForceCloseJob, chunk: number): EventMetadata => ({
  requestId: `job-${job.jobId}-chunk-${chunk}`,
  principal: job.requestedBy,
  authentication: 'System',
  jobId: job.jobId,
});

export type ChunkOutcome = { next?: ChunkJobData; job?: ForceCloseJob };

/**
 * Runs chunk n of a force-close job: closes the next chunk of handles with the same code the
 * synchronous Force Close Handles uses, and records it on the job's stream at the version it read,
 * in one transaction. Returns the chunk to queue next, if any.
 */
@Injectable()
export class ForceCloseRunner {
  constructor(
    private readonly store: EventStore,
    private readonly jobs: JobRepository,
    private readonly handles: HandleRepository,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  async runChunk(data: ChunkJobData): Promise<ChunkOutcome> {
    const job = await this.jobs.find(data.tenant, data.jobId);
    if (!job) return {};
    const at = new Date().toISOString();
    const step = decideChunk(job, data.chunk, at);
    const next = { ...data, chunk: data.chunk + 1 };
    switch (step.kind) {
      case 'nothing':
        return { job };
      case 'continue':
        return { job, next };
      case 'cancel':
        return { job: await this.commitOrYield(() => this.jobs.commit(data.tenant, job, step.events, jobMetadata(job, data.chunk))) };
    }
    const after = await this.commitOrYield(() =>
      this.store.transaction(async (sql) => {
        const scope = { shareId: job.shareId, nodeKey: job.nodeKey, recursive: job.recursive, handleId: job.handleId === '*' ? undefined : job.handleId };
        const metadata = jobMetadata(job, data.chunk);
        const closed = await this.handles.forceCloseChunk(data.tenant, scope, job.marker, this.config.forceCloseChunkSize, metadata, sql);
        return this.jobs.commit(data.tenant, job, chunkEvents(job, data.chunk, closed.closed, closed.next, at), metadata, sql);
      }),
    );
    return { job: after, next: after && after.state === 'running' ? next : undefined };
  }

  /** A concurrency conflict means another runner recorded this step first: this one stops, having changed nothing. */
  private async commitOrYield(commit: () => Promise<ForceCloseJob>): Promise<ForceCloseJob | undefined> {
    try {
      return await commit();
    } catch (error) {
      if (error instanceof ConcurrencyError) return undefined;
      throw error;
    }
  }

  async fail(data: ChunkJobData, error: string): Promise<void> {
    const job = await this.jobs.find(data.tenant, data.jobId);
    if (!job || job.state === 'completed' || job.state === 'cancelled' || job.state === 'failed') return;
    await this.commitOrYield(() => this.jobs.commit(data.tenant, job, [{ type: 'ForceCloseJobFailed', data: { error, at: new Date().toISOString() } }], jobMetadata(job, data.chunk)));
  }
}
