export * from './watch-event';
export * from './watch-feed';
export * from './watch.module';
