import Redis from 'ioredis';
import { Client } from 'pg';
import { LeaseholdConfig } from './config';

const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/**
 * Fails fast, with one line a person can act on, when PostgreSQL or Redis is not there: the
 * alternative is a stack trace from deep inside a driver on the first request.
 */
export async function preflight(config: LeaseholdConfig): Promise<string | undefined> {
  const pg = new Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 5000 });
  pg.on('error', () => undefined);
  try {
    const url = new URL(config.databaseUrl);
    url.pathname = '/postgres';
    const admin = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.end();
  } catch (error) {
    return `cannot reach PostgreSQL at ${redact(config.databaseUrl)} (${(error as Error).message}); start it, e.g. with \`docker compose up -d postgres\``;
  }
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    return `cannot reach Redis at ${redact(config.redisUrl)} (${(error as Error).message}); start it, e.g. with \`docker compose up -d redis\``;
  } finally {
    redis.disconnect();
  }
  return undefined;
}
