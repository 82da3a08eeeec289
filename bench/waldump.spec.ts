import { walTotals } from './waldump';

describe('walTotals', () => {
  // The shape of PostgreSQL 15's `pg_waldump --stats=record` (columns abridged to the ones read).
  const stats = [
    'Type                                           N      (%)          Record size      (%)             FPI size      (%)        Combined size      (%)',
    '----                                           -      ---          -----------      ---             --------      ---        -------------      ---',
    'Transaction/COMMIT                            12 (  0.80)                  408 (  0.38)                    0 (  0.00)                  408 (  0.26)',
    'Transaction/COMMIT_PREPARED                    3 (  0.20)                  102 (  0.09)                    0 (  0.00)                  102 (  0.07)',
    'Heap/UPDATE                                  998 ( 66.22)                67870 ( 62.75)                27996 ( 57.98)                95866 ( 61.28)',
    '                                        --------                      --------                      --------                      --------',
    'Total                                       1507                        108156 [69.13%]                48288 [30.87%]               156444 [100%]',
  ].join('\n');

  it('reads the totals and the plain commits, not the prepared ones', () => {
    expect(walTotals(stats)).toEqual({ records: 1507, recordBytes: 108156, fpiBytes: 48288, commits: 12 });
  });

  it('counts no commits where none was logged, and answers nothing without a Total line', () => {
    expect(walTotals(stats.replace(/^Transaction\/COMMIT .*$/m, ''))?.commits).toBe(0);
    expect(walTotals('pg_waldump: error: could not find a valid record')).toBeUndefined();
  });
});
