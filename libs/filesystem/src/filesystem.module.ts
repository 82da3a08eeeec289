import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { CreateDirectoryHandler, DeleteDirectoryHandler, SetDirectoryMetadataHandler } from './directories/directory.commands';
import { DirectoryOperations } from './directories/directory.operations';
import { WriteFileHandler } from './files/file.commands';
import { FileOperations } from './files/file.operations';
import { NodeRepository } from './nodes/node.repository';
import { NodeWriter } from './nodes/node.writer';
import { RecentNodes } from './nodes/recent-nodes';
import { CreateShareHandler, DeleteShareHandler } from './shares/share.commands';
import { ShareOperations } from './shares/share.operations';

/** Shares, directories and files: the namespace that leases and handles attach to. */
@Module({
  imports: [CqrsModule],
  providers: [
    NodeRepository,
    NodeWriter,
    RecentNodes,
    ShareOperations,
    CreateShareHandler,
    DeleteShareHandler,
    DirectoryOperations,
    CreateDirectoryHandler,
    SetDirectoryMetadataHandler,
    DeleteDirectoryHandler,
    FileOperations,
    WriteFileHandler,
  ],
  exports: [NodeRepository, NodeWriter, RecentNodes],
})
export class FilesystemModule {}
