import { ConfigError, describeStartupFailure, loadConfig, preflight } from '@leasehold/config';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = loadConfig();
  const problem = await preflight(config);
  if (problem) throw new ConfigError(problem);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  new Logger('Worker').log('leasehold worker started');
}

main().catch((error: unknown) => {
  console.error(`leasehold worker: ${describeStartupFailure(error)}`);
  process.exit(1);
});
