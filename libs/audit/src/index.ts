export * from './audit.module';
export * from './audit.repository';
export * from './audit.projection';
export * from './async-projector';
export * from './state-as-of';
export * from './audit.queries';
