// The operator's commands, run on a machine with the deployment's configuration (DATABASE_URL, …).
import { AccountError, AccountsService, KeyCipher, newAccountKey } from '@leasehold/accounts';
import { ConfigError, loadConfig, preflight, WORKER_NODE_ARGS } from '@leasehold/config';
import { cliCaller } from '@leasehold/domain';
import { createDataSource, EventStore, migrateDatabase } from '@leasehold/event-store';
import { rebuildProjections, verifyProjections } from '@leasehold/projections';
import { Pool, PoolClient } from 'pg';
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';

/** A mistake on the command line: its message is the usage. */
export class UsageError extends Error {}

/** Migrations first, then (outside production) the development account. */
export async function prepare(): Promise<void> {
  const config = loadConfig();
  const problem = await preflight(config);
  if (problem) throw new ConfigError(problem);
  await migrateDatabase(config.databaseUrl);
  console.log('leasehold: database ready, migrations applied');
  await withAccounts(async (accounts) => {
    const resealed = await accounts.resealKeys();
    if (resealed) console.log(`leasehold: re-sealed the keys of ${resealed} account(s), each bound to its account`);
    if (!config.production) {
      await accounts.ensureDevelopmentAccount();
      console.log('leasehold: development account devstoreaccount1 ready (the Azure emulator key)');
    }
  });
}

async function withAccounts<T>(work: (accounts: AccountsService) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await createDataSource(config.databaseUrl, 1).initialize();
  try {
    return await work(
      new AccountsService(new EventStore(db), new KeyCipher(config.encryptionKey), { production: config.production }),
    );
  } finally {
    await db.destroy();
  }
}

/** `accounts create|list|disable|enable|rotate`: the admin interface on the command line. */
export async function accounts(action: string, name?: string, key?: string): Promise<void> {
  const by = cliCaller(userInfo().username, randomUUID());
  await withAccounts(async (service) => {
    switch (action) {
      case 'create': {
        const [key1, key2] = [newAccountKey(), newAccountKey()];
        if (!(await service.create(name ?? '', key1, key2, by)))
          throw new AccountError('AlreadyExists', `account ${name} already exists`);
        return console.log(JSON.stringify({ name, key1, key2 }, null, 2));
      }
      case 'list':
        return console.log(JSON.stringify(await service.list(), null, 2));
      case 'disable':
        return void (await service.disable(name ?? '', by), console.log(`${name} disabled`));
      case 'enable':
        return void (await service.enable(name ?? '', by), console.log(`${name} enabled`));
      case 'rotate':
        if (key !== 'key1' && key !== 'key2') throw new UsageError('usage: accounts rotate <name> key1|key2');
        return console.log(JSON.stringify({ name, [key]: await service.rotate(name ?? '', key, by) }, null, 2));
      default:
        throw new UsageError(
          'usage: accounts create <name> | list | disable <name> | enable <name> | rotate <name> key1|key2',
        );
    }
  });
}

/** `serve`: prepare, then run one api and one worker process until either stops or a signal arrives. */
export async function serve(): Promise<void> {
  await prepare();
  const children: ChildProcess[] = [
    { entry: 'api/src/main.js', args: [] },
    { entry: 'worker/src/main.js', args: WORKER_NODE_ARGS },
  ].map(({ entry, args }) => spawn(process.execPath, [...args, resolve(__dirname, '..', entry)], { stdio: 'inherit' }));
  let asked = false;
  const stop = (signal: NodeJS.Signals) => children.forEach((child) => child.kill(signal));
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      asked = true;
      stop(signal);
    });
  await Promise.race(children.map((child) => new Promise((done) => child.on('exit', done))));
  stop('SIGTERM');
  // Stopped by a signal, it ends once both have; a process that ended by itself is a failure.
  process.exitCode = asked ? 0 : 1;
}

/** Runs `work` with one connection to the configured database. */
async function withDatabase<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: loadConfig().databaseUrl, max: 1 });
  const client = await pool.connect();
  try {
    return await work(client);
  } finally {
    client.release();
    await pool.end();
  }
}

/** `projections:verify`: rebuild into scratch tables, compare with the live ones, exit 1 on any difference. */
export async function verify(): Promise<void> {
  const started = Date.now();
  const result = await withDatabase(verifyProjections);
  const seconds = (Date.now() - started) / 1000;
  console.log(`projections:verify: ${result.events} events, ${result.rows} rows rebuilt in ${seconds.toFixed(1)} s`);
  for (const d of result.differences) {
    console.log(`  ${d.table}: ${d.onlyLive} row(s) only in the live table, ${d.onlyRebuilt} only in the rebuild`);
    for (const s of d.samples) console.log(`    ${s.side === 'live' ? 'live   ' : 'rebuilt'} ${JSON.stringify(s.row)}`);
  }
  if (result.differences.length) {
    process.exitCode = 1;
  } else {
    console.log('projections:verify: the live projections equal the rebuild');
  }
}

/** `projections:rebuild`: rebuild every projection from the log and swap the fresh tables in. */
export async function rebuild(): Promise<void> {
  const started = Date.now();
  const result = await withDatabase(rebuildProjections);
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `projections:rebuild: ${result.events} events, ${result.rows} rows, ${result.caughtUp} stream(s) caught up at the swap, ` +
      `${seconds.toFixed(1)} s (${Math.round(result.events / Math.max(seconds, 0.001))} events/s)`,
  );
}
