import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Share snapshots. A snapshot is a point in the event log: the PostgreSQL snapshot (pg_snapshot)
 * taken when it was made says exactly which transactions' events it contains, so the tree at a
 * snapshot is folded from the log. File bytes are not in the log: file_chunks rows are overwritten
 * in place, so each row records the transaction that wrote it (written_xid) and a trigger keeps
 * the version a snapshot still sees in file_chunk_versions before it is overwritten or deleted.
 */
export class ShareSnapshots1764720000000 implements MigrationInterface {
  name = 'ShareSnapshots1764720000000';

  async up(q: QueryRunner): Promise<void> {
    // Each share's snapshots, oldest first (a projection of its stream, like the rest of the row).
    await q.query(`ALTER TABLE shares ADD COLUMN snapshots jsonb NOT NULL DEFAULT '[]'`);
    // Rows already there were written by committed transactions: the migration's id is as good as theirs.
    await q.query(`ALTER TABLE file_chunks ADD COLUMN written_xid xid8 NOT NULL DEFAULT pg_current_xact_id()`);
    await q.query(`
      CREATE TABLE file_chunk_versions (
        share_id      bigint  NOT NULL,
        file_id       bigint  NOT NULL,
        chunk_no      integer NOT NULL,
        data          bytea   NOT NULL,
        written_xid   xid8    NOT NULL,
        replaced_xid  xid8    NOT NULL,
        PRIMARY KEY (file_id, chunk_no, replaced_xid)
      )`);
    await q.query(`CREATE INDEX file_chunk_versions_share ON file_chunk_versions (share_id)`);
    // The share of a file, for the trigger (nodes.file_id is unique, so indexed).
    // Share-locking the share row makes a write wait for a Snapshot Share in progress (it holds the
    // row FOR UPDATE) and then see it; Snapshot Share waits for the writes in progress, so its
    // pg_snapshot sees them committed. A version is kept only if the newest snapshot sees the row:
    // an older one sees nothing the newest does not.
    await q.query(`
      CREATE FUNCTION file_chunks_keep_snapshotted() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        owner bigint;
        newest text;
      BEGIN
        IF OLD.written_xid <> pg_current_xact_id() THEN
          SELECT n.share_id INTO owner FROM nodes n WHERE n.file_id = OLD.file_id;
          IF owner IS NOT NULL THEN
            SELECT s.snapshots -> -1 ->> 'pgSnapshot' INTO newest FROM shares s WHERE s.share_id = owner FOR KEY SHARE;
            IF newest IS NOT NULL AND pg_visible_in_snapshot(OLD.written_xid, newest::pg_snapshot) THEN
              INSERT INTO file_chunk_versions VALUES
                (owner, OLD.file_id, OLD.chunk_no, OLD.data, OLD.written_xid, pg_current_xact_id());
            END IF;
          END IF;
        END IF;
        IF TG_OP = 'DELETE' THEN
          RETURN OLD;
        END IF;
        NEW.written_xid := pg_current_xact_id();
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER file_chunks_keep_snapshotted BEFORE UPDATE OR DELETE ON file_chunks
      FOR EACH ROW EXECUTE FUNCTION file_chunks_keep_snapshotted()`);
    // The node streams of a share, found by their creation events, for the tree at a snapshot.
    await q.query(`
      CREATE INDEX events_node_creations ON events (tenant, (data->>'shareId'))
      WHERE type IN ('DirectoryCreated', 'FileCreated')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX events_node_creations`);
    await q.query(`DROP TRIGGER file_chunks_keep_snapshotted ON file_chunks`);
    await q.query(`DROP FUNCTION file_chunks_keep_snapshotted`);
    await q.query(`DROP TABLE file_chunk_versions`);
    await q.query(`ALTER TABLE file_chunks DROP COLUMN written_xid`);
    await q.query(`ALTER TABLE shares DROP COLUMN snapshots`);
  }
}
