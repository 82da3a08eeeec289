import type { Caller } from '@leasehold/domain';

/** Who caused an event and through which request: recorded on every event for the audit trail. */
export type EventMetadata = Caller;

/** The caller as recorded on an event: only the fields it has (no undefined keys in the JSON). */
export function eventMetadata(caller: Caller): EventMetadata {
  const { principal, authentication, requestId, clientRequestId, actor, jobId } = caller;
  return {
    requestId,
    ...(clientRequestId !== undefined ? { clientRequestId } : {}),
    principal,
    authentication,
    ...(actor !== undefined ? { actor } : {}),
    ...(jobId !== undefined ? { jobId } : {}),
  };
}

export interface NewEvent {
  type: string;
  data: object;
  schemaVersion?: number;
}

export interface RecordedEvent {
  position: string;
  transactionId: string;
  tenant: string;
  streamId: string;
  streamVersion: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  /** The event's JSON as stored; the library that owns the event type knows its shape. */
  data: unknown;
  metadata: EventMetadata;
  recordedAt: Date;
}

/** A parameterised SQL statement with its own $1..$n placeholders. */
export interface Statement {
  sql: string;
  params: unknown[];
}

export interface AppendRequest {
  tenant: string;
  streamId: string;
  /** The stream's version before these events (0 for a new stream). */
  expectedVersion: number;
  events: NewEvent[];
  metadata: EventMetadata;
  /**
   * The inline projection of these events, run in the same SQL statement as the insert. It must
   * return a row when it applied (e.g. `UPDATE … WHERE version = expected RETURNING 1`); when it
   * returns none, nothing is appended and the append fails with a ConcurrencyError.
   */
  projection?: Statement;
}

/** Anything that runs SQL and gives back the rows: the pool, or one transaction's connection. */
export interface SqlExecutor {
  /** `R` names the row the statement selects (`query<{ n: number }>('SELECT count(*)::int AS n …')`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- unnamed rows stay any, so the unsafe-* rules flag every use of one
  query<R = any>(sql: string, params?: unknown[]): Promise<R[]>;
}

/** Statements on one connection (a transaction's), which can also bulk-load. */
export interface ConnectionExecutor extends SqlExecutor {
  /** Loads rows into `table` with COPY FROM STDIN; each row holds one value per column, in order. */
  copyIn(table: string, columns: readonly string[], rows: Iterable<readonly unknown[]>): Promise<void>;
}

/** Where a checkpointed reader has got to: the last (transaction id, position) it processed. */
export interface Checkpoint {
  transactionId: string;
  position: string;
}

/** Narrows a readAllWithFirstEvents: one tenant's events, and/or only up to a checkpoint (inclusive). */
export interface ReadScope {
  tenant?: string;
  until?: Checkpoint;
}

/** Two decimal strings without leading zeros, compared as numbers without parsing them. */
const compareDecimal = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/** Compares two checkpoints in readAll's order: negative when a comes before b. */
export const compareCheckpoints = (a: Checkpoint, b: Checkpoint): number =>
  compareDecimal(a.transactionId, b.transactionId) || compareDecimal(a.position, b.position);
