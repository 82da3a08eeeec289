import { DynamicModule, Global, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AccountsModule, AccountsService } from '@leasehold/accounts';
import { AuditModule } from '@leasehold/audit';
import { ConfigModule, LeaseholdConfig } from '@leasehold/config';
import { EventStoreModule } from '@leasehold/event-store';
import { FileServiceRepository, FilesystemModule, OPEN_HANDLES, ShareRepository } from '@leasehold/filesystem';
import { HandleRepository, HandlesModule } from '@leasehold/handles';
import { JobsModule } from '@leasehold/jobs';
import { LeasesModule } from '@leasehold/leases';
import { DatabaseHealth, ObservabilityModule, RedisHealth } from '@leasehold/observability';
import { WatchModule } from '@leasehold/watch';
import { ACCOUNT_KEY_LOOKUP, CORS_RULES_LOOKUP, STORED_POLICY_LOOKUP, WireModule } from '@leasehold/wire';
import { AdminController } from './admin.controller';
import { AuditOperations } from './operations/audit/audit.operations';
import { DirectoryOperations } from './operations/filesystem/directory.operations';
import { FileServiceOperations } from './operations/filesystem/file-service.operations';
import { FileOperations } from './operations/filesystem/file.operations';
import { RenameOperations } from './operations/filesystem/rename.operations';
import { ShareOperations } from './operations/filesystem/share.operations';
import { HandleOperations } from './operations/handles/handle.operations';
import { JobOperations } from './operations/jobs/job.operations';
import { LeaseOperations, ShareLeaseOperations } from './operations/leases/lease.operations';
import { WatchOperations } from './operations/watch/watch.operations';

/** Binds the ports libraries declare to the capabilities that answer them. */
@Global()
@Module({
  imports: [HandlesModule, FilesystemModule],
  providers: [
    { provide: ACCOUNT_KEY_LOOKUP, useExisting: AccountsService },
    { provide: OPEN_HANDLES, useExisting: HandleRepository },
    // The wire reads a share's stored access policies (SAS with si) and the account's CORS rules.
    { provide: STORED_POLICY_LOOKUP, useExisting: ShareRepository },
    { provide: CORS_RULES_LOOKUP, useExisting: FileServiceRepository },
  ],
  exports: [ACCOUNT_KEY_LOOKUP, OPEN_HANDLES, STORED_POLICY_LOOKUP, CORS_RULES_LOOKUP],
})
class PortsModule {}

/** The API is ready with PostgreSQL at the current schema; without Redis it is degraded (leases work, jobs cannot be queued). */
const readiness = ObservabilityModule.forRoot({
  inject: [DatabaseHealth, RedisHealth],
  useFactory: (db: DatabaseHealth, redis: RedisHealth) => [
    () => db.reachable(),
    () => db.migrations(),
    () => redis.degradedWithout(),
  ],
});

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
        readiness,
        WatchModule,
      ],
      controllers: [AdminController],
      providers: [
        FileServiceOperations,
        ShareOperations,
        DirectoryOperations,
        FileOperations,
        LeaseOperations,
        ShareLeaseOperations,
        RenameOperations,
        HandleOperations,
        JobOperations,
        AuditOperations,
        WatchOperations,
      ],
    };
  }
}
