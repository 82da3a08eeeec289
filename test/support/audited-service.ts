import { Pool } from 'pg';
import { AsyncProjector, auditProjection } from '../../libs/audit/src';
import { createDataSource, EventStore, migrateDatabase } from '../../libs/event-store/src';
import { startTestService, TestService } from './service';

export interface AuditedService {
  service: TestService;
  /** The suite's own database. */
  databaseUrl: string;
  /** A pool on it. */
  pool: Pool;
  store: EventStore;
  /** The audit projector, leading on this database. */
  projector: AsyncProjector;
  /** Applies everything committed so far (waiting out other suites' transactions, which hold back the cluster-wide xmin). */
  catchUp(): Promise<void>;
  /** Makes the projector lead again, once the lock of a leader whose connection was dropped is free. */
  untilLeads(): Promise<void>;
  /** Stops the projector and the service, and drops the database. */
  stop(): Promise<void>;
}

/**
 * Applies everything committed so far. The projector's reader stops below the cluster's oldest
 * running transaction (xmin is cluster-wide), and other test files hold transactions open on
 * purpose: it waits them out, for a bounded number of polls.
 */
export async function projectorCatchUp(projector: AsyncProjector): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    await projector.catchUp();
    if ((await projector.lag()).behind === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the audit projector did not catch up');
}

/**
 * The service on a database of the suite's own (named `{test database}_{suffix}`), with an audit
 * projector leading there: one projector leads per database, so suites with their own do not collide.
 */
export async function startAuditedService(suffix: string, batch: number): Promise<AuditedService> {
  const databaseUrl = `${process.env.LEASEHOLD_TEST_DATABASE_URL}_${suffix}`;
  await migrateDatabase(databaseUrl);
  const service = await startTestService({ DATABASE_URL: databaseUrl });
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  const source = await createDataSource(databaseUrl, 4).initialize();
  const store = new EventStore(source);
  const projector = new AsyncProjector(pool, store, auditProjection, batch);
  if (!(await projector.lead())) throw new Error('the audit projector could not lead on its own database');
  return {
    service,
    databaseUrl,
    pool,
    store,
    projector,
    catchUp: () => projectorCatchUp(projector),
    untilLeads: async () => {
      for (let i = 0; i < 600; i++) {
        if (await projector.lead()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the audit projector could not lead again');
    },
    stop: async () => {
      await projector.resign();
      try {
        await pool.end();
        await source.destroy();
      } finally {
        await service.stop();
      }
      const admin = new Pool({ connectionString: databaseUrl.replace(/\/[^/]+$/, '/postgres'), max: 1 });
      await admin.query(`DROP DATABASE IF EXISTS "${databaseUrl.split('/').pop()}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
