import { Global, Module } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { EventStore } from '@leasehold/event-store';
import { AccountsService } from './accounts.service';
import { KeyCipher } from './key-cipher';

@Global()
@Module({
  providers: [
    {
      provide: AccountsService,
      inject: [EventStore, LEASEHOLD_CONFIG],
      useFactory: (store: EventStore, config: LeaseholdConfig) =>
        new AccountsService(store, new KeyCipher(config.encryptionKey), { production: config.production }),
    },
  ],
  exports: [AccountsService],
})
export class AccountsModule {}
