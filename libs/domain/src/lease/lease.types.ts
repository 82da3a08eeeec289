// File lease model (Lease File, x-ms-version 2019-02-02+): leases are infinite and a break is
// immediate, so the blob/share states Expired and Breaking never occur.

/**
 * `epoch` is a fencing token: it grows by one whenever a new holder is installed or the lease is
 * broken, and never goes backwards (Available keeps the last value).
 */
export type LeaseState =
  | { status: 'available'; epoch: number }
  | { status: 'leased'; leaseId: string; epoch: number }
  | { status: 'broken'; leaseId: string; epoch: number };

/** Lease ids are canonical lowercase GUIDs, already parsed by the wire layer. */
export type LeaseCommand =
  // generatedLeaseId is used when no id is proposed
  | { action: 'acquire'; proposedLeaseId?: string; generatedLeaseId: string }
  | { action: 'change'; leaseId: string; proposedLeaseId: string }
  | { action: 'release'; leaseId: string }
  | { action: 'break' };

export type LeaseEvent =
  | { type: 'LeaseAcquired'; data: { leaseId: string; epoch: number; previousState: 'available' | 'broken' } }
  | { type: 'LeaseChanged'; data: { fromLeaseId: string; toLeaseId: string; epoch: number } }
  | { type: 'LeaseReleased'; data: { leaseId: string; fromState: 'leased' | 'broken' } }
  | { type: 'LeaseBroken'; data: { leaseId: string; epoch: number } }
  // A write without a lease id on a broken lease makes the file Available.
  | { type: 'BrokenLeaseCleared'; data: { leaseId: string; by: 'write' } };

/** Why a lease action, or a read or write under a lease, is refused: a cell of the outcome tables. */
export type LeaseErrorCode =
  | 'LeaseAlreadyPresent'
  | 'LeaseNotPresentWithLeaseOperation'
  | 'LeaseIdMismatchWithLeaseOperation'
  | 'LeaseIdMissing'
  | 'LeaseNotPresentWithFileOperation'
  | 'LeaseIdMismatchWithFileOperation';

export interface LeaseError {
  error: LeaseErrorCode;
}

/**
 * `leaseId` is the id to return in x-ms-lease-id (acquire, change, break). `events` may be empty for
 * idempotent successes.
 */
export type LeaseDecision = { events: LeaseEvent[]; leaseId?: string } | LeaseError;
