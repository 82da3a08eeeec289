import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { Job, Queue, Worker } from 'bullmq';
import { ForceCloseRunner } from './force-close-runner';
import { JobRepository } from './job.repository';
import { ChunkJobData, enqueueChunk, FORCE_CLOSE_QUEUE, redisConnection } from './queue';

/** How often the worker makes sure every unfinished job in PostgreSQL has its next chunk queued. */
const RECONCILE_MS = 15_000;

/**
 * The BullMQ side of queued force-close: one queue entry per chunk. PostgreSQL is the truth; Redis
 * only says what to do next, so the reconciler can always rebuild the queue from the jobs table
 * (after a Redis restart, or an enqueue that failed after its chunk committed).
 */
@Injectable()
export class ForceCloseWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ForceCloseWorker');
  private worker?: Worker<ChunkJobData>;
  private queue?: Queue<ChunkJobData>;
  private reconciler?: NodeJS.Timeout;

  constructor(
    private readonly runner: ForceCloseRunner,
    private readonly jobs: JobRepository,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.queue = new Queue<ChunkJobData>(FORCE_CLOSE_QUEUE, { connection: redisConnection(this.config.redisUrl) });
    this.worker = new Worker<ChunkJobData>(FORCE_CLOSE_QUEUE, (job) => this.process(job), {
      connection: redisConnection(this.config.redisUrl),
      concurrency: this.config.workerConcurrency,
      lockDuration: this.config.jobLockMs,
      stalledInterval: this.config.jobLockMs,
      maxStalledCount: 100,
    });
    this.worker.on('failed', (job, error) => void this.onFailed(job, error));
    this.worker.on('error', (error) => this.logger.warn(`queue connection: ${error.message}`));
    await this.reconcile();
    this.reconciler = setInterval(() => void this.reconcile(), RECONCILE_MS);
  }

  private async process(job: Job<ChunkJobData>): Promise<void> {
    const { next, job: state } = await this.runner.runChunk(job.data);
    if (state) await job.updateProgress({ chunksDone: state.chunksDone, closed: state.closed, failed: state.failed, state: state.state });
    if (next) await enqueueChunk(this.queue!, next, this.config.jobRetentionSeconds);
  }

  private async onFailed(job: Job<ChunkJobData> | undefined, error: Error): Promise<void> {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    this.logger.error(`job ${job.data.jobId} chunk ${job.data.chunk} failed for good: ${error.message}`);
    await this.runner.fail(job.data, error.message).catch((e) => this.logger.error(`recording the failure: ${e.message}`));
  }

  private async reconcile(): Promise<void> {
    try {
      for (const { tenant, jobId, chunksDone } of await this.jobs.unfinished()) {
        await enqueueChunk(this.queue!, { tenant, jobId, chunk: chunksDone + 1 }, this.config.jobRetentionSeconds);
      }
    } catch (error) {
      this.logger.warn(`reconcile: ${(error as Error).message}`);
    }
  }

  /** Graceful shutdown: stop taking chunks, finish the one in hand, then close. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.reconciler);
    await this.worker?.close();
    await this.queue?.close();
  }
}
