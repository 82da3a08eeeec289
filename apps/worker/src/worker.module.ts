import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, LeaseholdConfig } from '@leasehold/config';
import { EventStoreModule } from '@leasehold/event-store';
import { JobsWorkerModule } from '@leasehold/jobs';

/** The background process: runs queued force-close jobs chunk by chunk. */
@Module({})
export class WorkerModule {
  static forRoot(config: LeaseholdConfig): DynamicModule {
    return { module: WorkerModule, imports: [ConfigModule.forRoot(config), EventStoreModule, JobsWorkerModule] };
  }
}
