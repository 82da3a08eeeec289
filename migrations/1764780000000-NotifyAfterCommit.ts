import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The watch feed is woken after an append commits (EventStore sends the NOTIFY on its own), no
 * longer by a trigger inside the appending transaction: PostgreSQL serializes the commits of
 * notifying transactions on one lock held until each commit is flushed, so every append waited for
 * the previous one's fsync. pgbench on the development machine, 16 clients, one-row INSERT
 * transactions: about 7,000/s plain, 900–1,800/s with a NOTIFY inside, 3,800–3,900/s with the
 * NOTIFY in a transaction of its own after the commit.
 */
export class NotifyAfterCommit1764780000000 implements MigrationInterface {
  name = 'NotifyAfterCommit1764780000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER events_notify_watchers ON events`);
    await q.query(`DROP FUNCTION events_notify_watchers`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION events_notify_watchers() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM inserted) THEN
          PERFORM pg_notify('leasehold_events', pg_current_xact_id()::text);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER events_notify_watchers AFTER INSERT ON events
      REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION events_notify_watchers()`);
  }
}
