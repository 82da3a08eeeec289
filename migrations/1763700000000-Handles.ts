import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Open handles: a projection of HandleOpened / HandleClosed / HandleForceClosed events, each handle
 * its own stream (opened at version 1, closed at version 2, so no handle can be closed twice).
 */
export class Handles1763700000000 implements MigrationInterface {
  name = 'Handles1763700000000';

  async up(q: QueryRunner): Promise<void> {
    // Handle and session ids are uint64 on the wire; start high so they look like Azure's.
    await q.query(`CREATE SEQUENCE handle_ids START 10000000001`);
    await q.query(`CREATE SEQUENCE session_ids START 90000000001`);
    await q.query(`
      CREATE TABLE handles (
        handle_id            bigint PRIMARY KEY,
        tenant               text        NOT NULL,
        share_id             bigint      NOT NULL REFERENCES shares (share_id) ON DELETE CASCADE,
        node_key             text        NOT NULL,
        path                 text        NOT NULL,
        file_id              bigint      NOT NULL,
        parent_id            bigint      NOT NULL,
        session_id           bigint      NOT NULL,
        client_ip            text        NOT NULL,
        client_name          text        NOT NULL,
        access               text[]      NOT NULL,
        open_time            timestamptz NOT NULL,
        last_reconnect_time  timestamptz
      )`);
    // Keyset order of listings and force-close chunks: (node_key, handle_id).
    await q.query(`CREATE INDEX handles_by_node ON handles (share_id, node_key, handle_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE handles`);
    await q.query(`DROP SEQUENCE handle_ids, session_ids`);
  }
}
