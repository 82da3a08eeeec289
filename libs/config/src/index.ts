export * from './config';
export * from './config.module';
export * from './preflight';
export * from './node-args';
