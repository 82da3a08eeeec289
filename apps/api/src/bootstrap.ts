import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LeaseholdConfig } from '@leasehold/config';
import { createLogger, fastifyLogging, mountMetrics, observeHttp, PinoNestLogger } from '@leasehold/observability';
import { mountWireGateway, WireGateway, wireFastifyOptions } from '@leasehold/wire';
import type { Logger } from 'pino';
import { ApiModule } from './api.module';
import { mountConsole } from './console';
import { mountDocs } from './docs/mount-docs';
import { mountQueueBoard } from './queue-board';

export interface RunningApi {
  app: NestFastifyApplication;
  url: string;
  logger: Logger;
  /** Every route the HTTP server registered (method and URL pattern), as Fastify saw them. */
  routes: Array<{ method: string; url: string }>;
}

/** The most verbose of Nest's levels, as a pino level. */
const pinoLevel = (levels: LogLevel[]) =>
  (['verbose', 'debug', 'log', 'warn', 'error', 'fatal'] as const)
    .find((l) => levels.includes(l))
    ?.replace('log', 'info')
    .replace('verbose', 'trace') ?? 'silent';

/**
 * Builds and starts the API; used by main.ts and by the end-to-end tests (which pass the levels
 * they want to see, and a console bundle of their own). Service endpoints (/_health, /_metrics,
 * /_docs, /_admin, /_console) are routes of their own; everything else goes to the Azure gateway.
 */
export async function startApi(
  config: LeaseholdConfig,
  levels?: LogLevel[],
  options: { consoleDir?: string } = {},
): Promise<RunningApi> {
  const logger = createLogger({
    name: 'api',
    level: levels ? pinoLevel(levels) : config.logLevel,
    pretty: config.logPretty,
  });
  // While closing, a request on a connection already accepted is served like any other (it is in
  // flight), not answered with Fastify's own non-Azure 503.
  const adapter = new FastifyAdapter({ ...wireFastifyOptions, ...fastifyLogging(logger), return503OnClosing: false });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), adapter, {
    logger: new PinoNestLogger(logger),
  });
  const fastify = app.getHttpAdapter().getInstance();
  const routes: RunningApi['routes'] = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  observeHttp(fastify, logger);
  mountMetrics(fastify);
  await mountDocs(fastify);
  await mountQueueBoard(fastify, config);
  mountConsole(fastify, options.consoleDir);
  mountWireGateway(fastify, app.get(WireGateway));
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return { app, url: `http://${config.host}:${port}`, logger, routes };
}
