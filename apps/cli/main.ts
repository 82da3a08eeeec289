import '../register-paths';
import { AccountsService } from '@leasehold/accounts';
import { ConfigError, loadConfig, preflight } from '@leasehold/config';
import { createDataSource, EventStore, migrateDatabase } from '@leasehold/event-store';
import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** Migrations first, then (outside production) the development account. */
async function prepare(): Promise<void> {
  const config = loadConfig();
  const problem = await preflight(config);
  if (problem) throw new ConfigError(problem);
  await migrateDatabase(config.databaseUrl);
  console.log('leasehold: database ready, migrations applied');
  if (!config.production) {
    const db = await createDataSource(config.databaseUrl, 1).initialize();
    try {
      await new AccountsService(new EventStore(db)).ensureDevelopmentAccount();
      console.log('leasehold: development account devstoreaccount1 ready (the Azure emulator key)');
    } finally {
      await db.destroy();
    }
  }
}

/** `serve`: prepare, then run one api and one worker process until either stops or a signal arrives. */
async function serve(): Promise<void> {
  await prepare();
  const children: ChildProcess[] = ['api/src/main.js', 'worker/src/main.js'].map((entry) =>
    spawn(process.execPath, [resolve(__dirname, '..', entry)], { stdio: 'inherit' }),
  );
  const stop = (signal: NodeJS.Signals) => children.forEach((child) => child.kill(signal));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await Promise.race(children.map((child) => new Promise((done) => child.on('exit', done))));
  stop('SIGTERM');
  process.exitCode = 1;
}

const commands: Record<string, () => Promise<void>> = { serve, migrate: prepare };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  console.error(`usage: leasehold ${Object.keys(commands).join('|')}`);
  process.exit(2);
}
command().catch((error) => {
  console.error(`leasehold: ${error instanceof ConfigError ? error.message : (error?.stack ?? error)}`);
  process.exit(1);
});
