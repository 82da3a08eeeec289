import { Inject, Logger } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { CommandContext, DomainError, ForceCloseJob, isTerminal } from '@leasehold/domain';
import { ConcurrencyError, eventMetadata, OutageLog, retryOnConcurrency } from '@leasehold/event-store';
import { NodeRepository } from '@leasehold/filesystem';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { JobRepository } from './job.repository';
import { ChunkJobData, enqueueChunk } from './queue';

export const FORCE_CLOSE_QUEUE_TOKEN = Symbol('FORCE_CLOSE_QUEUE');

export class SubmitForceCloseJobCommand extends Command<ForceCloseJob> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly handleId: string,
    readonly recursive: boolean,
    readonly idempotencyKey: string | undefined,
  ) {
    super();
  }
}

export class CancelForceCloseJobCommand extends Command<ForceCloseJob> {
  constructor(
    readonly context: CommandContext,
    readonly jobId: string,
  ) {
    super();
  }
}

/** Records the job, then queues its first chunk; the same idempotency key always gives the same job. */
@CommandHandler(SubmitForceCloseJobCommand)
export class SubmitForceCloseJobHandler implements ICommandHandler<SubmitForceCloseJobCommand> {
  /** Jobs submitted while Redis is away are recorded and answered; the worker's reconciler queues them when it is back. */
  private readonly redis = new OutageLog(
    new Logger('SubmitForceCloseJob'),
    'Redis (job queue)',
    'jobs are recorded and queued by the worker when it is back',
  );

  constructor(
    private readonly nodes: NodeRepository,
    private readonly jobs: JobRepository,
    @Inject(FORCE_CLOSE_QUEUE_TOKEN) private readonly queue: Queue<ChunkJobData>,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  async execute({
    context,
    share,
    path,
    handleId,
    recursive,
    idempotencyKey,
  }: SubmitForceCloseJobCommand): Promise<ForceCloseJob> {
    const key = idempotencyKey ?? context.clientRequestId ?? randomUUID();
    const existing = await this.jobs.findByIdempotencyKey(context.tenant, key);
    if (existing) return existing;
    const located = await this.nodes.locate(context.tenant, share, path);
    if (path.length > 0 && !located.node)
      throw new DomainError(located.parentExists ? 'ResourceNotFound' : 'ParentNotFound');
    if (recursive && located.node?.kind === 'file') throw new DomainError('RecursiveOnFile');
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
      job = await this.jobs.commit(
        context.tenant,
        undefined,
        [{ type: 'ForceCloseJobSubmitted', data: submitted }],
        eventMetadata(context),
      );
    } catch (error) {
      // The same key submitted concurrently: the other request recorded the job.
      const winner =
        error instanceof ConcurrencyError ? await this.jobs.findByIdempotencyKey(context.tenant, key) : undefined;
      if (!winner) throw error;
      return winner;
    }
    // The job is recorded; if Redis is away, the worker's reconciler queues it later.
    await enqueueChunk(
      this.queue,
      { tenant: context.tenant, jobId: job.jobId, chunk: 1 },
      this.config.jobRetentionSeconds,
    ).then(
      () => this.redis.succeeded(),
      (e: unknown) => this.redis.failed(e),
    );
    return job;
  }
}

/** Asks a job to stop: the worker ends it after the chunk in hand. */
@CommandHandler(CancelForceCloseJobCommand)
export class CancelForceCloseJobHandler implements ICommandHandler<CancelForceCloseJobCommand> {
  constructor(private readonly jobs: JobRepository) {}

  execute({ context, jobId }: CancelForceCloseJobCommand): Promise<ForceCloseJob> {
    return retryOnConcurrency(async () => {
      const job = await this.jobs.find(context.tenant, jobId);
      if (!job) throw new DomainError('JobNotFound');
      if (job.cancelRequested || job.state === 'cancelled') return job;
      if (isTerminal(job.state)) throw new DomainError('JobAlreadyEnded', { state: job.state });
      return this.jobs.commit(
        context.tenant,
        job,
        [{ type: 'ForceCloseJobCancelRequested', data: { by: context.principal, at: context.now.toISOString() } }],
        eventMetadata(context),
      );
    });
  }
}
