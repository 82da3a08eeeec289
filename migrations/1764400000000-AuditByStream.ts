import { MigrationInterface, QueryRunner } from 'typeorm';

/** Lease history and state-as-of read a renamed file's stream whole, before and after the rename: by stream. */
export class AuditByStream1764400000000 implements MigrationInterface {
  name = 'AuditByStream1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX audit_by_stream ON audit_log (tenant, stream_id, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_by_stream`);
  }
}
