export * from './event-store.types';
export * from './errors';
export * from './availability';
export * from './event-store';
export * from './database';
export * from './event-store.module';
export * from './retry';
export * from './batcher';
