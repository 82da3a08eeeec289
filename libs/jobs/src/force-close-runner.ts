import { Inject, Injectable } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { chunkEvents, CommandContext, decideChunk, ForceCloseJob, workerContext } from '@leasehold/domain';
import { ConcurrencyError, eventMetadata, EventStore } from '@leasehold/event-store';
import { HandleRepository } from '@leasehold/handles';
import { jobChunks, jobHandlesClosed } from '@leasehold/observability';
import { hostname } from 'node:os';
import { JobRepository } from './job.repository';
import { ChunkJobData } from './queue';

/** Job events and the handles a job closes record the job, who asked for it, and this worker. */
const chunkContext = (data: ChunkJobData, job: ForceCloseJob): CommandContext =>
  workerContext(hostname(), { ...job, tenant: data.tenant }, data.chunk, new Date());

export type ChunkOutcome = {
  next?: ChunkJobData;
  job?: ForceCloseJob;
  /** Whether this call wrote the job's stream (recorded chunk n, or ended the job). */
  recorded: boolean;
};

/** Conflicts in a row before this delivery gives up (BullMQ then retries it with backoff). */
const MAX_CONFLICTS = 5;

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

  /**
   * A conflict means another writer got to the job's stream first: a second runner of this chunk,
   * or a cancel request. Its transaction rolled back, so this reads the job again and decides
   * again. Stopping there instead would strand the job after a cancel request: nothing would queue
   * its next chunk, and the reconciler cannot re-add a queue id that BullMQ still retains.
   *
   * `known` is the job as this worker's last commit left it, when it runs the job's chunks one after
   * another: the first attempt decides on it instead of reading the job again (if anyone wrote the
   * job since, the commit conflicts and the next attempt reads it).
   */
  async runChunk(data: ChunkJobData, known?: ForceCloseJob): Promise<ChunkOutcome> {
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
      const outcome = await this.attempt(data, attempt === 0 ? known : undefined);
      if (outcome) return outcome;
    }
    throw new Error(`job ${data.jobId} chunk ${data.chunk}: ${MAX_CONFLICTS} concurrency conflicts in a row`);
  }

  /** One read-decide-write of chunk n; undefined when the write lost a concurrency conflict. */
  private async attempt(data: ChunkJobData, known?: ForceCloseJob): Promise<ChunkOutcome | undefined> {
    const job = known ?? (await this.jobs.find(data.tenant, data.jobId));
    if (!job) return { recorded: false };
    const context = chunkContext(data, job);
    const at = context.now.toISOString();
    const step = decideChunk(job, data.chunk, at);
    const next = { ...data, chunk: data.chunk + 1 };
    switch (step.kind) {
      case 'nothing':
        return { job, recorded: false };
      case 'continue':
        // A chunk recorded already (a redelivery, or another delivery got there first): on to the job's next one.
        return { job, next: { ...data, chunk: job.chunksDone + 1 }, recorded: false };
      case 'cancel': {
        const cancelled = await this.commitOrYield(() =>
          this.jobs.commit(data.tenant, job, step.events, eventMetadata(context)),
        );
        return cancelled && { job: cancelled, recorded: true };
      }
    }
    const after = await this.commitOrYield(() =>
      this.store.transaction(async (sql) => {
        const scope = {
          shareId: job.shareId,
          nodeKey: job.nodeKey,
          path: job.path,
          recursive: job.recursive,
          handleId: job.handleId === '*' ? undefined : job.handleId,
        };
        const closed = await this.handles.forceCloseChunk(
          context,
          scope,
          job.marker,
          this.config.forceCloseChunkSize,
          sql,
        );
        return this.jobs.commit(
          data.tenant,
          job,
          chunkEvents(job, data.chunk, closed.closed, closed.next, at),
          eventMetadata(context),
          sql,
        );
      }),
    );
    if (!after) return undefined;
    jobChunks.inc();
    jobHandlesClosed.inc(after.closed - job.closed);
    return { job: after, next: after.state === 'running' ? next : undefined, recorded: true };
  }

  /** A concurrency conflict: another writer recorded first, and this transaction changed nothing. */
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
    const context = chunkContext(data, job);
    await this.commitOrYield(() =>
      this.jobs.commit(
        data.tenant,
        job,
        [{ type: 'ForceCloseJobFailed', data: { error, at: context.now.toISOString() } }],
        eventMetadata(context),
      ),
    );
  }
}
