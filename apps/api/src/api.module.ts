import { DynamicModule, Module } from '@nestjs/common';
import { AccountsModule } from '@leasehold/accounts';
import { AuditModule } from '@leasehold/audit';
import { ConfigModule, LeaseholdConfig } from '@leasehold/config';
import { EventStoreModule } from '@leasehold/event-store';
import { FilesystemModule } from '@leasehold/filesystem';
import { HandlesModule } from '@leasehold/handles';
import { JobsModule } from '@leasehold/jobs';
import { LeasesModule } from '@leasehold/leases';
import { WireModule } from '@leasehold/wire';

/** The HTTP service: the Azure Files wire layer in front of one module per capability. */
@Module({})
export class ApiModule {
  static forRoot(config: LeaseholdConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [ConfigModule.forRoot(config), EventStoreModule, AccountsModule, WireModule, FilesystemModule, LeasesModule, HandlesModule, JobsModule, AuditModule],
    };
  }
}
