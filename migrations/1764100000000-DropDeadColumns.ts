import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two columns nothing ever set: handles.last_reconnect_time (Leasehold has no SMB sessions to
 * reconnect) and jobs.failed (closing a handle cannot fail; one closed meanwhile is simply gone).
 */
export class DropDeadColumns1764100000000 implements MigrationInterface {
  name = 'DropDeadColumns1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE handles DROP COLUMN last_reconnect_time`);
    await q.query(`ALTER TABLE jobs DROP COLUMN failed`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs ADD COLUMN failed bigint NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE handles ADD COLUMN last_reconnect_time timestamptz`);
  }
}
