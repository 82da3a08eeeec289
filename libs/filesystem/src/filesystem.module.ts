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
  ListDirectoryHandler,
  NodeHandler,
  ShareHandler,
} from './filesystem.queries';
import { NodeRepository } from './nodes/node.repository';
import { NodeWriter } from './nodes/node.writer';
import { RecentNodes } from './nodes/recent-nodes';
import { CreateShareHandler, DeleteShareHandler } from './shares/share.commands';

/**
 * Shares, directories and files: the namespace that leases and handles attach to. It needs the
 * OPEN_HANDLES port (ports.ts) bound by the application.
 */
@Module({
  providers: [
    NodeRepository,
    NodeWriter,
    RecentNodes,
    CreateShareHandler,
    DeleteShareHandler,
    CreateDirectoryHandler,
    SetDirectoryMetadataHandler,
    DeleteDirectoryHandler,
    WriteFileHandler,
    ShareHandler,
    NodeHandler,
    DirectoryHandler,
    ListDirectoryHandler,
    FileContentHandler,
  ],
  exports: [NodeRepository, NodeWriter, RecentNodes],
})
export class FilesystemModule {}
