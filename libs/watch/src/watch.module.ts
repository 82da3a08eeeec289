import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { EventStore } from '@leasehold/event-store';
import { WatchFeed } from './watch-feed';

/** The API process's one watch feed; it starts with the first watch and stops with the process. */
@Module({
  providers: [
    {
      provide: WatchFeed,
      inject: [EventStore, LEASEHOLD_CONFIG],
      useFactory: (store: EventStore, config: LeaseholdConfig) =>
        new WatchFeed(store, { databaseUrl: config.databaseUrl, bufferEvents: config.watchBufferEvents, limitPerTenant: config.watchLimitPerTenant }),
    },
  ],
  exports: [WatchFeed],
})
export class WatchModule implements OnApplicationShutdown {
  constructor(@Inject(WatchFeed) private readonly feed: WatchFeed) {}

  async onApplicationShutdown(): Promise<void> {
    await this.feed.stop();
  }
}
