export * from './metrics';
export * from './logging';
export * from './health';
export * from './http';
export * from './shutdown';
export * from './wait-for-ready';
