import { Module } from '@nestjs/common';
import { FilesystemModule } from '@leasehold/filesystem';
import { LeaseFileHandler } from './lease-file.command';

@Module({
  imports: [FilesystemModule],
  providers: [LeaseFileHandler],
})
export class LeasesModule {}
