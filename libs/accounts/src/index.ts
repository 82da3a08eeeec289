export * from './accounts.service';
export * from './accounts.module';
export * from './account.events';
export * from './key-cipher';
