import { ShareDirectoryClient, ShareFileClient } from '@azure/storage-file-share';
import { SingleBar } from 'cli-progress';
import { LeaseholdClient } from './client';

export interface Job {
  jobId: string;
  state: string;
  share: string;
  path: string;
  recursive: boolean;
  handleId: string;
  chunksDone: number;
  handlesClosed: number;
  cancelRequested: boolean;
  requestedBy: string;
  createdTime: string;
  startedTime: string;
  endedTime: string;
  error?: string;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** The <ForceCloseJob> element as the XML parser gives it. */
export type JobXml = Record<string, string>;

/** The <ForceCloseJob> element, typed. */
export function toJob(x: JobXml): Job {
  return {
    jobId: x.JobId,
    state: x.State,
    share: x.Share,
    path: x.Path,
    recursive: x.Recursive === 'true',
    handleId: x.HandleId,
    chunksDone: Number(x.ChunksDone),
    handlesClosed: Number(x.HandlesClosed),
    cancelRequested: x.CancelRequested === 'true',
    requestedBy: x.RequestedBy,
    createdTime: x.CreatedTime,
    startedTime: x.StartedTime,
    endedTime: x.EndedTime,
    ...(x.Error ? { error: x.Error } : {}),
  };
}

export const getJob = async (client: LeaseholdClient, jobId: string) =>
  toJob(await client.sendXml<JobXml>('GET', undefined, { comp: 'forceclosejob', jobid: jobId }));

/** Open handles a job over `target` has to close, counted by listing them (5,000 a page). */
export async function countHandles(
  target: ShareFileClient | ShareDirectoryClient,
  recursive: boolean,
): Promise<number> {
  let count = 0;
  const pages =
    target instanceof ShareDirectoryClient
      ? target.listHandles({ recursive }).byPage({ maxPageSize: 5000 })
      : target.listHandles().byPage({ maxPageSize: 5000 });
  for await (const page of pages) count += page.handleList?.length ?? 0;
  return count;
}

const POLL_MS = 500;

const duration = (seconds: number) =>
  seconds >= 60
    ? `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
    : `${Math.ceil(seconds)}s`;

/**
 * Follows a job until it ends, drawing a progress bar: handles closed of those in scope, the rate,
 * and the ETA. `total` is what was open in scope when watching began (plus what the job had
 * already closed); handles opened meanwhile can make the job close more, and then the bar grows.
 */
export async function watchJob(
  client: LeaseholdClient,
  jobId: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<Job> {
  let job = await getJob(client, jobId);
  const started = Date.now();
  const closedAtStart = job.handlesClosed;
  const bar = new SingleBar({
    format:
      'job {jobId} [{bar}] {percentage}% | {value}/{total} handles | {rate} handles/s | ETA {remaining} | {state}',
    stream,
    noTTYOutput: true,
    notTTYSchedule: 1000,
    hideCursor: true,
    etaBuffer: 20,
  });
  const payload = (of = bar.getTotal()) => {
    const rate = (job.handlesClosed - closedAtStart) / Math.max(0.001, (Date.now() - started) / 1000);
    const left = Math.max(0, of - job.handlesClosed);
    return {
      jobId: job.jobId.slice(0, 8),
      state: job.state,
      rate: Math.round(rate),
      remaining: left === 0 ? '0s' : rate > 0 ? duration(left / rate) : '-',
    };
  };
  const initial = Math.max(total, job.handlesClosed);
  bar.start(initial, job.handlesClosed, payload(initial));
  while (!TERMINAL.has(job.state)) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await getJob(client, jobId);
    if (job.handlesClosed > bar.getTotal()) bar.setTotal(job.handlesClosed);
    bar.update(job.handlesClosed, payload());
  }
  // A completed job closed everything in scope: the bar ends full even if fewer were counted.
  if (job.state === 'completed') bar.setTotal(job.handlesClosed);
  bar.update(job.handlesClosed, payload());
  bar.stop();
  return job;
}
