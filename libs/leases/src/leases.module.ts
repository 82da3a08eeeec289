import { Module } from '@nestjs/common';
import { FilesystemModule, ShareLeaseRepository } from '@leasehold/filesystem';
import { LeaseFileHandler } from './lease-file.command';
import { LeaseReplay } from './lease-replay';
import { LeaseShareHandler } from './lease-share.command';
import { ShareLeaseSweeper } from './share-lease.sweeper';

@Module({
  imports: [FilesystemModule],
  providers: [LeaseFileHandler, LeaseShareHandler, LeaseReplay],
})
export class LeasesModule {}

/** The worker's part: records lapsed share leases. Needs only the event store. */
@Module({
  providers: [ShareLeaseRepository, ShareLeaseSweeper],
})
export class ShareLeaseSweeperModule {}
