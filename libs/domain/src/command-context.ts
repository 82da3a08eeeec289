/** How the caller proved who it is. */
export type Authentication = 'SharedKey' | 'SAS' | 'Admin' | 'Cli' | 'Worker' | 'System';

/** Who is acting and through which request, whatever the interface: every event a command causes records it. */
export interface Caller {
  /** The accountable principal: the account name for Shared Key, `sas:<account>` for a SAS, `cli:<user>`, `admin`, `system`. */
  principal: string;
  authentication: Authentication;
  requestId: string;
  clientRequestId?: string;
  /** The process that acted when it is not the principal itself: `worker:<host>` for a queued job's chunk. */
  actor?: string;
  /** Set when a queued job caused the command. */
  jobId?: string;
}

/** A command's who and why: the caller, the tenant it acts in, and the time it was issued (events record it). */
export interface CommandContext extends Caller {
  /** The storage account the command acts in. */
  tenant: string;
  now: Date;
}

/** The service itself (the development account at start-up). */
export const SYSTEM_CALLER: Caller = { principal: 'system', authentication: 'System', requestId: 'system' };

/** An operator at the command line: `cli:<os user>`, one request id per invocation. */
export const cliCaller = (user: string, requestId: string): Caller => ({
  principal: `cli:${user}`,
  authentication: 'Cli',
  requestId,
});

/**
 * Chunk n of a queued job, run by a worker on `host`. The job acts for whoever submitted it, so that
 * principal stays accountable; the worker that did the work is recorded as the actor.
 */
export function workerContext(
  host: string,
  job: { tenant: string; jobId: string; requestedBy: string },
  chunk: number,
  now: Date,
): CommandContext {
  return {
    tenant: job.tenant,
    principal: job.requestedBy,
    authentication: 'Worker',
    actor: `worker:${host}`,
    requestId: `job-${job.jobId}-chunk-${chunk}`,
    jobId: job.jobId,
    now,
  };
}
