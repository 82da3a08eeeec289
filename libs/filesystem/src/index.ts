export * from './filesystem.module';
export * from './nodes/node.repository';
export * from './nodes/node.writer';
export * from './nodes/recent-nodes';
export * from './lease-gate';
export * from './wire-format';
export { shareRow } from './shares/share.commands';
