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
  FileRangesHandler,
  ListDirectoryHandler,
  LocateHandler,
  NodeHandler,
  ShareHandler,
} from './filesystem.queries';
import { NodeRepository } from './nodes/node.repository';
import { NodeWriter } from './nodes/node.writer';
import { RecentNodes } from './nodes/recent-nodes';
import { RenameHandler } from './rename/rename.command';
import { ShareLeaseRepository } from './shares/share-lease.repository';
import { CreateShareHandler, DeleteShareHandler } from './shares/share.commands';

/**
 * Shares, directories and files: the namespace that leases and handles attach to. It needs the
 * OPEN_HANDLES port (ports.ts) bound by the application.
 */
@Module({
  providers: [
    NodeRepository,
    ShareLeaseRepository,
    NodeWriter,
    RecentNodes,
    CreateShareHandler,
    DeleteShareHandler,
    CreateDirectoryHandler,
    SetDirectoryMetadataHandler,
    DeleteDirectoryHandler,
    WriteFileHandler,
    RenameHandler,
    ShareHandler,
    NodeHandler,
    DirectoryHandler,
    LocateHandler,
    ListDirectoryHandler,
    FileContentHandler,
    FileRangesHandler,
  ],
  exports: [NodeRepository, ShareLeaseRepository, NodeWriter, RecentNodes],
})
export class FilesystemModule {}
