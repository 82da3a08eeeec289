import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { DataSource } from 'typeorm';
import { createDataSource } from './database';
import { EventStore } from './event-store';

/** Provides the PostgreSQL connection pool and the event store to every capability module. */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [LEASEHOLD_CONFIG],
      useFactory: async (config: LeaseholdConfig) => createDataSource(config.databaseUrl).initialize(),
    },
    { provide: EventStore, inject: [DataSource], useFactory: (db: DataSource) => new EventStore(db) },
  ],
  exports: [DataSource, EventStore],
})
export class EventStoreModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.db.isInitialized) await this.db.destroy();
  }
}
