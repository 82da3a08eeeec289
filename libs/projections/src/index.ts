export * from './projection-specs';
export * from './rebuild';
