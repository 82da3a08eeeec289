import { BeforeApplicationShutdown, Inject, Module } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { EventStore } from '@leasehold/event-store';
import { WatchFeed } from './watch-feed';

/**
 * The API process's one watch feed; it starts with the first watch. It stops before the HTTP server
 * closes: that ends every open watch stream (clients reconnect elsewhere with Last-Event-ID), which
 * the server's close would otherwise wait for.
 */
@Module({
  providers: [
    {
      provide: WatchFeed,
      inject: [EventStore, LEASEHOLD_CONFIG],
      useFactory: (store: EventStore, config: LeaseholdConfig) =>
        new WatchFeed(store, {
          databaseUrl: config.databaseUrl,
          bufferEvents: config.watchBufferEvents,
          limitPerTenant: config.watchLimitPerTenant,
        }),
    },
  ],
  exports: [WatchFeed],
})
export class WatchModule implements BeforeApplicationShutdown {
  constructor(@Inject(WatchFeed) private readonly feed: WatchFeed) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.feed.stop();
  }
}
