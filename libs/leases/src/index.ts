export * from './leases.module';
export * from './lease-file.command';
export * from './lease-share.command';
export * from './share-lease.sweeper';
