export * from './leases.module';
export * from './lease-file.command';
