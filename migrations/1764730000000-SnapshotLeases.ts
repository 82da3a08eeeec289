import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lease Share with sharesnapshot: a snapshot's lease lives in its entry of the share's `snapshots`
 * (a projection of the share's stream, so no column changes). The partial index is the sweeper's:
 * the shares with a snapshot lease that can lapse (fixed and leased), as shares_lease_expiry is for
 * the shares' own leases. ShareLeaseRepository.lapsed repeats its predicate word for word.
 */
export class SnapshotLeases1764730000000 implements MigrationInterface {
  name = 'SnapshotLeases1764730000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX shares_snapshot_lease_expiry ON shares (share_id)
       WHERE jsonb_path_exists(snapshots, '$[*].lease ? (@.status == "leased" && exists(@.expiresAt))')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX shares_snapshot_lease_expiry`);
  }
}
