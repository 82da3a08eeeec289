export * from './lease.types';
export { isLeaseError } from './lease.errors';
export { initialLeaseState, decideLease, evolveLease } from './lease.decider';
export * from './file-access';
