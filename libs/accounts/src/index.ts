export * from './accounts.service';
export * from './accounts.module';
