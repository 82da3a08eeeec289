import { Injectable, OnModuleInit } from '@nestjs/common';
import { AuditProjectorService } from '@leasehold/audit';
import { HandleRepository } from '@leasehold/handles';
import { ForceCloseWorker, JobRepository } from '@leasehold/jobs';
import {
  jobsByState,
  openHandles,
  projectorLagEvents,
  projectorLagSeconds,
  queueDepth,
} from '@leasehold/observability';

/**
 * The gauges that describe the whole deployment rather than one process (open handles, jobs,
 * queue depth, audit lag) are read by the worker when it is scraped, so they are counted once.
 */
@Injectable()
export class WorkerMetrics implements OnModuleInit {
  constructor(
    private readonly handles: HandleRepository,
    private readonly jobs: JobRepository,
    private readonly worker: ForceCloseWorker,
    private readonly projector: AuditProjectorService,
  ) {}

  onModuleInit(): void {
    openHandles.source = async () => [{ labels: {}, value: await this.handles.countAll() }];
    jobsByState.source = async () =>
      (await this.jobs.countByState()).map(({ state, count }) => ({ labels: { state }, value: count }));
    queueDepth.source = async () =>
      Object.entries(await this.worker.queueCounts()).map(([state, value]) => ({ labels: { state }, value }));
    const lag = () => this.projector.lag();
    projectorLagEvents.source = async () => [{ labels: {}, value: (await lag()).behind }];
    projectorLagSeconds.source = async () => [{ labels: {}, value: (await lag()).ageSeconds }];
  }
}
