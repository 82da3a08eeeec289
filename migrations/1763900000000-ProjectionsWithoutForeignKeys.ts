import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Projections must be rebuildable into fresh tables and swapped in by rename; foreign keys between
 * projection tables would tie the old and new generations together. Delete Share now removes its
 * nodes and handles itself, in its own transaction.
 */
export class ProjectionsWithoutForeignKeys1763900000000 implements MigrationInterface {
  name = 'ProjectionsWithoutForeignKeys1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes DROP CONSTRAINT nodes_share_id_fkey`);
    await q.query(`ALTER TABLE handles DROP CONSTRAINT handles_share_id_fkey`);
    await q.query(`ALTER TABLE account_keys DROP CONSTRAINT account_keys_account_fkey`);
    await q.query(`CREATE INDEX handles_share ON handles (share_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX handles_share`);
    await q.query(`ALTER TABLE account_keys ADD FOREIGN KEY (account) REFERENCES accounts (name) ON DELETE CASCADE`);
    await q.query(`ALTER TABLE handles ADD FOREIGN KEY (share_id) REFERENCES shares (share_id) ON DELETE CASCADE`);
    await q.query(`ALTER TABLE nodes ADD FOREIGN KEY (share_id) REFERENCES shares (share_id) ON DELETE CASCADE`);
  }
}
