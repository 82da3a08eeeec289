import { JobsOptions, Queue } from 'bullmq';
import Redis from 'ioredis';

export const FORCE_CLOSE_QUEUE = 'force-close';

/** One queue entry is one chunk of one job: the worker gives its slot back between chunks. */
export interface ChunkJobData {
  tenant: string;
  jobId: string;
  chunk: number;
}

/** BullMQ job ids may not contain ':'; this one also deduplicates re-enqueued chunks. */
export const chunkJobId = ({ jobId, chunk }: ChunkJobData) => `${jobId}-${chunk}`;

/** BullMQ needs `maxRetriesPerRequest: null` so a Redis outage waits instead of failing commands. */
export const redisConnection = (url: string) => new Redis(url, { maxRetriesPerRequest: null });

export function chunkJobOptions(retentionSeconds: number): JobsOptions {
  return {
    // PostgreSQL or Redis away for a while: retry with backoff (about 17 minutes in all) before giving up.
    attempts: 12,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { age: retentionSeconds },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export async function enqueueChunk(queue: Queue, data: ChunkJobData, retentionSeconds: number): Promise<void> {
  await queue.add('chunk', data, { ...chunkJobOptions(retentionSeconds), jobId: chunkJobId(data) });
}
