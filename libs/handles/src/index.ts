export * from './handles.module';
export * from './handle.events';
export * from './handle.repository';
export { CloseHandleCommand, ForceCloseHandlesCommand, OpenedHandle, OpenHandleCommand } from './handle.commands';
export * from './handle.queries';
export * from './markers';
