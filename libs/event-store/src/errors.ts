import { StacklessError } from '@leasehold/domain';
import { concurrencyConflicts } from '@leasehold/observability';

/**
 * The stream moved on since the caller read it (another writer appended first, or the inline
 * projection's version guard did not match). Callers re-read and decide again. Every lost race makes
 * one (a third of the requests on the lease bench's hot file), and it is a signal, not a fault:
 * built without a stack.
 */
export class ConcurrencyError extends StacklessError {
  constructor(
    readonly tenant: string,
    readonly streamId: string,
    readonly expectedVersion: number,
  ) {
    super(`stream ${streamId} of ${tenant} is no longer at version ${expectedVersion}`);
    // Made once, where the conflict is detected: the count of these is the conflict count.
    concurrencyConflicts.inc();
  }
}

const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.code ?? e?.driverError?.code;
  const name = e?.constraint ?? e?.driverError?.constraint;
  return code === UNIQUE_VIOLATION && (constraint === undefined || name === constraint);
}

/** PostgreSQL broke a lock cycle by failing this transaction: for an optimistic writer, only "decide again". */
export const isDeadlock = (error: unknown): boolean => (error as { code?: string })?.code === '40P01';
