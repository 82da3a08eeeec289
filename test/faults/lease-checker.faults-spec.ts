import { LeaseOutcome, leaseViolations, LoggedEpoch } from '../support/lease-checker';

// The checker the fault tests rely on must itself catch what it is there to catch.
describe('lease history checker', () => {
  const acquire = (requestId: string, epoch: number, start: number, end: number): LeaseOutcome => ({
    file: 'f',
    op: 'acquire',
    status: 201,
    requestId,
    epoch,
    start,
    end,
  });
  const event = (requestId: string, epoch: number, streamVersion: number, type = 'LeaseAcquired'): LoggedEpoch => ({
    file: 'f',
    requestId,
    epoch,
    streamVersion,
    type,
  });

  it('accepts a sequential history', () => {
    const outcomes = [
      acquire('a', 1, 0, 10),
      { ...acquire('b', 2, 20, 30), op: 'break' as const, status: 202 },
      acquire('c', 3, 40, 50),
    ];
    expect(leaseViolations(outcomes, [event('a', 1, 2), event('b', 2, 3, 'LeaseBroken'), event('c', 3, 5)])).toEqual(
      [],
    );
  });

  it('finds an acknowledged acquire missing from the log, and a wrong epoch', () => {
    expect(leaseViolations([acquire('a', 1, 0, 10)], [])).toHaveLength(1);
    expect(leaseViolations([acquire('a', 2, 0, 10)], [event('a', 1, 2)])).toHaveLength(1);
  });

  it('finds epochs that go backwards in the log or in real time', () => {
    expect(leaseViolations([], [event('a', 2, 2), event('b', 2, 3)])).toHaveLength(1);
    expect(
      leaseViolations([acquire('a', 2, 0, 10), acquire('b', 1, 20, 30)], [event('b', 1, 2), event('a', 2, 3)]),
    ).toContain('f: acquire b got epoch 1 after epoch 2 had been answered');
  });

  it('finds a replaced holder still writing', () => {
    const write: LeaseOutcome = { file: 'f', op: 'write', status: 201, requestId: 'w', epoch: 1, start: 40, end: 45 };
    expect(
      leaseViolations([acquire('a', 1, 0, 10), acquire('b', 2, 20, 30), write], [event('a', 1, 2), event('b', 2, 3)]),
    ).toHaveLength(1);
    expect(
      leaseViolations(
        [acquire('a', 1, 0, 10), acquire('b', 2, 20, 30), { ...write, status: 412 }],
        [event('a', 1, 2), event('b', 2, 3)],
      ),
    ).toEqual([]);
  });
});
