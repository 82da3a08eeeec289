export * from './handles.module';
export * from './handle.repository';
export * from './handle.commands';
export * from './handle.operations';
export * from './markers';
