import { LeaseError, LeaseErrorCode } from './lease.types';

const LEASE_ERRORS: ReadonlySet<string> = new Set<LeaseErrorCode>([
  'LeaseAlreadyPresent',
  'LeaseNotPresentWithLeaseOperation',
  'LeaseIdMismatchWithLeaseOperation',
  'LeaseIdMissing',
  'LeaseNotPresentWithFileOperation',
  'LeaseIdMismatchWithFileOperation',
]);

export function leaseError(error: LeaseErrorCode): LeaseError {
  return { error };
}

export function isLeaseError(x: unknown): x is LeaseError {
  return typeof x === 'object' && x !== null && 'error' in x && LEASE_ERRORS.has(String(x.error));
}
