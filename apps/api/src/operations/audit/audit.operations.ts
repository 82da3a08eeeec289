import { Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import {
  AuditEvent,
  AuditEventsQuery,
  AuditFilter,
  ExportAuditQuery,
  LeaseHistoryQuery,
  StateAsOfQuery,
} from '@leasehold/audit';
import { DomainError, parseGuid, pathKey } from '@leasehold/domain';
import { DirectoryQuery } from '@leasehold/filesystem';
import {
  AzureOperation,
  invalidQuery,
  markerBinding,
  missingQuery,
  MarkerCodec,
  pageSize,
  WireRequest,
  WireResponse,
} from '@leasehold/wire';
import { Readable } from 'node:stream';
import { requireAccountOwner } from '../account-owner';
import { isHandleId } from '../handles/handle.operations';

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
const json = (status: number, value: unknown): WireResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});
/**
 * An audit event as the API shows it: without the log's global position and the read model's
 * sequence, which would tell one tenant how busy the others are. Pages continue by signed markers.
 */
const published = ({ seq: _seq, position: _position, ...event }: AuditEvent) => event;
const isSeq = (v: unknown): v is { seq: string } =>
  typeof (v as { seq: string })?.seq === 'string' && /^\d{1,19}$/.test((v as { seq: string }).seq);

function date(query: Record<string, string>, name: string): Date | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const value = new Date(raw);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(value.getTime()))
    throw invalidQuery(name, raw, 'An ISO 8601 date and time is required.');
  return value;
}

function pattern(query: Record<string, string>, name: string, re: RegExp): string | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (!re.test(raw)) throw invalidQuery(name, raw);
  return raw;
}

/** A handle id to filter by: an id the handle registry could have given (random 63-bit). */
function handleIdOf(query: Record<string, string>): string | undefined {
  const raw = query['handleid'];
  if (raw !== undefined && !isHandleId(raw)) throw invalidQuery('handleid', raw);
  return raw;
}

/** The audit filter a request asks for: the URL's share and path, and the query's filters. */
function filterOf(req: WireRequest): AuditFilter {
  const q = req.query;
  const leaseId = q['leaseid'] === undefined ? undefined : parseGuid(q['leaseid']);
  if (q['leaseid'] !== undefined && !leaseId) throw invalidQuery('leaseid', q['leaseid']);
  const recursive = pattern(q, 'recursive', /^(true|false)$/i);
  return {
    share: req.share,
    pathKey: req.share === undefined ? undefined : pathKey(req.path),
    recursive: recursive?.toLowerCase() === 'true',
    type: pattern(q, 'type', /^[A-Za-z]{1,64}$/),
    leaseId,
    handleId: handleIdOf(q),
    jobId: pattern(q, 'jobid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    clientRequestId: pattern(q, 'clientrequestid', /^[\x20-\x7e]{1,1024}$/),
    principal: pattern(q, 'principal', /^[\x20-\x7e]{1,256}$/),
    from: date(q, 'from'),
    to: date(q, 'to'),
  };
}

/**
 * The audit trail (extension, account owner only): queries over the event log's audit read model,
 * a file's lease timeline, the state of a path at a time, and a streamed export. Every query is
 * confined to the caller's own account; cursors are signed and bound to account and filters.
 */
@Injectable()
export class AuditOperations {
  constructor(
    private readonly queries: QueryBus,
    private readonly markers: MarkerCodec,
  ) {}

  @AzureOperation({
    name: 'Query Audit Events (extension)',
    method: 'GET',
    comp: 'auditevents',
    resource: 'any',
    sas: 'owner',
  })
  async events(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const filter = filterOf(req);
    const order = (pattern(req.query, 'order', /^(asc|desc)$/) ?? 'desc') as 'asc' | 'desc';
    const limit = pageSize(req.query, MAX_PAGE, DEFAULT_PAGE);
    const binding = markerBinding('audit', req.context.tenant, JSON.stringify(filter), order);
    const { events, more } = await this.queries.execute(
      new AuditEventsQuery(req.context, filter, order, this.marker(req, binding), limit),
    );
    const last = events[events.length - 1];
    return json(200, {
      events: events.map(published),
      nextMarker: more && last ? this.markers.encode(binding, { seq: last.seq }) : '',
    });
  }

  /** A file's lease timeline, or a share's lease timeline on the share root, oldest first, a page at a time (`maxresults` ≤ 1,000, `marker`). */
  @AzureOperation({
    name: 'Lease History (extension)',
    method: 'GET',
    comp: 'leasehistory',
    resource: 'file-or-directory',
    sas: 'owner',
  })
  async leaseHistory(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const key = pathKey(req.path);
    const binding = markerBinding('leasehistory', req.context.tenant, req.share!, key);
    const after = this.marker(req, binding);
    const { timeline, last, more } = await this.queries.execute(
      new LeaseHistoryQuery(req.context, req.share!, key, after, pageSize(req.query, MAX_PAGE)),
    );
    // The share root's history is its share lease's; any other directory has no lease. Only an
    // empty first page can be a directory's, so a history with events costs no lookup of the path;
    // and a file's history is answered even where a directory has since taken its path.
    if (last === undefined && after === undefined && req.path.length > 0 && (await this.isDirectory(req)))
      throw invalidQuery(
        'comp',
        'leasehistory',
        "Lease history is kept for files and for a share's lease (on the share root); this path is a directory.",
      );
    return json(200, {
      share: req.share,
      path: req.path.join('/'),
      timeline,
      nextMarker: more && last ? this.markers.encode(binding, { seq: last }) : '',
    });
  }

  /** The path as it is now is a directory. */
  private isDirectory(req: WireRequest): Promise<boolean> {
    return this.queries.execute(new DirectoryQuery(req.context, req.share!, req.path)).then(
      () => true,
      (error) => {
        if (error instanceof DomainError) return false;
        throw error;
      },
    );
  }

  /** The seq a signed `marker` continues after; 400 for one this service did not issue for this binding. */
  private marker(req: WireRequest, binding: string): string | undefined {
    const marker = req.query['marker'];
    const after = marker ? this.markers.decode(binding, marker, isSeq) : undefined;
    if (marker && !after)
      throw invalidQuery('marker', marker, 'The marker is not one this service issued for this account and query.');
    return after?.seq;
  }

  @AzureOperation({
    name: 'State As Of (extension)',
    method: 'GET',
    comp: 'stateasof',
    resource: 'file-or-directory',
    sas: 'owner',
  })
  async stateAsOf(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const at = date(req.query, 'at');
    if (!at) throw missingQuery('at');
    const state = await this.queries.execute(new StateAsOfQuery(req.context, req.share!, pathKey(req.path), at));
    return json(200, { share: req.share, path: req.path.join('/'), at: at.toISOString(), ...state });
  }

  @AzureOperation({
    name: 'Export Audit Events (extension)',
    method: 'GET',
    comp: 'auditexport',
    resource: 'any',
    sas: 'owner',
  })
  async export(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const pages = await this.queries.execute(new ExportAuditQuery(req.context, filterOf(req)));
    async function* lines() {
      for await (const page of pages) yield page.map((e) => `${JSON.stringify(published(e))}\n`).join('');
    }
    return { status: 200, headers: { 'content-type': 'application/x-ndjson' }, body: Readable.from(lines()) };
  }
}
