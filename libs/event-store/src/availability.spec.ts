import { OutageLog } from './availability';

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
