import { ConfigError, describeStartupFailure, loadConfig, preflight } from '@leasehold/config';
import { startApi } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  const problem = await preflight(config);
  if (problem) throw new ConfigError(problem);
  const { url } = await startApi(config);
  console.log(`leasehold api listening on ${url}`);
}

main().catch((error: unknown) => {
  console.error(`leasehold api: ${describeStartupFailure(error)}`);
  process.exit(1);
});
