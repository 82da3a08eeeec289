import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { FilesystemModule } from '@leasehold/filesystem';
import { LeaseFileHandler } from './lease-file.command';
import { LeaseOperations } from './lease.operations';

@Module({
  imports: [CqrsModule, FilesystemModule],
  providers: [LeaseOperations, LeaseFileHandler],
})
export class LeasesModule {}
