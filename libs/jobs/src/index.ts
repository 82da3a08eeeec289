export * from './jobs.module';
export * from './job.repository';
export * from './job.operations';
export * from './force-close-runner';
export * from './queue';
export * from './job-row';
