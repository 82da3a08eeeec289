import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wakes the watch feed: every statement that appends events notifies `leasehold_events` with its
 * transaction id (a statement-level trigger: one notification per append, however many rows). PostgreSQL delivers a notification at commit (never for a rolled-back one) and
 * folds identical payloads of one transaction into one, so a transaction wakes listeners once.
 */
export class WatchNotify1764600000000 implements MigrationInterface {
  name = 'WatchNotify1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION events_notify_watchers() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- A guarded append that inserted nothing (its projection did not apply) wakes nobody.
        IF EXISTS (SELECT 1 FROM inserted) THEN
          PERFORM pg_notify('leasehold_events', pg_current_xact_id()::text);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER events_notify_watchers AFTER INSERT ON events
      REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION events_notify_watchers()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER events_notify_watchers ON events`);
    await q.query(`DROP FUNCTION events_notify_watchers`);
  }
}
