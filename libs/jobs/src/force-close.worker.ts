import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { ForceCloseJob, isTerminal } from '@leasehold/domain';
import { Job, Queue, Worker } from 'bullmq';
import { hostname } from 'node:os';
import { ForceCloseRunner } from './force-close-runner';
import { JobRepository } from './job.repository';
import { ChunkJobData, chunkJobId, closeQueue, enqueueChunk, FORCE_CLOSE_QUEUE, queueOptions } from './queue';

/** How often the worker makes sure every unfinished job in PostgreSQL has its next chunk queued. */
const RECONCILE_MS = 15_000;

/**
 * The BullMQ side of queued force-close: a queue entry runs a chunk (and those after it, for up to
 * JOB_DELIVERY_MS). PostgreSQL is the truth; Redis only says what to do next, so the reconciler can
 * always rebuild the queue from the jobs table (after a Redis restart, or an enqueue that failed
 * after its chunk committed).
 */
@Injectable()
export class ForceCloseWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ForceCloseWorker');
  private worker?: Worker<ChunkJobData>;
  private queue?: Queue<ChunkJobData>;
  private reconciler?: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly runner: ForceCloseRunner,
    private readonly jobs: JobRepository,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.queue = new Queue<ChunkJobData>(FORCE_CLOSE_QUEUE, queueOptions(this.config));
    this.worker = new Worker<ChunkJobData>(FORCE_CLOSE_QUEUE, (job) => this.process(job), {
      ...queueOptions(this.config),
      // Recorded on every queue entry it runs (processedBy): which process ran which chunk.
      name: `${hostname()}/${process.pid}`,
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

  /**
   * Runs the entry's chunk, then the job's next ones while this delivery recorded the last one
   * itself (a chunk someone else recorded means another delivery has the job in hand) and its time
   * (JOB_DELIVERY_MS) is not up; then queues the next chunk, as every entry ends.
   */
  private async process(entry: Job<ChunkJobData>): Promise<void> {
    const until = Date.now() + this.config.jobDeliveryMs;
    let data = entry.data;
    let known: ForceCloseJob | undefined;
    for (;;) {
      const { next, job, recorded } = await this.runner.runChunk(data, known);
      if (job) await entry.updateProgress({ chunksDone: job.chunksDone, closed: job.closed, state: job.state });
      if (!next) return;
      if (!recorded || this.closing || Date.now() >= until) {
        return enqueueChunk(this.queue!, next, this.config.jobRetentionSeconds);
      }
      [data, known] = [next, job];
    }
  }

  private async onFailed(job: Job<ChunkJobData> | undefined, error: Error): Promise<void> {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    this.logger.error(`job ${job.data.jobId} chunk ${job.data.chunk} failed for good: ${error.message}`);
    await this.runner
      .fail(job.data, error.message)
      .catch((e: unknown) => this.logger.error(`recording the failure: ${e instanceof Error ? e.message : String(e)}`));
  }

  private async reconcile(): Promise<void> {
    try {
      // A job whose entry is running (in any worker) is in hand: that delivery queues its successor.
      const inHand = new Set((await this.queue!.getActive()).map((entry) => entry.data.jobId));
      for (const { tenant, jobId, chunksDone } of await this.jobs.unfinished()) {
        if (inHand.has(jobId)) continue;
        const data = { tenant, jobId, chunk: chunksDone + 1 };
        // An entry that ended without its chunk recorded would block re-adding its id until
        // retention removes it: remove it first. An entry ends after its chunk commits, so reading
        // the job again tells an entry that ended empty-handed from one that committed after the
        // list above was read (that one has queued its successor; leave it).
        const ended = await this.queue!.getJob(chunkJobId(data));
        if (ended && ((await ended.isCompleted()) || (await ended.isFailed()))) {
          const now = await this.jobs.find(tenant, jobId);
          if (!now || isTerminal(now.state) || now.chunksDone >= data.chunk) continue;
          await ended.remove();
        }
        await enqueueChunk(this.queue!, data, this.config.jobRetentionSeconds);
      }
    } catch (error) {
      this.logger.warn(`reconcile: ${(error as Error).message}`);
    }
  }

  /** The worker consumes the queue: its blocking connection to Redis is up. */
  async queueConnected(): Promise<boolean> {
    if (!this.worker?.isRunning()) return false;
    return (await this.worker.client).status === 'ready';
  }

  /** Queue entries (chunks) by BullMQ state. */
  async queueCounts(): Promise<Record<string, number>> {
    return this.queue!.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
  }

  /** Graceful shutdown: stop taking chunks, finish the one in hand, then close. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.reconciler);
    this.closing = true;
    if (this.worker) await closeQueue(this.worker);
    if (this.queue) await closeQueue(this.queue);
  }
}
