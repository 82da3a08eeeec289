import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../../migrations';

export function createDataSource(databaseUrl: string, poolSize = 20): DataSource {
  return new DataSource({
    type: 'postgres',
    url: databaseUrl,
    migrations,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    logging: false,
    // A request waits at most this long for a connection (the pool full, or PostgreSQL away), then gets a 503.
    connectTimeoutMS: 5_000,
    // A connection once opened stays open (no idle timeout). pg-pool's default closes a client after
    // 10 s idle, so the connections a burst opened together close together: PostgreSQL backends
    // exiting at once stalled a 2-core machine for 90-150 ms in the heartbeat bench (bench/README.md,
    // "Connections that close together"). PostgreSQL must allow poolSize per process either way.
    extra: { max: poolSize, idleTimeoutMillis: 0, application_name: 'leasehold' },
  });
}

/** Creates the database named in the URL when it is missing (connecting to `postgres` to do it). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    }
  } catch (error) {
    // Another process created it between our check and our CREATE: that is what we wanted.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await admin.end();
  }
}

/** Creates the database if needed and applies pending migrations (serialised across processes). */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  await ensureDatabase(databaseUrl);
  const db = createDataSource(databaseUrl, 1);
  await db.initialize();
  try {
    await db.query('SELECT pg_advisory_lock(hashtext($1))', ['leasehold:migrations']);
    await db.runMigrations({ transaction: 'each' });
  } finally {
    await db.destroy();
  }
}
