import {
  decideFileAccess,
  decideLease,
  decideShareDelete,
  decideShareLease,
  decideSnapshotsDelete,
  DomainError,
  FileAccess,
  isLeaseError,
  isShareLeaseRejection,
  LeaseCommand,
  LeaseDecision,
  LeaseState,
  ShareLeaseDecision,
  ShareLeaseRejection,
  ShareLeaseState,
  viewShareLease,
} from '@leasehold/domain';
import { azureErrorOf } from './domain-errors';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const X = '99999999-9999-4999-8999-999999999999';
const available: LeaseState = { status: 'available', epoch: 5 };
const leasedA: LeaseState = { status: 'leased', leaseId: A, epoch: 5 };

function answer(decision: LeaseDecision) {
  if (!isLeaseError(decision)) throw new Error('expected a refusal');
  const { status, code, message } = azureErrorOf(new DomainError(decision.error));
  return { status, code, message };
}

describe('lease errors carry Azure status and message', () => {
  test.each<[string, LeaseCommand, LeaseState, string, number, string]>([
    [
      'Acquire, no proposed id on Leased(A)',
      { action: 'acquire', generatedLeaseId: X },
      leasedA,
      'LeaseAlreadyPresent',
      409,
      'There is already a lease present.',
    ],
    [
      'Break on Available',
      { action: 'break' },
      available,
      'LeaseNotPresentWithLeaseOperation',
      409,
      'There is currently no lease on the file.',
    ],
    [
      'Release (B) on Leased(A)',
      { action: 'release', leaseId: B },
      leasedA,
      'LeaseIdMismatchWithLeaseOperation',
      409,
      'The lease ID specified did not match the lease ID for the file.',
    ],
  ])('%s', (_label, command, state, code, status, message) => {
    expect(answer(decideLease(command, state))).toEqual({ status, code, message });
  });
});

describe('file access errors carry Azure status and message', () => {
  test.each<[string, FileAccess, LeaseState, number, string]>([
    [
      'Write, no lease on Leased(A)',
      { kind: 'write' },
      leasedA,
      412,
      'There is currently a lease on the file and no lease ID was specified in the request.',
    ],
    [
      'Read using (A) on Available',
      { kind: 'read', leaseId: A },
      available,
      412,
      'There is currently no lease on the file.',
    ],
    // The outcome table wins over the 412 Azure's wire has been seen to return.
    [
      'Write using (B) on Leased(A)',
      { kind: 'write', leaseId: B },
      leasedA,
      409,
      'The lease ID specified did not match the lease ID for the file.',
    ],
  ])('%s', (_label, access, state, status, message) => {
    expect(answer(decideFileAccess(access, state))).toMatchObject({ status, message });
  });
});

describe('share lease refusals carry Azure status and message, worded for the file share', () => {
  const T0 = Date.parse('2026-03-01T14:00:00.000Z');
  const leased: ShareLeaseState = { status: 'leased', leaseId: A, epoch: 1, duration: -1 };
  const breaking: ShareLeaseState = { status: 'broken', leaseId: A, epoch: 2, brokenAt: T0 + 10_000 };
  const say = (rejection: ShareLeaseDecision | ShareLeaseRejection | undefined) => {
    if (!rejection || !isShareLeaseRejection(rejection)) throw new Error('expected a refusal');
    const { status, code, message } = azureErrorOf(new DomainError(rejection.reason, rejection.facts));
    return { status, code, message };
  };
  test.each<[string, ShareLeaseDecision | ShareLeaseRejection | undefined, number, string, string]>([
    [
      'Acquire (B) on Leased(A)',
      decideShareLease({ action: 'acquire', duration: 15, proposedLeaseId: B, generatedLeaseId: X }, leased, T0),
      409,
      'LeaseAlreadyPresent',
      'There is already a lease present.',
    ],
    [
      'Break on Available',
      decideShareLease({ action: 'break' }, { status: 'available', epoch: 0 }, T0),
      409,
      'LeaseNotPresentWithLeaseOperation',
      'There is currently no lease on the file share.',
    ],
    [
      'Release (B) on Leased(A)',
      decideShareLease({ action: 'release', leaseId: B }, leased, T0),
      409,
      'LeaseIdMismatchWithLeaseOperation',
      'The lease ID specified did not match the lease ID for the file share.',
    ],
    [
      'Acquire (A) on Breaking(A)',
      decideShareLease({ action: 'acquire', duration: 15, proposedLeaseId: A, generatedLeaseId: X }, breaking, T0),
      409,
      'LeaseIsBreakingAndCannotBeAcquired',
      'The lease ID matched, but the lease is currently in breaking state and cannot be acquired until it is broken.',
    ],
    [
      'Change (A) on Breaking(A)',
      decideShareLease({ action: 'change', leaseId: A, proposedLeaseId: B }, breaking, T0),
      409,
      'LeaseIsBreakingAndCannotBeChanged',
      'The lease ID matched, but the lease is currently in breaking state and cannot be changed.',
    ],
    [
      'Renew (A) on Broken(A)',
      decideShareLease({ action: 'renew', leaseId: A }, breaking, T0 + 10_000),
      409,
      'LeaseIsBrokenAndCannotBeRenewed',
      'The lease ID matched, but the lease has been broken explicitly and cannot be renewed.',
    ],
    [
      'Delete Share of Leased(A), no id',
      decideShareDelete(viewShareLease(leased, T0), undefined),
      412,
      'LeaseIdMissing',
      'There is currently a lease on the file share and no lease ID was specified in the request.',
    ],
    [
      'Delete Share of Leased(A) with (B)',
      decideShareDelete(viewShareLease(leased, T0), B),
      412,
      'LeaseIdMismatchWithShareOperation',
      'The lease ID specified did not match the lease ID for the file share.',
    ],
    [
      'Delete Share with snapshots (include) while one is Leased(A)',
      decideSnapshotsDelete([viewShareLease(leased, T0)], 'include'),
      409,
      'DeleteShareWhenSnapshotLeased',
      'Unable to delete share because one or more share snapshots have active leases.',
    ],
    [
      'Delete Share of Available with (A)',
      decideShareDelete(viewShareLease({ status: 'available', epoch: 0 }, T0), A),
      412,
      'LeaseNotPresentWithShareOperation',
      'There is currently no lease on the file share.',
    ],
  ])('%s', (_label, rejection, status, code, message) => {
    expect(say(rejection)).toEqual({ status, code, message });
  });
});
