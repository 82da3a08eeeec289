import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit read model's indexes whose keys arrive in no order (a file's path, a stream, a client's
 * request id) are kept small, or their inserts confined to a part that stays cached. Inserts into
 * such an index land on pages at random; once it outgrows the buffer cache they keep reading pages
 * back and writing others out, and the projector slowed as the log grew (bench/README.md, "Why the
 * projector slows down as the log grows").
 * - audit_by_path and audit_by_stream lose their trailing seq: rows of one path or one stream then
 *   share a key, and PostgreSQL stores them once with a list of rows (deduplication), 576 + 407 MB
 *   becoming 59 + 112 MB at 5,000,000 events. Their queries read every row of the path or stream
 *   and sort them anyway, so they cost what they did.
 * - audit_by_client_request leads, after the tenant, with seq's bucket of 2^20 rows: the inserts of
 *   a bucket stay within it, so only its part of the index is written to. A lookup probes each
 *   bucket of the tenant's range of seq (AuditRepository), one probe per 2^20 rows of the log.
 * The indexes are rebuilt under an exclusive lock on audit_log: 19 s at 5,000,000 events.
 */
export class AuditIndexesStayHot1765300000000 implements MigrationInterface {
  name = 'AuditIndexesStayHot1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_by_path, audit_by_stream, audit_by_client_request`);
    await q.query(`CREATE INDEX audit_by_path ON audit_log (tenant, share, path_key text_pattern_ops)`);
    await q.query(`CREATE INDEX audit_by_stream ON audit_log (tenant, stream_id)`);
    await q.query(
      `CREATE INDEX audit_by_client_request ON audit_log (tenant, (seq / 1048576), client_request_id) WHERE client_request_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_by_path, audit_by_stream, audit_by_client_request`);
    await q.query(`CREATE INDEX audit_by_path ON audit_log (tenant, share, path_key text_pattern_ops, seq)`);
    await q.query(`CREATE INDEX audit_by_stream ON audit_log (tenant, stream_id, seq)`);
    await q.query(
      `CREATE INDEX audit_by_client_request ON audit_log (tenant, client_request_id, seq) WHERE client_request_id IS NOT NULL`,
    );
  }
}
