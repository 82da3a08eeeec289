import { Module } from '@nestjs/common';
import {
  CreateDirectoryHandler,
  DeleteDirectoryHandler,
  SetDirectoryMetadataHandler,
} from './directories/directory.commands';
import { WriteFileHandler } from './files/file.commands';
import {
  DirectoryHandler,
  FileContentHandler,
  FileServicePropertiesHandler,
  FileRangesHandler,
  FileRangeDiffHandler,
  ListDirectoryHandler,
  LocateHandler,
  ListSharesHandler,
  NodeHandler,
  ShareHandler,
  ShareSnapshotHandler,
  ShareUsageHandler,
} from './filesystem.queries';
import { NodeRepository } from './nodes/node.repository';
import { NodeWriter } from './nodes/node.writer';
import { RecentNodes } from './nodes/recent-nodes';
import { SetFileServicePropertiesHandler } from './service/file-service.commands';
import { FileServiceRepository } from './service/file-service.repository';
import { RenameHandler } from './rename/rename.command';
import { ShareLeaseRepository } from './shares/share-lease.repository';
import { ChangeShareHandler, CreateShareHandler, DeleteShareHandler } from './shares/share.commands';
import { ShareRepository } from './shares/share.repository';
import { CreateShareSnapshotHandler, DeleteShareSnapshotHandler } from './snapshots/snapshot.commands';
import { SnapshotRepository } from './snapshots/snapshot.repository';

/**
 * Shares, directories and files: the namespace that leases and handles attach to, and the File
 * service's account-level settings. It needs the OPEN_HANDLES port (ports.ts) bound by the
 * application; the application binds the wire's stored-policy and CORS lookups to its
 * ShareRepository and FileServiceRepository.
 */
@Module({
  providers: [
    NodeRepository,
    ShareLeaseRepository,
    NodeWriter,
    RecentNodes,
    ShareRepository,
    FileServiceRepository,
    SnapshotRepository,
    CreateShareSnapshotHandler,
    DeleteShareSnapshotHandler,
    ShareSnapshotHandler,
    CreateShareHandler,
    ChangeShareHandler,
    DeleteShareHandler,
    SetFileServicePropertiesHandler,
    CreateDirectoryHandler,
    SetDirectoryMetadataHandler,
    DeleteDirectoryHandler,
    WriteFileHandler,
    RenameHandler,
    ShareHandler,
    ListSharesHandler,
    ShareUsageHandler,
    FileServicePropertiesHandler,
    NodeHandler,
    DirectoryHandler,
    LocateHandler,
    ListDirectoryHandler,
    FileContentHandler,
    FileRangesHandler,
    FileRangeDiffHandler,
  ],
  exports: [NodeRepository, ShareLeaseRepository, NodeWriter, RecentNodes, ShareRepository, FileServiceRepository],
})
export class FilesystemModule {}
