import { DynamicModule, Global, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AccountsModule, AccountsService } from '@leasehold/accounts';
import { AuditModule } from '@leasehold/audit';
import { ConfigModule, LeaseholdConfig } from '@leasehold/config';
import { EventStoreModule } from '@leasehold/event-store';
import { FilesystemModule, OPEN_HANDLES } from '@leasehold/filesystem';
import { HandleRepository, HandlesModule } from '@leasehold/handles';
import { JobsModule } from '@leasehold/jobs';
import { LeasesModule } from '@leasehold/leases';
import { ACCOUNT_KEY_LOOKUP, WireModule } from '@leasehold/wire';
import { AdminController } from './admin.controller';
import { AuditOperations } from './operations/audit/audit.operations';
import { DirectoryOperations } from './operations/filesystem/directory.operations';
import { FileOperations } from './operations/filesystem/file.operations';
import { ShareOperations } from './operations/filesystem/share.operations';
import { HandleOperations } from './operations/handles/handle.operations';
import { JobOperations } from './operations/jobs/job.operations';
import { LeaseOperations } from './operations/leases/lease.operations';

/** Binds the ports libraries declare to the capabilities that answer them. */
@Global()
@Module({
  imports: [HandlesModule],
  providers: [
    { provide: ACCOUNT_KEY_LOOKUP, useExisting: AccountsService },
    { provide: OPEN_HANDLES, useExisting: HandleRepository },
  ],
  exports: [ACCOUNT_KEY_LOOKUP, OPEN_HANDLES],
})
class PortsModule {}

/** The HTTP service: the Azure Files operations (operations/, one folder per capability) in front of one module per capability. */
@Module({})
export class ApiModule {
  static forRoot(config: LeaseholdConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        CqrsModule.forRoot(),
        EventStoreModule,
        AccountsModule,
        PortsModule,
        WireModule,
        FilesystemModule,
        LeasesModule,
        HandlesModule,
        JobsModule,
        AuditModule,
      ],
      controllers: [AdminController],
      providers: [
        ShareOperations,
        DirectoryOperations,
        FileOperations,
        LeaseOperations,
        HandleOperations,
        JobOperations,
        AuditOperations,
      ],
    };
  }
}
