import { JobsOptions, Queue, Worker } from 'bullmq';
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

/**
 * The API only adds entries, and a request must not wait on Redis: commands fail at once while it
 * is away (no offline queue, no retries) and wait at most 5 s on a Redis that hangs (a first add,
 * which loads BullMQ's scripts, took 0.9 s on a busy machine); the reconciler queues the chunk later.
 */
export const producerConnection = (url: string) =>
  new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: 5_000, connectTimeout: 2_000 });

/** The API's Queue and the worker must agree on the connection and the prefix (QUEUE_PREFIX). */
export const queueOptions = (
  config: { redisUrl: string; queuePrefix: string },
  connection = redisConnection(config.redisUrl),
) => ({
  connection,
  prefix: config.queuePrefix,
});

/**
 * BullMQ treats a connection it was given as shared and leaves it open on close(); it is ours, so
 * end it too, or the process (an API in a test, say) still holds a socket to Redis after shutdown.
 */
export async function closeQueue(queue: Queue | Worker): Promise<void> {
  await queue.close();
  const connection = queue.opts.connection;
  if (connection instanceof Redis) await connection.quit().catch(() => connection.disconnect());
}

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
