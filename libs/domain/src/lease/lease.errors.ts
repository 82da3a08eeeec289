import { LeaseError, LeaseErrorCode } from './lease.types';

// Status and message text as the File service returns them (reference azure-files.md §4.4), except
// LeaseIdMismatchWithFileOperation, which the seed's outcome table makes a 409.
const LEASE_ERRORS: Record<LeaseErrorCode, Omit<LeaseError, 'error'>> = {
  LeaseAlreadyPresent: { status: 409, message: 'There is already a lease present.' },
  LeaseNotPresentWithLeaseOperation: { status: 409, message: 'There is currently no lease on the file.' },
  LeaseIdMismatchWithLeaseOperation: {
    status: 409,
    message: 'The lease ID specified did not match the lease ID for the file.',
  },
  LeaseIdMissing: {
    status: 412,
    message: 'There is currently a lease on the file and no lease ID was specified in the request.',
  },
  LeaseNotPresentWithFileOperation: { status: 412, message: 'There is currently no lease on the file.' },
  LeaseIdMismatchWithFileOperation: {
    status: 409,
    message: 'The lease ID specified did not match the lease ID for the file.',
  },
};

export function leaseError(error: LeaseErrorCode): LeaseError {
  return { error, ...LEASE_ERRORS[error] };
}

export function isLeaseError(x: unknown): x is LeaseError {
  return typeof x === 'object' && x !== null && 'error' in x && Object.hasOwn(LEASE_ERRORS, String(x.error));
}
