import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AuditProjectorModule } from '@leasehold/audit';
import { ConfigModule, LeaseholdConfig } from '@leasehold/config';
import { EventStoreModule } from '@leasehold/event-store';
import { JobsWorkerModule } from '@leasehold/jobs';

/** The background process: runs queued force-close jobs chunk by chunk, and the audit projector. */
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
      ],
    };
  }
}
