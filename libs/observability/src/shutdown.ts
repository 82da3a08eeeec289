import type { INestApplicationContext } from '@nestjs/common';
import type { Logger } from 'pino';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Graceful shutdown with a deadline. On SIGTERM or SIGINT Nest closes the application: the HTTP
 * server stops accepting and waits for the requests in flight, the worker finishes the chunk in
 * hand, the pools close. If that takes longer than `timeoutMs` the process exits anyway: a chunk
 * still running is rolled back with its connection and BullMQ hands it out again.
 *
 * This does what Nest's enableShutdownHooks does (close, then end by the same signal; a second
 * signal meanwhile is ignored), and between the two writes out the log lines still buffered
 * (createLogger's stdout): ending by a signal would drop them.
 */
export function shutdownWithin(app: INestApplicationContext, timeoutMs: number, logger: Logger): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal, timeoutMs }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown deadline passed, exiting with work in flight');
      process.exit(1);
    }, timeoutMs).unref();
    app
      .close()
      .then(() => new Promise<void>((flushed) => logger.flush(() => flushed())))
      .then(
        () => {
          for (const name of SIGNALS) process.removeListener(name, onSignal);
          process.kill(process.pid, signal);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  for (const name of SIGNALS) process.on(name, onSignal);
}
