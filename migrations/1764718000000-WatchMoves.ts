import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Finds a node stream's renames and moves (EventStore.readFirstEvents with the watch's MOVES), so
 * that the watch reports a renamed file's changes at its path of the time without reading the rest
 * of a long stream (a file's every lease change). Partial: renames are few.
 */
export class WatchMoves1764718000000 implements MigrationInterface {
  name = 'WatchMoves1764718000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX events_moves ON events (tenant, stream_id, stream_version) WHERE type IN ('NodeRenamed', 'NodeMoved')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX events_moves`);
  }
}
