import { MigrationInterface, QueryRunner } from 'typeorm';

/** Copy File: the copy a file is the destination of (id, source, progress, completion time), for its x-ms-copy-* headers. */
export class NodeCopy1764410000000 implements MigrationInterface {
  name = 'NodeCopy1764410000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes ADD COLUMN copy jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE nodes DROP COLUMN copy`);
  }
}
