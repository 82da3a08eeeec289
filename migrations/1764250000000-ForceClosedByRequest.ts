import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Finds the handles a Force Close Handles request closed by its client request id, so that the
 * SDK's retry of a request that committed gets the original answer (EventStore.recordedBy). Partial:
 * only HandleForceClosed events are indexed.
 */
export class ForceClosedByRequest1764250000000 implements MigrationInterface {
  name = 'ForceClosedByRequest1764250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX events_force_closed_by_request ON events (tenant, (metadata->>'clientRequestId'), recorded_at) WHERE type = 'HandleForceClosed'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX events_force_closed_by_request`);
  }
}
