import type { ResourceKind } from '@leasehold/wire';

/** OpenAPI 3.1 objects, as far as this document uses them. */
export type Schema = Record<string, unknown>;
export interface Parameter {
  name: string;
  in: 'query' | 'header' | 'path';
  required?: boolean;
  description?: string;
  schema: Schema;
}
export interface Response {
  description: string;
  headers?: Record<string, { description?: string; schema: Schema }>;
  content?: Record<string, { schema: Schema }>;
}

/**
 * One extension operation of the Azure dialect: routed, like Azure's own, by method and `comp`.
 * `resource` is what the URL must name, as the operation's @AzureOperation declares it.
 */
export interface ExtensionOperation {
  name: string;
  method: 'GET' | 'PUT' | 'DELETE';
  comp: string;
  resource: ResourceKind;
  summary: string;
  description?: string;
  parameters?: Parameter[];
  responses: Record<string, Response>;
}

const error: Response = {
  description: 'Azure-style error: the status, an `x-ms-error-code` header and `<Error><Code/><Message/></Error>`.',
  headers: { 'x-ms-error-code': { schema: { type: 'string' } } },
  content: { 'application/xml': { schema: { type: 'string' } } },
};
const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), error]));
const xml = (description: string): Response => ({
  description,
  content: { 'application/xml': { schema: { type: 'string' } } },
});
const json = (description: string, schema: Schema): Response => ({
  description,
  content: { 'application/json': { schema } },
});
const header = (
  name: string,
  description: string,
  required = false,
  schema: Schema = { type: 'string' },
): Parameter => ({ name, in: 'header', required, description, schema });
const query = (
  name: string,
  description: string,
  schema: Schema = { type: 'string' },
  required = false,
): Parameter => ({ name, in: 'query', required, description, schema });

const marker = query(
  'marker',
  'Opaque continuation marker from the previous page; bound to the account and the query it came from.',
);
const jobId = query(
  'jobid',
  'The job id (`x-leasehold-job-id` of the submit).',
  { type: 'string', format: 'uuid' },
  true,
);
const jobXml =
  'The job as `<ForceCloseJob>`: JobId, State (queued, running, completed, failed, cancelled), Share, Path, Recursive, HandleId, ChunksDone, HandlesClosed, CancelRequested, RequestedBy, CreatedTime, StartedTime, EndedTime, Error.';
const auditFilters: Parameter[] = [
  query('recursive', 'With a path: the directory and everything under it.', { type: 'boolean' }),
  query('type', 'Event type, e.g. `LeaseBroken`.'),
  query('leaseid', 'A lease id, in any GUID format.'),
  query('handleid', 'A handle id.'),
  query('jobid', 'A force-close job id.', { type: 'string', format: 'uuid' }),
  query('clientrequestid', 'The x-ms-client-request-id of the request that caused the event.'),
  query('principal', 'Who caused it: the account (Shared Key), `sas:{account}`, `admin`, …'),
  query('from', 'Recorded at or after (ISO 8601).', { type: 'string', format: 'date-time' }),
  query('to', 'Recorded before (ISO 8601).', { type: 'string', format: 'date-time' }),
];
export const auditEventSchema: Schema = {
  type: 'object',
  properties: {
    seq: { type: 'string', description: 'Position in the audit read model (apply order).' },
    position: { type: 'string', description: 'Global position in the event log.' },
    type: { type: 'string', examples: ['LeaseAcquired'] },
    share: { type: ['string', 'null'] },
    path: { type: ['string', 'null'] },
    streamId: { type: 'string' },
    streamVersion: { type: 'integer' },
    leaseId: { type: ['string', 'null'] },
    handleId: { type: ['string', 'null'] },
    jobId: { type: ['string', 'null'] },
    requestId: { type: ['string', 'null'] },
    clientRequestId: { type: ['string', 'null'] },
    principal: { type: ['string', 'null'] },
    recordedAt: { type: 'string', format: 'date-time' },
    data: { type: 'object' },
  },
};

