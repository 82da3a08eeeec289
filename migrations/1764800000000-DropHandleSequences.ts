import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Handle and session ids are random (HandleRepository.nextIds: a counter would tell one tenant how
 * busy the others are). The two sequences stayed behind for the benches' seeds, which now make
 * random ids too; nothing reads them.
 */
export class DropHandleSequences1764800000000 implements MigrationInterface {
  name = 'DropHandleSequences1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP SEQUENCE handle_ids, session_ids`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE handle_ids START 10000000001`);
    await q.query(`CREATE SEQUENCE session_ids START 90000000001`);
  }
}
