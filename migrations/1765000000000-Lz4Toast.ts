import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The large values (a force-close chunk's event lists thousands of handle ids, and its audit row
 * keeps them as an array) are compressed with lz4 instead of pglz: in a chunk of 5,000 the append
 * took about 7 ms of the statement's 28 with pglz and 4.5 with lz4 (docs/scaling.md). Only values
 * written from now on change. A server built without lz4 keeps pglz: the migration leaves it.
 */
export class Lz4Toast1765000000000 implements MigrationInterface {
  name = 'Lz4Toast1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await this.compress(q, 'lz4');
  }

  async down(q: QueryRunner): Promise<void> {
    await this.compress(q, 'pglz');
  }

  private async compress(q: QueryRunner, method: string): Promise<void> {
    await q.query(`DO $$
      BEGIN
        ALTER TABLE events ALTER COLUMN data SET COMPRESSION ${method}, ALTER COLUMN metadata SET COMPRESSION ${method};
        ALTER TABLE audit_log ALTER COLUMN handle_ids SET COMPRESSION ${method};
      EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'compression method % not supported here: columns left as they are', '${method}';
      END $$`);
  }
}
