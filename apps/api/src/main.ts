import { ConfigError, describeStartupFailure, loadConfig, preflight } from '@leasehold/config';
import { shutdownWithin } from '@leasehold/observability';
import { startApi } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  const problem = await preflight(config);
  if (problem) throw new ConfigError(problem);
  const { app, url, logger } = await startApi(config);
  shutdownWithin(app, config.shutdownTimeoutMs, logger);
  logger.info({ url }, `leasehold api listening on ${url}`);
}

main().catch((error: unknown) => {
  console.error(`leasehold api: ${describeStartupFailure(error)}`);
  process.exit(1);
});
