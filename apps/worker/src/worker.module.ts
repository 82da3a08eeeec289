import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AuditProjectorModule } from '@leasehold/audit';
import { ConfigModule, LeaseholdConfig } from '@leasehold/config';
import { EventStoreModule } from '@leasehold/event-store';
import { JobsWorkerModule } from '@leasehold/jobs';
import { ShareLeaseSweeperModule } from '@leasehold/leases';

/** The background process: runs queued force-close jobs chunk by chunk, the audit projector, and records lapsed share leases. */
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
      ],
    };
  }
}
