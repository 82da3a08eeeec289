import { ShareServiceClient, StorageSharedKeyCredential } from '@azure/storage-file-share';
import { Pool } from 'pg';
import { startApi, RunningApi } from '../../apps/api/src/bootstrap';
import { AccountsService, DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY, newAccountKey } from '../../libs/accounts/src';
import { loadConfig, LeaseholdConfig } from '../../libs/config/src';

export const testDatabaseUrl = (): string => {
  const url = process.env.LEASEHOLD_TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      'LEASEHOLD_TEST_DATABASE_URL is not set: run the e2e tests through jest (global-setup creates the database)',
    );
  return url;
};

export function testConfig(overrides: Record<string, string> = {}): LeaseholdConfig {
  // No rate limit unless a test asks for one: suites that open thousands of handles must not trip it.
  return loadConfig({
    DATABASE_URL: testDatabaseUrl(),
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'test',
    RATE_LIMIT_PER_SECOND: '0',
    ...overrides,
  });
}

export interface TestService {
  api: RunningApi;
  url: string;
  /** An account URL in path style: http://127.0.0.1:PORT/{account} */
  accountUrl(account?: string): string;
  serviceClient(account?: string, key?: string): ShareServiceClient;
  /** A direct connection to the test database, to look at the events a request recorded. */
  db: Pool;
  createAccount(name: string): Promise<{ name: string; key1: string; key2: string }>;
  stop(): Promise<void>;
}

/** Starts the real API (in this process, on a free port) against the test database. */
export async function startTestService(
  overrides: Record<string, string> = {},
  options: { consoleDir?: string } = {},
): Promise<TestService> {
  const api = await startApi(testConfig(overrides), ['error'], options);
  const accounts = api.app.get(AccountsService);
  await accounts.ensureDevelopmentAccount();
  const db = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
  const accountUrl = (account = DEVELOPMENT_ACCOUNT) => `${api.url}/${account}`;
  return {
    api,
    url: api.url,
    accountUrl,
    db,
    serviceClient: (account = DEVELOPMENT_ACCOUNT, key = DEVELOPMENT_KEY) =>
      new ShareServiceClient(accountUrl(account), new StorageSharedKeyCredential(account, key), {
        // The SDK's retries back off for seconds; tests assert first answers.
        retryOptions: { maxTries: 1 },
      }),
    createAccount: async (name: string) => {
      const key1 = newAccountKey();
      const key2 = newAccountKey();
      await accounts.create(name, key1, key2);
      return { name, key1, key2 };
    },
    stop: async () => {
      await db.end();
      await api.app.close();
    },
  };
}

/** The connection string of an account of the test service, as an SDK user would write it. */
export const connectionString = (accountUrl: string, account: string, key: string) =>
  `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};FileEndpoint=${accountUrl};`;

let counter = 0;
/** A share name no other test uses. */
export const uniqueShare = (prefix = 'share') =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`.slice(0, 63);