/** Every extension operation the API registers; a test checks this list against the router's. */
export const EXTENSION_OPERATIONS: ExtensionOperation[] = [
  {
    name: 'Open Handle (extension)',
    method: 'PUT',
    comp: 'openhandle',
    resource: 'file-or-directory',
    summary: 'Register a handle a client holds open on a file, a directory or the share root',
    parameters: [
      header('x-leasehold-client-ip', '`ip:port` of the client.', true),
      header('x-leasehold-client-name', 'The client machine name (≤ 256 characters).'),
      header('x-leasehold-session-id', 'uint64; generated when absent.'),
      header(
        'x-leasehold-access',
        'Comma-separated Read, Write, Delete (default Read). Write or Delete on a leased file need its lease id.',
      ),
      header('x-ms-lease-id', 'The lease id, for Write or Delete on a leased file.'),
    ],
    responses: {
      '201': {
        description: 'Opened.',
        headers: {
          'x-leasehold-handle-id': { schema: { type: 'string' } },
          'x-leasehold-file-id': { schema: { type: 'string' } },
          'x-leasehold-session-id': { schema: { type: 'string' } },
        },
      },
      ...errors(400, 404, 409, 412),
    },
  },
  {
    name: 'Close Handle (extension)',
    method: 'PUT',
    comp: 'closehandle',
    resource: 'file-or-directory',
    summary: 'The holder closes its own handle',
    parameters: [
      header('x-leasehold-handle-id', 'The handle id.', true),
      header('x-leasehold-session-id', "The holder's session id: its proof.", true),
    ],
    responses: { '200': { description: 'Closed.' }, ...errors(400, 404) },
  },
  {
    name: 'Submit Force Close Job (extension)',
    method: 'PUT',
    comp: 'forceclosejob',
    resource: 'file-or-directory',
    summary: 'Queue a force-close of the handles on a path; the worker closes them chunk by chunk',
    parameters: [
      header('x-ms-handle-id', '`*` or one handle id.', true),
      header('x-ms-recursive', 'Include everything under a directory.', false, { type: 'boolean' }),
      header(
        'x-leasehold-idempotency-key',
        'The same key gives the same job (default: x-ms-client-request-id).',
        false,
        { type: 'string', maxLength: 256 },
      ),
    ],
    responses: {
      '202': { ...xml(jobXml), headers: { 'x-leasehold-job-id': { schema: { type: 'string', format: 'uuid' } } } },
      ...errors(400, 403, 404),
    },
  },
  {
    name: 'Get Force Close Job (extension)',
    method: 'GET',
    comp: 'forceclosejob',
    resource: 'account',
    summary: 'One job',
    parameters: [jobId],
    responses: { '200': xml(jobXml), ...errors(403, 404) },
  },
  {
    name: 'Cancel Force Close Job (extension)',
    method: 'DELETE',
    comp: 'forceclosejob',
    resource: 'account',
    summary: 'Cancel a job: it stops after the chunk in hand',
    parameters: [jobId],
    responses: { '202': xml(jobXml), ...errors(403, 404, 409) },
  },
  {
    name: 'List Force Close Jobs (extension)',
    method: 'GET',
    comp: 'forceclosejobs',
    resource: 'account',
    summary: "The account's jobs, newest first",
    parameters: [query('maxresults', 'Page size (≤ 1,000).', { type: 'integer', minimum: 1, maximum: 1000 }), marker],
    responses: {
      '200': xml('`<EnumerationResults><Jobs><ForceCloseJob>…</Jobs><NextMarker/></EnumerationResults>`'),
      ...errors(400, 403),
    },
  },
  {
    name: 'Query Audit Events (extension)',
    method: 'GET',
    comp: 'auditevents',
    resource: 'any',
    summary: "The account's events from the audit read model (it trails the log by moments)",
    description: 'The URL names the account, a share, or a path below it.',
    parameters: [
      ...auditFilters,
      query('order', 'By apply order.', { type: 'string', enum: ['asc', 'desc'], default: 'desc' }),
      query('maxresults', 'Page size (≤ 1,000).', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
      marker,
    ],
    responses: {
      '200': json('One page.', {
        type: 'object',
        properties: {
          events: { type: 'array', items: { $ref: '#/components/schemas/AuditEvent' } },
          nextMarker: { type: 'string', description: 'Empty on the last page.' },
        },
      }),
      ...errors(400, 403),
    },
  },
  {
    name: 'Lease History (extension)',
    method: 'GET',
    comp: 'leasehistory',
    resource: 'file-or-directory',
    summary: "One file's lease timeline, or a share's lease timeline (on the share root), oldest first",
    responses: {
      '200': json('The timeline.', {
        type: 'object',
        properties: {
          share: { type: 'string' },
          path: { type: 'string' },
          timeline: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                at: { type: 'string', format: 'date-time' },
                path: {
                  type: ['string', 'null'],
                  description: 'Where the file was then (a renamed file keeps its whole history).',
                },
                action: {
                  type: 'string',
                  enum: ['acquired', 'renewed', 'changed', 'released', 'broken', 'expired', 'cleared by a write'],
                },
                snapshot: {
                  type: 'string',
                  description: "On a share's root: the share snapshot whose lease this is (absent: the share's own).",
                },
                leaseId: { type: 'string' },
                previousLeaseId: { type: 'string' },
                epoch: { type: 'integer' },
                by: { type: 'string' },
                requestId: { type: 'string' },
                clientRequestId: { type: 'string' },
              },
            },
          },
        },
      }),
      ...errors(403, 404),
    },
  },
  {
    name: 'State As Of (extension)',
    method: 'GET',
    comp: 'stateasof',
    resource: 'file-or-directory',
    summary: 'The lease and the open handles of a path at a time, from the events recorded up to it',
    parameters: [query('at', 'The time (ISO 8601).', { type: 'string', format: 'date-time' }, true)],
    responses: {
      '200': json('The state then.', {
        type: 'object',
        properties: {
          exists: { type: 'boolean' },
          kind: { type: 'string', enum: ['file', 'directory'] },
          lease: {
            type: 'object',
            properties: { state: { type: 'string' }, leaseId: { type: 'string' }, epoch: { type: 'integer' } },
          },
          shareLease: {
            type: 'object',
            description:
              "On the share root, the share's lease at `at` (expiry and the end of a break read off the recorded instants).",
            properties: {
              state: { type: 'string', enum: ['available', 'leased', 'expired', 'breaking', 'broken'] },
              leaseId: { type: 'string' },
              epoch: { type: 'integer' },
            },
          },
          handles: { type: 'array', items: { type: 'object' } },
        },
      }),
      ...errors(400, 403),
    },
  },
  {
    name: 'Export Audit Events (extension)',
    method: 'GET',
    comp: 'auditexport',
    resource: 'any',
    summary: 'Audit events as NDJSON, oldest first, streamed page by page',
    parameters: auditFilters,
    responses: {
      '200': {
        description: 'One AuditEvent JSON object per line.',
        content: { 'application/x-ndjson': { schema: { $ref: '#/components/schemas/AuditEvent' } } },
      },
      ...errors(400, 403),
    },
  },
  {
    name: 'Watch (extension)',
    method: 'GET',
    comp: 'watch',
    resource: 'any',
    summary:
      "A tenant's changes under a path (account, share, directory or file) as they happen, resumable from any point",
    description:
      "Leases (file and share), handles, creations, renames (NodeRenamed, and NodeMoved for each node below a renamed directory, with `from`) and deletions, and force-close jobs, in the log's order, never ahead of what is committed and never skipping a late commit. " +
      "Each change is reported at its node's path when it happened (a renamed file's later lease changes at its new path); a rename reaches the watchers of both its former and its new path. " +
      'A force-close chunk is one `HandlesForceClosed` at the path asked, with `handleIds` and `recursive`; a recursive one also reaches the watchers of every place below it (a SAS watch there is not shown `handleIds`). ' +
      'With `Accept: text/event-stream`: Server-Sent Events, each change a message whose `id` is its cursor (`Last-Event-ID` resumes exactly after it); heartbeats every `WATCH_HEARTBEAT_SECONDS`; ' +
      'a watcher `WATCH_BUFFER_EVENTS` behind gets `event: resume` naming the cursor to reconnect from. Otherwise a long poll (JSON, or XML with `Accept: application/xml`). ' +
      'Authorization: the account owner, or a SAS with `r` on a file, `l` on a directory, share or the account. At most `WATCH_LIMIT_PER_TENANT` watches per tenant per API process (503 `ServerBusy` beyond).',
    parameters: [
      query('recursive', 'With a directory or share: everything below it (the account is always recursive).', {
        type: 'boolean',
      }),
      query('type', 'Comma-separated event types to keep, e.g. `LeaseReleased,LeaseBroken`.'),
      query(
        'cursor',
        'Resume after this cursor (long poll; SSE uses Last-Event-ID). Bound to the account and the watch.',
      ),
      query('timeout', 'Long poll only: seconds to wait for a change (at most 60, default 30).', {
        type: 'integer',
        minimum: 0,
        maximum: 60,
      }),
      query('maxresults', 'Long poll only: at most this many changes (default 100).', {
        type: 'integer',
        minimum: 1,
        maximum: 1000,
      }),
      header('Last-Event-ID', 'SSE: resume after this cursor.'),
    ],
    responses: {
      '200': {
        description: 'The stream, or one batch with `events` and the next `cursor`.',
        content: {
          'text/event-stream': { schema: { type: 'string' } },
          'application/json': {
            schema: {
              type: 'object',
              properties: {
                events: { type: 'array', items: { type: 'object' } },
                cursor: { type: 'string' },
              },
            },
          },
          'application/xml': { schema: { type: 'string' } },
        },
      },
      ...errors(400, 403, 503),
    },
  },
];
