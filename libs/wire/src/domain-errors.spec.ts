import {
  decideFileAccess,
  decideLease,
  DomainError,
  FileAccess,
  isLeaseError,
  LeaseCommand,
  LeaseDecision,
  LeaseState,
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
