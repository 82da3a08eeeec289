import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit read model: an asynchronous projection of the log, one row per event, enriched with
 * the share and path the event is about, and indexed for the audit queries. `seq` is assigned in
 * the order the (single) projector applies events, so cursors over it never skip an event that
 * committed late. Checkpoints record where each asynchronous projection has got to.
 */
export class AuditReadModel1764000000000 implements MigrationInterface {
  name = 'AuditReadModel1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projection_checkpoints (
        name            text PRIMARY KEY,
        transaction_id  xid8        NOT NULL,
        position        bigint      NOT NULL,
        events          bigint      NOT NULL DEFAULT 0,
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE audit_streams (
        tenant     text NOT NULL,
        stream_id  text NOT NULL,
        share      text,
        path       text,
        PRIMARY KEY (tenant, stream_id)
      )`);
    await q.query(`
      CREATE TABLE audit_log (
        seq                bigserial PRIMARY KEY,
        position           bigint      NOT NULL UNIQUE,
        tenant             text        NOT NULL,
        stream_id          text        NOT NULL,
        stream_version     integer     NOT NULL,
        type               text        NOT NULL,
        share              text,
        path               text,
        path_key           text,
        lease_id           uuid,
        handle_id          bigint,
        job_id             uuid,
        request_id         text,
        client_request_id  text,
        principal          text,
        recorded_at        timestamptz NOT NULL,
        data               jsonb       NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_by_time ON audit_log (tenant, recorded_at, seq)`);
    await q.query(`CREATE INDEX audit_by_path ON audit_log (tenant, share, path_key text_pattern_ops, seq)`);
    await q.query(`CREATE INDEX audit_by_tenant ON audit_log (tenant, seq)`);
    await q.query(`CREATE INDEX audit_by_lease ON audit_log (tenant, lease_id, seq) WHERE lease_id IS NOT NULL`);
    await q.query(`CREATE INDEX audit_by_handle ON audit_log (tenant, handle_id, seq) WHERE handle_id IS NOT NULL`);
    await q.query(`CREATE INDEX audit_by_job ON audit_log (tenant, job_id, seq) WHERE job_id IS NOT NULL`);
    await q.query(
      `CREATE INDEX audit_by_client_request ON audit_log (tenant, client_request_id, seq) WHERE client_request_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX audit_by_principal ON audit_log (tenant, principal, seq)`);
    await q.query(`CREATE INDEX audit_by_type ON audit_log (tenant, type, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log, audit_streams, projection_checkpoints`);
  }
}
