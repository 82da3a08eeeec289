import { Global, Module } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { EventStore } from '@leasehold/event-store';
import { ACCOUNT_KEY_LOOKUP } from '@leasehold/wire';
import { AccountsService } from './accounts.service';
import { AdminController } from './admin.controller';
import { KeyCipher } from './key-cipher';

@Global()
@Module({
  controllers: [AdminController],
  providers: [
    {
      provide: AccountsService,
      inject: [EventStore, LEASEHOLD_CONFIG],
      useFactory: (store: EventStore, config: LeaseholdConfig) => new AccountsService(store, new KeyCipher(config.encryptionKey)),
    },
    { provide: ACCOUNT_KEY_LOOKUP, useExisting: AccountsService },
  ],
  exports: [AccountsService, ACCOUNT_KEY_LOOKUP],
})
export class AccountsModule {}
