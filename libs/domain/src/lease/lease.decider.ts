// Decider for the lease of one file: the "outcomes of lease operations" table of docs/lease-file.md, cell by cell.
// Pure: ids (and time, if ever needed) come in through the command.
import { leaseError } from './lease.errors';
import { LeaseCommand, LeaseDecision, LeaseEvent, LeaseState } from './lease.types';

export const initialLeaseState: LeaseState = { status: 'available', epoch: 0 };

export function decideLease(command: LeaseCommand, state: LeaseState): LeaseDecision {
  switch (command.action) {
    case 'acquire':
      return acquire(command, state);
    case 'change':
      return change(command, state);
    case 'release':
      return release(command, state);
    case 'break':
      return breakLease(state);
  }
}

function acquire(
  { proposedLeaseId, generatedLeaseId }: Extract<LeaseCommand, { action: 'acquire' }>,
  state: LeaseState,
): LeaseDecision {
  if (state.status === 'leased') {
    // Re-acquiring with the active id is idempotent; anything else (including no id) conflicts.
    return proposedLeaseId === state.leaseId
      ? { events: [], leaseId: state.leaseId }
      : leaseError('LeaseAlreadyPresent');
  }
  // From Available or Broken a new holder is installed, even when Broken(A) is re-acquired with A:
  // the epoch must fence off whatever happened while the lease was broken.
  const leaseId = proposedLeaseId ?? generatedLeaseId;
  return {
    events: [{ type: 'LeaseAcquired', data: { leaseId, epoch: state.epoch + 1, previousState: state.status } }],
    leaseId,
  };
}

function change(
  { leaseId, proposedLeaseId }: Extract<LeaseCommand, { action: 'change' }>,
  state: LeaseState,
): LeaseDecision {
  // Broken: a broken lease is not active, so there is no lease to change. Of our six codes this is
  // the closest to the blob service's LeaseIsBrokenAndCannotBeChanged; a mismatch code would be wrong
  // for Change A→B, where the id does match.
  if (state.status !== 'leased') return leaseError('LeaseNotPresentWithLeaseOperation');
  // Change B→A on Leased(A) succeeds: the proposed id is already the active one, so the change is a
  // no-op whatever id was sent as current.
  if (proposedLeaseId === state.leaseId) return { events: [], leaseId: state.leaseId };
  if (leaseId !== state.leaseId) return leaseError('LeaseIdMismatchWithLeaseOperation');
  return {
    events: [
      { type: 'LeaseChanged', data: { fromLeaseId: leaseId, toLeaseId: proposedLeaseId, epoch: state.epoch + 1 } },
    ],
    leaseId: proposedLeaseId,
  };
}

function release({ leaseId }: Extract<LeaseCommand, { action: 'release' }>, state: LeaseState): LeaseDecision {
  if (state.status === 'available') return leaseError('LeaseNotPresentWithLeaseOperation');
  if (leaseId !== state.leaseId) return leaseError('LeaseIdMismatchWithLeaseOperation');
  return { events: [{ type: 'LeaseReleased', data: { leaseId, fromState: state.status } }] };
}

function breakLease(state: LeaseState): LeaseDecision {
  if (state.status === 'available') return leaseError('LeaseNotPresentWithLeaseOperation');
  // Breaking a broken lease is an idempotent success.
  if (state.status === 'broken') return { events: [], leaseId: state.leaseId };
  return {
    events: [{ type: 'LeaseBroken', data: { leaseId: state.leaseId, epoch: state.epoch + 1 } }],
    leaseId: state.leaseId,
  };
}

export function evolveLease(state: LeaseState, event: LeaseEvent): LeaseState {
  switch (event.type) {
    case 'LeaseAcquired':
      return { status: 'leased', leaseId: event.data.leaseId, epoch: event.data.epoch };
    case 'LeaseChanged':
      return { status: 'leased', leaseId: event.data.toLeaseId, epoch: event.data.epoch };
    case 'LeaseBroken':
      return { status: 'broken', leaseId: event.data.leaseId, epoch: event.data.epoch };
    case 'LeaseReleased':
    case 'BrokenLeaseCleared':
      return { status: 'available', epoch: state.epoch };
  }
}
