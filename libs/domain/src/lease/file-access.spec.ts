import { decideFileAccess, FileAccess } from './file-access';
import { evolveLease } from './lease.decider';
import { isLeaseError } from './lease.errors';
import { LeaseErrorCode, LeaseState } from './lease.types';

const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';

const available: LeaseState = { status: 'available', epoch: 3 };
const leasedA: LeaseState = { status: 'leased', leaseId: A, epoch: 3 };
const brokenA: LeaseState = { status: 'broken', leaseId: A, epoch: 3 };
const columns = [
  ['Available', available],
  ['Leased(A)', leasedA],
  ['Broken(A)', brokenA],
] as const;

type Outcome = { label: string; state: LeaseState } | { error: LeaseErrorCode; status: 409 | 412 };
const ok = (label: string, state: LeaseState): Outcome => ({ label, state });
const fails = (status: 409 | 412, error: LeaseErrorCode): Outcome => ({ error, status });

// One row per line of the "Outcomes of use attempts" table of docs/lease-file.md, one outcome per column.
const rows: Array<[string, FileAccess, [Outcome, Outcome, Outcome]]> = [
  [
    'Write using (A)',
    { kind: 'write', leaseId: A },
    [
      fails(412, 'LeaseNotPresentWithFileOperation'),
      ok('Leased(A)', leasedA),
      fails(412, 'LeaseNotPresentWithFileOperation'),
    ],
  ],
  [
    'Write using (B)',
    { kind: 'write', leaseId: B },
    [
      fails(412, 'LeaseNotPresentWithFileOperation'),
      fails(409, 'LeaseIdMismatchWithFileOperation'),
      fails(412, 'LeaseNotPresentWithFileOperation'),
    ],
  ],
  [
    'Write, no lease',
    { kind: 'write' },
    [ok('Available', available), fails(412, 'LeaseIdMissing'), ok('Available', { status: 'available', epoch: 3 })],
  ],
  [
    'Read using (A)',
    { kind: 'read', leaseId: A },
    [
      fails(412, 'LeaseNotPresentWithFileOperation'),
      ok('Leased(A)', leasedA),
      fails(412, 'LeaseNotPresentWithFileOperation'),
    ],
  ],
  [
    'Read using (B)',
    { kind: 'read', leaseId: B },
    [
      fails(412, 'LeaseNotPresentWithFileOperation'),
      fails(409, 'LeaseIdMismatchWithFileOperation'),
      fails(412, 'LeaseNotPresentWithFileOperation'),
    ],
  ],
  [
    'Read, no lease',
    { kind: 'read' },
    [ok('Available', available), ok('Leased(A)', leasedA), ok('Broken(A)', brokenA)],
  ],
];

describe('decideFileAccess: outcomes of use attempts (docs/lease-file.md, one test per cell)', () => {
  const cells = rows.flatMap(([use, access, outcomes]) =>
    columns.map(([column, from], i) => ({ use, access, column, from, outcome: outcomes[i] })),
  );

  for (const { use, access, column, from, outcome } of cells) {
    const result = 'error' in outcome ? `${outcome.status} ${outcome.error}` : `${outcome.label}, succeeds`;

    it(`${use} on ${column} → ${result}`, () => {
      const decision = decideFileAccess(access, from);
      if ('error' in outcome) {
        // The status in the test name is the wire's (libs/wire/src/domain-errors.spec.ts checks each reason's).
        expect(decision).toEqual({ error: outcome.error });
        return;
      }
      if (isLeaseError(decision)) throw new Error(`expected success, got ${decision.error}`);
      expect(decision.events.reduce(evolveLease, from)).toEqual(outcome.state);
      // Only the lease-less write on a broken lease records anything.
      const clearsBrokenLease = access.kind === 'write' && access.leaseId === undefined && from.status === 'broken';
      expect(decision.events).toEqual(
        clearsBrokenLease ? [{ type: 'BrokenLeaseCleared', data: { leaseId: A, by: 'write' } }] : [],
      );
    });
  }
});
