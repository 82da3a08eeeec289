import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, LeaseholdConfig } from '@leasehold/config';
import { EventStoreModule } from '@leasehold/event-store';

/**
 * The background process: it holds the connections the queued force-close jobs and the
 * asynchronous projections run on. Their processors are registered here as they are built.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: LeaseholdConfig): DynamicModule {
    return { module: WorkerModule, imports: [ConfigModule.forRoot(config), EventStoreModule] };
  }
}
