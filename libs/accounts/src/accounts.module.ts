import { Global, Module } from '@nestjs/common';
import { ACCOUNT_KEY_LOOKUP } from '@leasehold/wire';
import { AccountsService } from './accounts.service';

@Global()
@Module({
  providers: [AccountsService, { provide: ACCOUNT_KEY_LOOKUP, useExisting: AccountsService }],
  exports: [AccountsService, ACCOUNT_KEY_LOOKUP],
})
export class AccountsModule {}
