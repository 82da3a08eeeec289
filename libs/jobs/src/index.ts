export * from './jobs.module';
export * from './job.repository';
export { CancelForceCloseJobCommand, SubmitForceCloseJobCommand } from './job.commands';
export * from './job.queries';
export * from './force-close-runner';
export * from './queue';
export * from './job-row';
export * from './force-close.worker';
