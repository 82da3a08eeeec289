/** What `pg_waldump --stats=record` (PostgreSQL 10 and later) counts; pure, so it is unit-tested alone. */
export interface WalTotals {
  records: number;
  /** Bytes of the records themselves, and of the full-page images they carry. */
  recordBytes: number;
  fpiBytes: number;
  /** Transactions committed (Transaction/COMMIT records): each one a WAL flush with synchronous_commit on. */
  commits: number;
}

/**
 * The `Total` line (count, record bytes [%], FPI bytes [%], combined [100%]) and the count of
 * `Transaction/COMMIT` records; undefined when there is no Total line.
 */
export function walTotals(stats: string): WalTotals | undefined {
  const total = /^Total\s+(\d+)\s+(\d+)\s+\[[\d.]+%\]\s+(\d+)\s+\[[\d.]+%\]\s+\d+/m.exec(stats);
  if (!total) return undefined;
  const commits = /^Transaction\/COMMIT\s+(\d+)\s/m.exec(stats);
  return {
    records: Number(total[1]),
    recordBytes: Number(total[2]),
    fpiBytes: Number(total[3]),
    commits: commits ? Number(commits[1]) : 0,
  };
}
