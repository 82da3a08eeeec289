import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { FilesystemModule } from '@leasehold/filesystem';
import { HandleRepository } from '@leasehold/handles';
import { Queue } from 'bullmq';
import { ForceCloseRunner } from './force-close-runner';
import { ForceCloseWorker } from './force-close.worker';
import { CancelForceCloseJobHandler, FORCE_CLOSE_QUEUE_TOKEN, SubmitForceCloseJobHandler } from './job.commands';
import { GetForceCloseJobHandler, ListForceCloseJobsHandler } from './job.queries';
import { JobRepository } from './job.repository';
import { closeQueue, FORCE_CLOSE_QUEUE, producerConnection, queueOptions } from './queue';

/** The API side of queued force-close: submit, read, list and cancel jobs. */
@Module({
  imports: [FilesystemModule],
  providers: [
    JobRepository,
    SubmitForceCloseJobHandler,
    CancelForceCloseJobHandler,
    GetForceCloseJobHandler,
    ListForceCloseJobsHandler,
    {
      provide: FORCE_CLOSE_QUEUE_TOKEN,
      inject: [LEASEHOLD_CONFIG],
      useFactory: (config: LeaseholdConfig) => {
        const queue = new Queue(FORCE_CLOSE_QUEUE, queueOptions(config, producerConnection(config.redisUrl)));
        // Redis away: submits still answer (the reconciler queues their chunks); it is said once per outage in SubmitForceCloseJob.
        queue.on('error', () => undefined);
        return queue;
      },
    },
  ],
})
export class JobsModule implements OnApplicationShutdown {
  constructor(@Inject(FORCE_CLOSE_QUEUE_TOKEN) private readonly queue: Queue) {}

  async onApplicationShutdown(): Promise<void> {
    await closeQueue(this.queue);
  }
}

/** The worker side: runs queued chunks, closing handles through the handle registry's repository (it needs only the event store). */
@Module({
  providers: [JobRepository, HandleRepository, ForceCloseRunner, ForceCloseWorker],
  exports: [ForceCloseWorker, JobRepository, HandleRepository],
})
export class JobsWorkerModule {}
