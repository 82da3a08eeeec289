import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Share settings set after creation (access tier, stored access policies), and each account's File
 * service properties (metrics settings, CORS rules): projections of the share streams and of the
 * `fileservice-{account}` streams.
 */
export class ShareSettingsAndFileService1764300000000 implements MigrationInterface {
  name = 'ShareSettingsAndFileService1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE shares
        ADD COLUMN access_tier text NOT NULL DEFAULT 'TransactionOptimized',
        ADD COLUMN access_tier_changed_at timestamptz,
        ADD COLUMN signed_identifiers jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`
      CREATE TABLE file_service_properties (
        tenant      text PRIMARY KEY,
        properties  jsonb   NOT NULL,
        version     integer NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE file_service_properties`);
    await q.query(
      `ALTER TABLE shares DROP COLUMN signed_identifiers, DROP COLUMN access_tier_changed_at, DROP COLUMN access_tier`,
    );
  }
}
