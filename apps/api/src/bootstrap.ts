import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LeaseholdConfig } from '@leasehold/config';
import { mountWireGateway, WireGateway, wireFastifyOptions } from '@leasehold/wire';
import { ApiModule } from './api.module';

export interface RunningApi {
  app: NestFastifyApplication;
  url: string;
}

/** Builds and starts the API; used by main.ts and by the end-to-end tests. */
export async function startApi(config: LeaseholdConfig, logger: LogLevel[] = ['log', 'warn', 'error']): Promise<RunningApi> {
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), new FastifyAdapter(wireFastifyOptions), { logger });
  mountWireGateway(app.getHttpAdapter().getInstance(), app.get(WireGateway));
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return { app, url: `http://${config.host}:${port}` };
}
