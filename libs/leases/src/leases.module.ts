import { Module } from '@nestjs/common';
import { FilesystemModule } from '@leasehold/filesystem';
import { LeaseFileHandler } from './lease-file.command';
import { LeaseReplay } from './lease-replay';

@Module({
  imports: [FilesystemModule],
  providers: [LeaseFileHandler, LeaseReplay],
})
export class LeasesModule {}
