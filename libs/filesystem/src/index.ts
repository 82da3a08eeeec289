export * from './filesystem.module';
export * from './nodes/node.repository';
export * from './nodes/node.writer';
export * from './nodes/recent-nodes';
export * from './lease-gate';
export * from './ports';
export * from './shares/share.events';
export { CreateShareCommand, DeleteShareCommand } from './shares/share.commands';
export {
  CreateDirectoryCommand,
  DeleteDirectoryCommand,
  SetDirectoryMetadataCommand,
} from './directories/directory.commands';
export { FileWrite, WriteFileCommand } from './files/file.commands';
export * from './filesystem.queries';
