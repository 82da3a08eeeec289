import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lease Share: the share's projection row carries its lease as the events recorded it (status,
 * holder, fencing epoch, duration and the instants it expires or its break ends); whether it is
 * expired or broken at a given moment is derived from those instants. The partial index is the
 * sweeper's: leases past their expiry that no LeaseExpired event has recorded yet.
 */
export class ShareLeases1764200000000 implements MigrationInterface {
  name = 'ShareLeases1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE shares
        ADD COLUMN lease_status     text        NOT NULL DEFAULT 'available' CHECK (lease_status IN ('available', 'leased', 'expired', 'broken')),
        ADD COLUMN lease_id         uuid,
        ADD COLUMN lease_epoch      integer     NOT NULL DEFAULT 0,
        ADD COLUMN lease_duration   integer,
        ADD COLUMN lease_expires_at timestamptz,
        ADD COLUMN lease_broken_at  timestamptz`);
    await q.query(
      `CREATE INDEX shares_lease_expiry ON shares (lease_expires_at) WHERE lease_status = 'leased' AND lease_expires_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX shares_lease_expiry`);
    await q.query(`
      ALTER TABLE shares DROP COLUMN lease_status, DROP COLUMN lease_id, DROP COLUMN lease_epoch,
        DROP COLUMN lease_duration, DROP COLUMN lease_expires_at, DROP COLUMN lease_broken_at`);
  }
}
