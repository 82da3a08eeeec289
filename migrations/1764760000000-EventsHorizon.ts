import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * events_horizon(): the transaction id below which every transaction that can write this
 * database's events has ended, as seen by the calling statement's snapshot. The log's readers (the
 * audit projector, the watch feed) read only below it, so a late commit is never skipped.
 *
 * pg_snapshot_xmin(pg_current_snapshot()) gave that rule before, but xmin is cluster-wide: an
 * open transaction in any other database of the server held every reader here back. This drops
 * from the snapshot's in-progress list only the transactions pg_stat_activity places in another
 * database while the statement runs. One not found there (it ended after the snapshot was taken,
 * it is prepared, or the role may not see it) still counts, so the horizon is never later than
 * the snapshot allows. STABLE: the function sees its caller's statement snapshot. The backends are
 * read once per call (a hashed NOT IN, no NULLs in it), from pg_stat_get_activity itself: the view
 * pg_stat_activity joins the catalogs for every row, which cost 1–2 ms a call with 60 backends.
 */
export class EventsHorizon1764760000000 implements MigrationInterface {
  name = 'EventsHorizon1764760000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION events_horizon() RETURNS xid8 LANGUAGE sql STABLE AS $$
        SELECT coalesce(min(running), pg_snapshot_xmax(pg_current_snapshot()))
          FROM pg_snapshot_xip(pg_current_snapshot()) AS running
         WHERE xid(running) NOT IN (
           SELECT a.backend_xid FROM pg_stat_get_activity(NULL) a
            WHERE a.backend_xid IS NOT NULL
              AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION events_horizon`);
  }
}
