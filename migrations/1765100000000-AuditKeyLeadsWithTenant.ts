import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * audit_log's primary key becomes (tenant, seq), as a table sharded by tenant needs it
 * (docs/scaling.md), and takes over from audit_by_tenant (tenant, seq), which it now duplicates:
 * every audit query names the tenant and pages by seq, and none looks a row up by seq alone. One
 * index fewer for the projector to update per event.
 */
export class AuditKeyLeadsWithTenant1765100000000 implements MigrationInterface {
  name = 'AuditKeyLeadsWithTenant1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD CONSTRAINT audit_log_pkey PRIMARY KEY (tenant, seq)`,
    );
    await q.query(`DROP INDEX audit_by_tenant`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX audit_by_tenant ON audit_log (tenant, seq)`);
    await q.query(
      `ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD CONSTRAINT audit_log_pkey PRIMARY KEY (seq)`,
    );
  }
}
