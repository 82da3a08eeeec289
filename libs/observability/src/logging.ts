import type { LoggerService } from '@nestjs/common';
import { LogController } from 'fastify';
import pino, { Logger } from 'pino';

/**
 * Secrets that can appear inside text (an error message quoting a URL, a header): SAS signatures,
 * Shared Key signatures, bearer tokens, keys in connection strings. Structured fields are
 * handled by pino's `redact` below; message text goes through `scrub`.
 */
const SECRETS_IN_TEXT: Array<[RegExp, string]> = [
  [/([?&]sig=)[^&\s"']*/gi, '$1[redacted]'],
  [/(SharedKey(?:Lite)? [^:\s]+:)[A-Za-z0-9+/=%]+/g, '$1[redacted]'],
  [/(Bearer )\S+/gi, '$1[redacted]'],
  [/((?:AccountKey|SharedAccessSignature)=)[^;\s"']*/gi, '$1[redacted]'],
];

export function scrub(text: string): string {
  return SECRETS_IN_TEXT.reduce((s, [pattern, replacement]) => s.replace(pattern, replacement), text);
}

const REDACT = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-ms-copy-source-authorization"]',
  'key',
  'key1',
  'key2',
  '*.key',
  '*.key1',
  '*.key2',
  '*.accountKey',
  '*.sig',
  'token',
  '*.token',
];

/**
 * A logger for lines whose fields are known and flat (strings and numbers, none a secret), such as
 * the access line written for every request. pino runs each top-level value of a line through the
 * redactor of the `*.` paths, which parses every path again for every value: measured at about 9 µs
 * and 31 KB of garbage per access line, 30 % of all the API allocated per lease request. This child
 * still censors the top-level names.
 */
export const flatLineLogger = (logger: Logger): Logger =>
  logger.child({}, { redact: { paths: REDACT.filter((path) => !path.includes('.')), censor: '[redacted]' } });

export interface LoggingOptions {
  level: string;
  pretty: boolean;
  /** `api` or `worker`: every line says which process wrote it. */
  name: string;
}

/** pino: JSON lines in production (one object per line), pretty colored lines in development (through a worker thread). */
export function createLogger(options: LoggingOptions, destination?: pino.DestinationStream): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: { paths: REDACT, censor: '[redacted]' },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>);
      },
    },
    transport: options.pretty
      ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }
      : undefined,
  };
  if (destination) return pino(settings, destination);
  if (options.pretty) return pino(settings);
  // Asynchronous, buffered stdout: lines go out together once 4 KiB have gathered or every 100 ms,
  // not one write(2) per request (each async write also costs a thread-pool hand-off and its wake-up:
  // about 0.1 ms of CPU per request at one client). pino writes what is still buffered when the
  // process exits.
  return pino(settings, pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 100 }));
}

/** Nest's own log calls (start-up, Logger in services) go to the same pino logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  private write(level: 'info' | 'warn' | 'error' | 'debug' | 'trace', message: unknown, params: unknown[]): void {
    // Nest passes the context (the Logger's name) last, and for errors a stack before it.
    const context = typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const stack = level === 'error' && typeof params[0] === 'string' ? params[0] : undefined;
    const fields = { context, ...(stack ? { stack: scrub(stack) } : {}) };
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, scrub(message.message));
    else if (typeof message === 'object' && message !== null) this.logger[level]({ ...fields, ...message });
    else this.logger[level](fields, String(message));
  }

  log(message: unknown, ...params: unknown[]) {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.write('trace', message, params);
  }
}

/**
 * Fastify writes to the same logger. Its own per-request lines are off (observeHttp writes one
 * access line instead), and so is its per-request child logger: pino makes a child by running its
 * bindings through the redactor of the `*.` paths, 6 % of all the API allocated per share lease
 * renewal (bench/README.md, heartbeat), for a `reqId` only Fastify's own lines would carry.
 */
export const fastifyLogging = (logger: Logger) => ({
  loggerInstance: logger,
  logController: new LogController({ disableRequestLogging: true }),
  childLoggerFactory: () => logger,
});
