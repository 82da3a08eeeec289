export * from './guid';
export * from './names';
export * from './lease';
export * from './filesystem/node';
export * from './filesystem/ranges';
export * from './jobs/force-close-job';
export * from './errors';
export * from './command-context';
