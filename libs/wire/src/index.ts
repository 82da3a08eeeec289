export * from './errors';
export * from './xml';
export * from './request';
export * from './routing';
export * from './gateway';
export * from './http';
export * from './auth/authenticator';
export * from './wire.module';
