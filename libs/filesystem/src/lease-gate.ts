import {
  decideFileAccess,
  DomainError,
  FileAccess,
  isLeaseError,
  LeaseDecision,
  LeaseEvent,
  LeaseState,
} from '@leasehold/domain';

/** The decision's events, or the domain error for a refused one. */
export function orThrow<T extends LeaseDecision>(decision: T): Exclude<T, { error: string }> {
  if (isLeaseError(decision)) throw new DomainError(decision.error);
  return decision as Exclude<T, { error: string }>;
}

/**
 * The outcomes-of-use-attempts table: may this read or write go ahead under the file's lease?
 * Returns the lease events the access causes (a lease-less write clears a broken lease).
 */
export function gateAccess(lease: LeaseState, access: FileAccess): LeaseEvent[] {
  return orThrow(decideFileAccess(access, lease)).events;
}
