import { Command, CommanderError } from 'commander';
import { CliError } from './client';
import { clientCommands } from './client-commands';

/**
 * `leasehold`: the client commands (leases, handles, jobs, audit) talk to a running service with
 * the connection string in LEASEHOLD_CONNECTION_STRING, signing like the SDK; the operator's
 * commands (serve, migrate, accounts, projections) use the deployment's configuration.
 */
const program = new Command('leasehold')
  .description('Leasehold from a terminal')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride()
  .addHelpText(
    'after',
    '\nClient commands read LEASEHOLD_CONNECTION_STRING (an Azure Storage connection string with AccountName, AccountKey and FileEndpoint).',
  );

// Loaded when run: the client commands must not pay for the server's libraries.
const operator = () => import('./operator');

program
  .command('serve')
  .description('migrate, then run one API and one worker until stopped')
  .action(async () => (await operator()).serve());
program
  .command('migrate')
  .description('apply migrations and (outside production) create the development account')
  .action(async () => (await operator()).prepare());
const accounts = program
  .command('accounts')
  .description('tenants and their keys, straight in the database (the admin API on the command line)');
accounts
  .command('create <name>')
  .description('a new account; prints both keys')
  .action(async (name: string) => (await operator()).accounts('create', name));
accounts
  .command('list')
  .description('every account')
  .action(async () => (await operator()).accounts('list'));
accounts
  .command('disable <name>')
  .description("refuse the account's requests")
  .action(async (name: string) => (await operator()).accounts('disable', name));
accounts
  .command('enable <name>')
  .description('accept them again')
  .action(async (name: string) => (await operator()).accounts('enable', name));
accounts
  .command('rotate <name> <key>')
  .description('replace key1 or key2 with a new key; prints it')
  .action(async (name: string, key: string) => (await operator()).accounts('rotate', name, key));
const projections = program.command('projections').description('check or rebuild the projections from the event log');
projections
  .command('verify')
  .description('compare every projection with a rebuild; exit 1 on a difference')
  .action(async () => (await operator()).verify());
projections
  .command('rebuild')
  .description('rebuild every projection and swap it in')
  .action(async () => (await operator()).rebuild());
clientCommands(program);

program.parseAsync(process.argv).catch(async (error) => {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const { ConfigError } = await import('@leasehold/config');
  const { AccountError } = await import('@leasehold/accounts');
  const { UsageError } = await operator();
  const known = error instanceof ConfigError || error instanceof AccountError || error instanceof UsageError;
  console.error(`leasehold: ${known ? error.message : CliError.from(error).oneLine()}`);
  process.exit(1);
});
