import { Inject, Logger } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { ForceCloseJob, isTerminal } from '@leasehold/domain';
import { ConcurrencyError, retryOnConcurrency } from '@leasehold/event-store';
import { NodeRepository } from '@leasehold/filesystem';
import { AzureError, eventMetadata, invalidHeader, parentNotFound, RequestContext, resourceNotFound } from '@leasehold/wire';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { JobRepository } from './job.repository';
import { ChunkJobData, enqueueChunk } from './queue';

export const FORCE_CLOSE_QUEUE_TOKEN = Symbol('FORCE_CLOSE_QUEUE');

export class SubmitForceCloseJobCommand {
  constructor(
    readonly context: RequestContext,
    readonly share: string,
    readonly path: string[],
    readonly handleId: string,
    readonly recursive: boolean,
    readonly idempotencyKey: string | undefined,
  ) {}
}

export class CancelForceCloseJobCommand {
  constructor(
    readonly context: RequestContext,
    readonly jobId: string,
  ) {}
}

export const jobNotFound = () => new AzureError(404, 'JobNotFound', 'The specified job does not exist.');

/** Records the job, then queues its first chunk; the same idempotency key always gives the same job. */
@CommandHandler(SubmitForceCloseJobCommand)
export class SubmitForceCloseJobHandler implements ICommandHandler<SubmitForceCloseJobCommand, ForceCloseJob> {
  private readonly logger = new Logger('SubmitForceCloseJob');

  constructor(
    private readonly nodes: NodeRepository,
    private readonly jobs: JobRepository,
    @Inject(FORCE_CLOSE_QUEUE_TOKEN) private readonly queue: Queue<ChunkJobData>,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  async execute({ context, share, path, handleId, recursive, idempotencyKey }: SubmitForceCloseJobCommand): Promise<ForceCloseJob> {
    const key = idempotencyKey ?? context.clientRequestId ?? randomUUID();
    const existing = await this.jobs.findByIdempotencyKey(context.account, key);
    if (existing) return existing;
    const located = await this.nodes.locate(context.account, share, path);
    if (path.length > 0 && !located.node) throw located.parentExists ? resourceNotFound() : parentNotFound();
    if (recursive && located.node?.kind === 'file') throw invalidHeader('x-ms-recursive', 'true', 'x-ms-recursive is valid only for directories.');
    const submitted = {
      jobId: randomUUID(),
      idempotencyKey: key,
      shareId: located.share.shareId,
      shareName: share,
      nodeKey: located.key,
      path: located.node?.path ?? '',
      recursive,
      handleId,
      requestedBy: context.principal,
      at: context.now.toISOString(),
    };
    let job: ForceCloseJob;
    try {
      job = await this.jobs.commit(context.account, undefined, [{ type: 'ForceCloseJobSubmitted', data: submitted }], eventMetadata(context));
    } catch (error) {
      // The same key submitted concurrently: the other request recorded the job.
      const winner = error instanceof ConcurrencyError ? await this.jobs.findByIdempotencyKey(context.account, key) : undefined;
      if (!winner) throw error;
      return winner;
    }
    // The job is recorded; if Redis is away, the worker's reconciler queues it later.
    await enqueueChunk(this.queue, { tenant: context.account, jobId: job.jobId, chunk: 1 }, this.config.jobRetentionSeconds).catch((e) =>
      this.logger.warn(`job ${job.jobId} recorded but not queued yet: ${e.message}`),
    );
    return job;
  }
}

/** Asks a job to stop: the worker ends it after the chunk in hand. */
@CommandHandler(CancelForceCloseJobCommand)
export class CancelForceCloseJobHandler implements ICommandHandler<CancelForceCloseJobCommand, ForceCloseJob> {
  constructor(private readonly jobs: JobRepository) {}

  execute({ context, jobId }: CancelForceCloseJobCommand): Promise<ForceCloseJob> {
    return retryOnConcurrency(async () => {
      const job = await this.jobs.find(context.account, jobId);
      if (!job) throw jobNotFound();
      if (job.cancelRequested || job.state === 'cancelled') return job;
      if (isTerminal(job.state)) throw new AzureError(409, 'JobAlreadyEnded', `The job has already ${job.state === 'completed' ? 'completed' : 'failed'}.`);
      return this.jobs.commit(context.account, job, [{ type: 'ForceCloseJobCancelRequested', data: { by: context.principal, at: context.now.toISOString() } }], eventMetadata(context));
    });
  }
}
