import type { Logger } from '@nestjs/common';

/**
 * SQLSTATE classes and codes that say the server is away or not taking work, not that the statement
 * was wrong; 3D000 is the service's database itself gone (dropped, or not yet restored).
 */
const UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53300|53400|3D000)$/;
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// pg reports a dropped connection, a dead pooled client and a pool wait that timed out by message only.
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable|Connection is closed/i;

/** True when `error` means PostgreSQL could not be reached or dropped the connection: worth a 503 and a retry. */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown } | undefined;
  if (!e || typeof e !== 'object') return false;
  if (e.driverError && isUnavailable(e.driverError)) return true;
  const code = typeof e.code === 'string' ? e.code : '';
  if (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_ERRNOS.has(code)) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}

/**
 * One log line when a dependency goes away and one when it is back, however many requests fail in
 * between: an outage is an incident, not a stack trace per request.
 */
export class OutageLog {
  private since?: number;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'log'>,
    private readonly dependency: string,
    /** What happens meanwhile, for the operator. */
    private readonly meanwhile: string,
  ) {}

  failed(error: unknown): void {
    if (this.since !== undefined) return;
    this.since = Date.now();
    this.logger.warn(`${this.dependency} unavailable (${(error as Error)?.message ?? error}); ${this.meanwhile}`);
  }

  /**
   * An operation succeeded. One begun before the incident (`startedAt`, ms) proves nothing: it may
   * have had its answer before the dependency went, and ending the incident on it would log the
   * same outage twice.
   */
  succeeded(startedAt?: number): void {
    if (this.since === undefined || (startedAt !== undefined && startedAt < this.since)) return;
    this.logger.log(`${this.dependency} available again after ${((Date.now() - this.since) / 1000).toFixed(1)} s`);
    this.since = undefined;
  }
}
