import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ForceCloseJob } from '@leasehold/domain';
import {
  CancelForceCloseJobCommand,
  GetForceCloseJobQuery,
  JobPosition,
  ListForceCloseJobsQuery,
  SubmitForceCloseJobCommand,
} from '@leasehold/jobs';
import {
  AzureOperation,
  booleanHeader,
  element,
  header,
  invalidHeader,
  invalidQuery,
  markerBinding,
  MarkerCodec,
  missingQuery,
  pageSize,
  requiredHeader,
  WireRequest,
  WireResponse,
  xmlResponse,
} from '@leasehold/wire';
import { requireAccountOwner } from '../account-owner';

export const JOB_ID_HEADER = 'x-leasehold-job-id';
export const IDEMPOTENCY_KEY_HEADER = 'x-leasehold-idempotency-key';
const MAX_JOBS_PAGE = 1000;

const isJobPosition = (v: unknown): v is JobPosition =>
  typeof (v as JobPosition)?.createdAt === 'string' && typeof (v as JobPosition)?.jobId === 'string';

/** `jobid` is required on Get and Cancel; any other value is a job that does not exist (404). */
function jobIdOf(req: WireRequest): string {
  const jobId = req.query['jobid'];
  if (jobId === undefined || jobId === '') throw missingQuery('jobid');
  return jobId;
}

function jobXml(job: ForceCloseJob): string {
  return (
    `<ForceCloseJob>${element('JobId', job.jobId)}${element('State', job.state)}${element('Share', job.shareName)}${element('Path', job.path)}` +
    `${element('Recursive', String(job.recursive))}${element('HandleId', job.handleId)}${element('ChunksDone', job.chunksDone)}` +
    `${element('HandlesClosed', job.closed)}${element('CancelRequested', String(job.cancelRequested))}` +
    `${element('RequestedBy', job.requestedBy)}${element('CreatedTime', job.createdAt)}${element('StartedTime', job.startedAt)}` +
    `${element('EndedTime', job.endedAt)}${job.error ? element('Error', job.error) : ''}</ForceCloseJob>`
  );
}

/** Extension operations for queued force-close jobs; account owner only, like Force Close Handles. */
@Injectable()
export class JobOperations {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    private readonly markers: MarkerCodec,
  ) {}

  @AzureOperation({
    name: 'Submit Force Close Job (extension)',
    method: 'PUT',
    comp: 'forceclosejob',
    resource: 'file-or-directory',
    sas: 'owner',
  })
  async submit(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const handleId = requiredHeader(req, 'x-ms-handle-id');
    if (handleId !== '*' && !/^\d{1,19}$/.test(handleId)) throw invalidHeader('x-ms-handle-id', handleId);
    const key = header(req, IDEMPOTENCY_KEY_HEADER);
    if (key !== undefined && (key.length === 0 || key.length > 256))
      throw invalidHeader(IDEMPOTENCY_KEY_HEADER, key.slice(0, 64));
    const job = await this.commands.execute(
      new SubmitForceCloseJobCommand(
        req.context,
        req.share!,
        req.path,
        handleId,
        booleanHeader(req, 'x-ms-recursive') ?? false,
        key,
      ),
    );
    return xmlResponse(jobXml(job), 202, { [JOB_ID_HEADER]: job.jobId });
  }

  @AzureOperation({
    name: 'Get Force Close Job (extension)',
    method: 'GET',
    comp: 'forceclosejob',
    resource: 'account',
    sas: 'owner',
  })
  async get(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const job = await this.queries.execute(new GetForceCloseJobQuery(req.context, jobIdOf(req)));
    return xmlResponse(jobXml(job));
  }

  @AzureOperation({
    name: 'Cancel Force Close Job (extension)',
    method: 'DELETE',
    comp: 'forceclosejob',
    resource: 'account',
    sas: 'owner',
  })
  async cancel(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const job = await this.commands.execute(new CancelForceCloseJobCommand(req.context, jobIdOf(req)));
    return xmlResponse(jobXml(job), 202);
  }

  @AzureOperation({
    name: 'List Force Close Jobs (extension)',
    method: 'GET',
    comp: 'forceclosejobs',
    resource: 'account',
    sas: 'owner',
  })
  async list(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const limit = pageSize(req.query, MAX_JOBS_PAGE);
    const marker = req.query['marker'];
    const after = marker ? this.decodeMarker(req.context.tenant, marker) : undefined;
    const { jobs, more } = await this.queries.execute(new ListForceCloseJobsQuery(req.context, after, limit));
    const last = jobs[jobs.length - 1];
    const next =
      more && last ? this.encodeMarker(req.context.tenant, { createdAt: last.createdAt, jobId: last.jobId }) : '';
    return xmlResponse(
      `<EnumerationResults><Jobs>${jobs.map(jobXml).join('')}</Jobs>${element('NextMarker', next)}</EnumerationResults>`,
    );
  }

  private encodeMarker(account: string, position: JobPosition): string {
    return this.markers.encode(markerBinding('jobs', account), position);
  }

  private decodeMarker(account: string, marker: string): JobPosition {
    const position = this.markers.decode(markerBinding('jobs', account), marker, isJobPosition);
    if (!position) throw invalidQuery('marker', marker);
    return position;
  }
}
