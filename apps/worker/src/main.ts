import { ConfigError, loadConfig, preflight } from '@leasehold/config';
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

main().catch((error) => {
  console.error(`leasehold worker: ${error instanceof ConfigError ? error.message : (error?.stack ?? error)}`);
  process.exit(1);
});
