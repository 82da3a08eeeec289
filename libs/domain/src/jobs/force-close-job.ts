/** A position in the (node_key, handle_id) order of handles: where a force-close continues. */
export interface HandleMarker {
  nodeKey: string;
  handleId: string;
}

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A queued force-close: the fold of the events on its stream, job-<id>. */
export interface ForceCloseJob {
  jobId: string;
  idempotencyKey: string;
  shareId: string;
  shareName: string;
  nodeKey: string;
  path: string;
  recursive: boolean;
  /** A handle id, or '*' for all. */
  handleId: string;
  state: JobState;
  cancelRequested: boolean;
  chunksDone: number;
  closed: number;
  marker?: HandleMarker;
  requestedBy: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  version: number;
}

export type JobEvent =
  | {
      type: 'ForceCloseJobSubmitted';
      data: Pick<
        ForceCloseJob,
        | 'jobId'
        | 'idempotencyKey'
        | 'shareId'
        | 'shareName'
        | 'nodeKey'
        | 'path'
        | 'recursive'
        | 'handleId'
        | 'requestedBy'
      > & { at: string };
    }
  // Older events also carry `failed: 0`, a count that could not be other than 0: a handle closed meanwhile is simply gone.
  | { type: 'ForceCloseChunkCompleted'; data: { chunk: number; closed: number; next?: HandleMarker; at: string } }
  | { type: 'ForceCloseJobCompleted'; data: { chunks: number; closed: number; at: string } }
  | { type: 'ForceCloseJobCancelRequested'; data: { by: string; at: string } }
  | { type: 'ForceCloseJobCancelled'; data: { chunks: number; closed: number; at: string } }
  | { type: 'ForceCloseJobFailed'; data: { error: string; at: string } };

export const isTerminal = (state: JobState) => state === 'completed' || state === 'failed' || state === 'cancelled';

export function evolveJob(job: ForceCloseJob | undefined, event: JobEvent): ForceCloseJob {
  if (event.type === 'ForceCloseJobSubmitted') {
    const { at, ...fields } = event.data;
    return { ...fields, state: 'queued', cancelRequested: false, chunksDone: 0, closed: 0, createdAt: at, version: 1 };
  }
  if (!job) throw new Error(`${event.type} before the job was submitted`);
  const next = { ...job, version: job.version + 1 };
  switch (event.type) {
    case 'ForceCloseChunkCompleted':
      return {
        ...next,
        state: 'running',
        startedAt: job.startedAt ?? event.data.at,
        chunksDone: event.data.chunk,
        closed: job.closed + event.data.closed,
        marker: event.data.next,
      };
    case 'ForceCloseJobCompleted':
      return {
        ...next,
        state: 'completed',
        startedAt: job.startedAt ?? event.data.at,
        endedAt: event.data.at,
        marker: undefined,
      };
    case 'ForceCloseJobCancelRequested':
      return { ...next, cancelRequested: true };
    case 'ForceCloseJobCancelled':
      return { ...next, state: 'cancelled', endedAt: event.data.at };
    case 'ForceCloseJobFailed':
      return { ...next, state: 'failed', endedAt: event.data.at, error: event.data.error };
  }
}

/** What the worker does with chunk n of a job. */
export type ChunkStep =
  | { kind: 'nothing' } // the job has ended
  | { kind: 'continue' } // chunk n is already recorded (a replay after a crash): only enqueue n+1
  | { kind: 'cancel'; events: JobEvent[] }
  | { kind: 'close' }; // close chunk n

/**
 * Decides the step for chunk `n`. BullMQ delivers at least once, so a chunk may arrive again after
 * a crash or a stall: what the job's stream already records is never done twice.
 */
export function decideChunk(job: ForceCloseJob, n: number, at: string): ChunkStep {
  if (isTerminal(job.state)) return { kind: 'nothing' };
  if (job.chunksDone >= n) return { kind: 'continue' };
  if (job.cancelRequested) {
    return {
      kind: 'cancel',
      events: [{ type: 'ForceCloseJobCancelled', data: { chunks: job.chunksDone, closed: job.closed, at } }],
    };
  }
  return { kind: 'close' };
}

/** The events that record chunk n closing `closed` handles and ending at `next` (undefined: nothing left). */
export function chunkEvents(
  job: ForceCloseJob,
  n: number,
  closed: number,
  next: HandleMarker | undefined,
  at: string,
): JobEvent[] {
  const events: JobEvent[] = [{ type: 'ForceCloseChunkCompleted', data: { chunk: n, closed, next, at } }];
  if (!next) events.push({ type: 'ForceCloseJobCompleted', data: { chunks: n, closed: job.closed + closed, at } });
  return events;
}
