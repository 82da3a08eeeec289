import type { INestApplicationContext } from '@nestjs/common';
import type { Logger } from 'pino';

/**
 * Graceful shutdown with a deadline. On SIGTERM or SIGINT Nest closes the application: the HTTP
 * server stops accepting and waits for the requests in flight, the worker finishes the chunk in
 * hand, the pools close. If that takes longer than `timeoutMs` the process exits anyway: a chunk
 * still running is rolled back with its connection and BullMQ hands it out again.
 */
export function shutdownWithin(app: INestApplicationContext, timeoutMs: number, logger: Logger): void {
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal, timeoutMs }, 'shutting down');
      setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown deadline passed, exiting with work in flight');
        logger.flush?.();
        process.exit(1);
      }, timeoutMs).unref();
    });
  }
}
