import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Force Close Handles and force-close jobs record one HandlesForceClosed event per chunk, listing
 * the handle ids, instead of one HandleForceClosed per handle (issue 17: the per-handle appends
 * were most of a million-handle close).
 * - A retried request finds what it recorded by either type (EventStore.recordedBy).
 * - The audit row of a chunk keeps its handle ids (handle_ids), so "what closed this handle" is
 *   one GIN lookup however many handles the chunk closed. Partial: no other row has them.
 */
export class ChunkClosures1764900000000 implements MigrationInterface {
  name = 'ChunkClosures1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX events_force_closed_by_request`);
    await q.query(
      `CREATE INDEX events_force_closed_by_request ON events (tenant, (metadata->>'clientRequestId'), recorded_at)
       WHERE type IN ('HandleForceClosed', 'HandlesForceClosed') AND metadata->>'clientRequestId' IS NOT NULL`,
    );
    await q.query(`ALTER TABLE audit_log ADD COLUMN handle_ids bigint[]`);
    await q.query(
      `CREATE INDEX audit_by_closed_handle ON audit_log USING gin (handle_ids) WHERE handle_ids IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_by_closed_handle`);
    await q.query(`ALTER TABLE audit_log DROP COLUMN handle_ids`);
    await q.query(`DROP INDEX events_force_closed_by_request`);
    await q.query(
      `CREATE INDEX events_force_closed_by_request ON events (tenant, (metadata->>'clientRequestId'), recorded_at)
       WHERE type = 'HandleForceClosed' AND metadata->>'clientRequestId' IS NOT NULL`,
    );
  }
}
