export * from './filesystem.module';
export * from './nodes/node.repository';
export * from './nodes/node.writer';
export * from './nodes/recent-nodes';
export * from './lease-gate';
export * from './ports';
export * from './shares/share.events';
export * from './service/file-service.events';
export { ReadShare, ShareRepository } from './shares/share.repository';
export { FileServiceRepository } from './service/file-service.repository';
export { ChangeShareCommand, CreateShareCommand, DeleteShareCommand, ShareChange } from './shares/share.commands';
export { SetFileServicePropertiesCommand } from './service/file-service.commands';
export {
  CreateDirectoryCommand,
  DeleteDirectoryCommand,
  SetDirectoryMetadataCommand,
} from './directories/directory.commands';
export { FileWrite, WriteFileCommand } from './files/file.commands';
export { RenameCommand, RenameOptions } from './rename/rename.command';
export * from './filesystem.queries';
export {
  CreateShareSnapshotCommand,
  DeleteShareSnapshotCommand,
  MAX_SHARE_SNAPSHOTS,
} from './snapshots/snapshot.commands';
export { SnapshotView } from './snapshots/snapshot.repository';
export * from './shares/share-lease.repository';
