import { ConfigError, describeStartupFailure, loadConfig, preflight } from '@leasehold/config';
import {
  createLogger,
  fastifyLogging,
  mountMetrics,
  observeHttp,
  PinoNestLogger,
  shutdownWithin,
} from '@leasehold/observability';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = loadConfig();
  const problem = await preflight(config);
  if (problem) throw new ConfigError(problem);
  const logger = createLogger({ name: 'worker', level: config.logLevel, pretty: config.logPretty });
  // An HTTP listener of its own, for /_health and /_metrics only.
  const adapter = new FastifyAdapter(fastifyLogging(logger));
  const app = await NestFactory.create<NestFastifyApplication>(WorkerModule.forRoot(config), adapter, {
    logger: new PinoNestLogger(logger),
  });
  const fastify = app.getHttpAdapter().getInstance();
  observeHttp(fastify, logger);
  mountMetrics(fastify);
  shutdownWithin(app, config.shutdownTimeoutMs, logger);
  await app.listen(config.workerPort, config.host);
  const address = app.getHttpServer().address();
  const url = `http://${config.host}:${typeof address === 'object' && address ? address.port : config.workerPort}`;
  logger.info({ url }, `leasehold worker started, health and metrics on ${url}`);
}

main().catch((error: unknown) => {
  console.error(`leasehold worker: ${describeStartupFailure(error)}`);
  process.exit(1);
});
