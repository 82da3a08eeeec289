import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AuditProjectorModule } from '@leasehold/audit';
import { ConfigModule, LeaseholdConfig } from '@leasehold/config';
import { EventStoreModule } from '@leasehold/event-store';
import { ForceCloseWorker, JobsWorkerModule } from '@leasehold/jobs';
import { ShareLeaseSweeperModule } from '@leasehold/leases';
import { DatabaseHealth, ObservabilityModule } from '@leasehold/observability';
import { HealthIndicatorService } from '@nestjs/terminus';
import { WorkerMetrics } from './worker-metrics';

/** The worker is ready with PostgreSQL at the current schema and its queue connection up. */
const readiness = ObservabilityModule.forRoot({
  imports: [JobsWorkerModule],
  inject: [DatabaseHealth, HealthIndicatorService, ForceCloseWorker],
  useFactory: (db: DatabaseHealth, health: HealthIndicatorService, worker: ForceCloseWorker) => [
    () => db.reachable(),
    () => db.migrations(),
    async () => {
      const indicator = health.check('queue');
      return (await worker.queueConnected())
        ? indicator.up()
        : indicator.down({ message: 'not connected to the Redis queue' });
    },
  ],
});

/**
 * The background process: runs queued force-close jobs chunk by chunk, the audit projector, and
 * records lapsed share leases; serves /_health and /_metrics on WORKER_PORT.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: LeaseholdConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        CqrsModule.forRoot(),
        EventStoreModule,
        JobsWorkerModule,
        AuditProjectorModule,
        ShareLeaseSweeperModule,
        readiness,
      ],
      providers: [WorkerMetrics],
    };
  }
}
