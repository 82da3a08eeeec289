import { MigrationInterface, QueryRunner } from 'typeorm';

/** Queued force-close jobs: a projection of each job's own event stream (job-<id>). */
export class Jobs1763800000000 implements MigrationInterface {
  name = 'Jobs1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE jobs (
        job_id            uuid PRIMARY KEY,
        tenant            text        NOT NULL,
        idempotency_key   text        NOT NULL,
        share_id          bigint      NOT NULL,
        share_name        text        NOT NULL,
        node_key          text        NOT NULL,
        path              text        NOT NULL,
        recursive         boolean     NOT NULL,
        handle_id         text        NOT NULL,
        state             text        NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
        cancel_requested  boolean     NOT NULL DEFAULT false,
        chunks_done       integer     NOT NULL DEFAULT 0,
        closed            bigint      NOT NULL DEFAULT 0,
        failed            bigint      NOT NULL DEFAULT 0,
        marker            jsonb,
        requested_by      text        NOT NULL,
        created_at        timestamptz NOT NULL,
        started_at        timestamptz,
        ended_at          timestamptz,
        error             text,
        version           integer     NOT NULL,
        CONSTRAINT jobs_idempotency UNIQUE (tenant, idempotency_key)
      )`);
    await q.query(`CREATE INDEX jobs_by_tenant ON jobs (tenant, created_at DESC, job_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE jobs`);
  }
}
