export * from './accounts.service';
export * from './accounts.module';
export * from './key-cipher';
