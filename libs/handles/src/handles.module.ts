import { Module } from '@nestjs/common';
import { FilesystemModule } from '@leasehold/filesystem';
import { CloseHandleHandler, ForceCloseHandlesHandler, OpenHandleHandler } from './handle.commands';
import { HandleScopeHandler, ListHandlesHandler } from './handle.queries';
import { HandleRepository } from './handle.repository';

/** The handle registry, List Handles and Force Close Handles. HandleRepository implements the namespace's OPEN_HANDLES port. */
@Module({
  imports: [FilesystemModule],
  providers: [
    HandleRepository,
    OpenHandleHandler,
    CloseHandleHandler,
    ForceCloseHandlesHandler,
    HandleScopeHandler,
    ListHandlesHandler,
  ],
  exports: [HandleRepository],
})
export class HandlesModule {}
