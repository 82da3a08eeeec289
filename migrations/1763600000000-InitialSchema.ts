import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event log (the only source of truth) and the current-state tables projected from it.
 * Projections: accounts, shares, nodes. Not projections: account_keys (secrets stay out of an
 * immutable log) and file_chunks (file bytes; the log records each write's range, length and MD5).
 */
export class InitialSchema1763600000000 implements MigrationInterface {
  name = 'InitialSchema1763600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE events (
        position        bigserial PRIMARY KEY,
        transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
        tenant          text        NOT NULL,
        stream_id       text        NOT NULL,
        stream_version  integer     NOT NULL CHECK (stream_version > 0),
        event_id        uuid        NOT NULL,
        type            text        NOT NULL,
        schema_version  smallint    NOT NULL DEFAULT 1,
        data            jsonb       NOT NULL,
        metadata        jsonb       NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT events_stream_version_unique UNIQUE (tenant, stream_id, stream_version),
        CONSTRAINT events_event_id_unique UNIQUE (event_id)
      )`);
    // Checkpointed readers follow (transaction_id, position) below the snapshot's xmin.
    await q.query(`CREATE INDEX events_transaction_order ON events (transaction_id, position)`);
    await q.query(`CREATE INDEX events_tenant_position ON events (tenant, position)`);
    await q.query(`
      CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
      END $$`);
    await q.query(`
      CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
      FOR EACH ROW EXECUTE FUNCTION events_are_append_only()`);

    await q.query(`CREATE SEQUENCE node_ids START 1000`);

    await q.query(`
      CREATE TABLE accounts (
        name        text PRIMARY KEY,
        disabled    boolean     NOT NULL DEFAULT false,
        created_at  timestamptz NOT NULL,
        version     integer     NOT NULL
      )`);
    await q.query(`
      CREATE TABLE account_keys (
        account  text PRIMARY KEY REFERENCES accounts (name) ON DELETE CASCADE,
        key1     text NOT NULL,
        key2     text NOT NULL
      )`);

    await q.query(`
      CREATE TABLE shares (
        tenant         text        NOT NULL,
        name           text        NOT NULL,
        share_id       bigint      NOT NULL UNIQUE,
        quota          integer     NOT NULL,
        metadata       jsonb       NOT NULL,
        etag           text        NOT NULL,
        last_modified  timestamptz NOT NULL,
        version        integer     NOT NULL,
        PRIMARY KEY (tenant, name)
      )`);

    // One row per directory and file. path_key is the lowercased path (names are case-insensitive,
    // case-preserving); the share root is the share itself and has no row.
    await q.query(`
      CREATE TABLE nodes (
        share_id        bigint      NOT NULL REFERENCES shares (share_id) ON DELETE CASCADE,
        path_key        text        NOT NULL,
        parent_key      text        NOT NULL,
        tenant          text        NOT NULL,
        file_id         bigint      NOT NULL UNIQUE,
        parent_id       bigint      NOT NULL,
        kind            text        NOT NULL CHECK (kind IN ('directory', 'file')),
        path            text        NOT NULL,
        name            text        NOT NULL,
        metadata        jsonb       NOT NULL,
        properties      jsonb       NOT NULL,
        content_length  bigint      NOT NULL,
        etag            text        NOT NULL,
        created_at      timestamptz NOT NULL,
        last_modified   timestamptz NOT NULL,
        lease_state     text        NOT NULL CHECK (lease_state IN ('available', 'leased', 'broken')),
        lease_id        uuid,
        lease_epoch     bigint      NOT NULL,
        version         integer     NOT NULL,
        PRIMARY KEY (share_id, path_key)
      )`);
    await q.query(`CREATE INDEX nodes_children ON nodes (share_id, parent_key, path_key)`);

    await q.query(`
      CREATE TABLE file_chunks (
        file_id   bigint  NOT NULL,
        chunk_no  integer NOT NULL,
        data      bytea   NOT NULL,
        PRIMARY KEY (file_id, chunk_no)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE file_chunks, nodes, shares, account_keys, accounts`);
    await q.query(`DROP SEQUENCE node_ids`);
    await q.query(`DROP TABLE events`);
    await q.query(`DROP FUNCTION events_are_append_only`);
  }
}
