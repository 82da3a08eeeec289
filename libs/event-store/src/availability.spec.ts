import { isUnavailable, OutageLog } from './availability';

describe('OutageLog', () => {
  const lines = () => {
    const logged: string[] = [];
    const logger = { warn: (m: string) => logged.push(`warn ${m}`), log: (m: string) => logged.push(`log ${m}`) };
    return { logged, outage: new OutageLog(logger, 'PostgreSQL', 'answering 503') };
  };

  it('logs one line when the dependency goes and one when it is back, however many operations fail between', () => {
    const { logged, outage } = lines();
    outage.succeeded();
    outage.failed(new Error('Connection terminated'));
    outage.failed(new Error('ECONNREFUSED'));
    outage.succeeded();
    outage.succeeded();
    expect(logged).toEqual([
      'warn PostgreSQL unavailable (Connection terminated); answering 503',
      expect.stringMatching(/^log PostgreSQL available again after \d+\.\d s$/),
    ]);
  });

  it('does not end an incident on an operation that began before it', () => {
    const { logged, outage } = lines();
    const before = Date.now() - 1;
    outage.failed(new Error('Connection terminated'));
    outage.succeeded(before);
    outage.failed(new Error('Connection terminated'));
    expect(logged).toEqual(['warn PostgreSQL unavailable (Connection terminated); answering 503']);
    outage.succeeded(Date.now());
    expect(logged).toHaveLength(2);
    expect(logged[1]).toMatch(/^log PostgreSQL available again/);
  });
});

describe('isUnavailable', () => {
  it('takes the database gone for an outage, and a missing table for a fault of its own', () => {
    expect(isUnavailable({ code: '3D000', message: 'database "leasehold" does not exist' })).toBe(true);
    expect(isUnavailable({ driverError: { code: '57P01' } })).toBe(true);
    expect(isUnavailable({ code: '42P01', message: 'relation "shares" does not exist' })).toBe(false);
  });
});
