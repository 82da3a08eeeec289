export * from './guid';
export * from './names';
export * from './lease';
export * from './filesystem/node';
