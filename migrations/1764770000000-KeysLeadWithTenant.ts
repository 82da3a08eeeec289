import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys that can lead with the tenant at no cost, for sharding by tenant later (docs/scaling.md):
 * every query the service makes on jobs gives the tenant with the job id, so the primary key
 * becomes (tenant, job_id). And handles_share (share_id) goes: it is a prefix of handles_by_node
 * (share_id, node_key, handle_id), which serves every query that used it, and cost an index entry
 * per handle opened.
 */
export class KeysLeadWithTenant1764770000000 implements MigrationInterface {
  name = 'KeysLeadWithTenant1764770000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE jobs DROP CONSTRAINT jobs_pkey, ADD CONSTRAINT jobs_pkey PRIMARY KEY (tenant, job_id)`);
    await q.query(`DROP INDEX handles_share`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX handles_share ON handles (share_id)`);
    await q.query(`ALTER TABLE jobs DROP CONSTRAINT jobs_pkey, ADD CONSTRAINT jobs_pkey PRIMARY KEY (job_id)`);
  }
}
