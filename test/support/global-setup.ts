import { migrateDatabase } from '../../libs/event-store/src/database';

/**
 * End-to-end tests get a database of their own, created here and dropped in global-teardown,
 * never the development one.
 */
export default async function globalSetup(): Promise<void> {
  const server = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const url = `${server}/leasehold_test_${process.pid}_${Date.now().toString(36)}`;
  await migrateDatabase(url);
  process.env.LEASEHOLD_TEST_DATABASE_URL = url;
}
