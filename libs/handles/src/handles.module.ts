import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { FilesystemModule } from '@leasehold/filesystem';
import { CloseHandleHandler, ForceCloseHandlesHandler, OpenHandleHandler } from './handle.commands';
import { HandleOperations } from './handle.operations';
import { HandleRepository } from './handle.repository';

/** The handle registry, List Handles and Force Close Handles. */
@Module({
  imports: [CqrsModule, FilesystemModule],
  providers: [HandleRepository, HandleOperations, OpenHandleHandler, CloseHandleHandler, ForceCloseHandlesHandler],
  exports: [HandleRepository],
})
export class HandlesModule {}
