import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { CommandContext, DomainError, ForceCloseJob } from '@leasehold/domain';
import { JobRepository } from './job.repository';

/** Where a page of the job list continues: newest first, so after an older (created, id) position. */
export type JobPosition = { createdAt: string; jobId: string };

export class GetForceCloseJobQuery extends Query<ForceCloseJob> {
  constructor(
    readonly context: CommandContext,
    readonly jobId: string,
  ) {
    super();
  }
}

export class ListForceCloseJobsQuery extends Query<{ jobs: ForceCloseJob[]; more: boolean }> {
  constructor(
    readonly context: CommandContext,
    readonly after: JobPosition | undefined,
    readonly limit: number,
  ) {
    super();
  }
}

@QueryHandler(GetForceCloseJobQuery)
export class GetForceCloseJobHandler implements IQueryHandler<GetForceCloseJobQuery> {
  constructor(private readonly jobs: JobRepository) {}

  async execute({ context, jobId }: GetForceCloseJobQuery): Promise<ForceCloseJob> {
    const job = await this.jobs.find(context.tenant, jobId);
    if (!job) throw new DomainError('JobNotFound');
    return job;
  }
}

@QueryHandler(ListForceCloseJobsQuery)
export class ListForceCloseJobsHandler implements IQueryHandler<ListForceCloseJobsQuery> {
  constructor(private readonly jobs: JobRepository) {}

  execute({ context, after, limit }: ListForceCloseJobsQuery) {
    return this.jobs.list(context.tenant, after, limit);
  }
}
