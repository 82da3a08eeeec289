import { Inject, Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { pathKey } from '@leasehold/domain';
import { Checkpoint } from '@leasehold/event-store';
import { LocateQuery } from '@leasehold/filesystem';
import { isWatchedType, WatchFeed, WatchFilter, WatchItem } from '@leasehold/watch';
import {
  authorizeSas,
  AzureOperation,
  element,
  header,
  invalidHeader,
  invalidQuery,
  markerBinding,
  MarkerCodec,
  pageSize,
  WireRequest,
  WireResponse,
  xmlResponse,
} from '@leasehold/wire';
import { publicEvent, WatchStream } from './watch-stream';

const MAX_BATCH = 1000;
const DEFAULT_BATCH = 100;
/** A long poll waits at most this long (seconds) for a change; `timeout` asks for less. */
const MAX_WAIT_SECONDS = 60;
const DEFAULT_WAIT_SECONDS = 30;

const isCheckpoint = (v: unknown): v is Checkpoint =>
  typeof v === 'object' &&
  v !== null &&
  /^\d{1,20}$/.test((v as Checkpoint).transactionId) &&
  /^\d{1,19}$/.test((v as Checkpoint).position);

/** The watch a request asks for: the URL's place, `recursive`, and `type` (comma-separated event types). */
function filterOf(req: WireRequest): WatchFilter {
  const recursive = req.query['recursive'];
  if (recursive !== undefined && !/^(true|false)$/i.test(recursive)) throw invalidQuery('recursive', recursive);
  const type = req.query['type'];
  let types: Set<string> | undefined;
  if (type !== undefined) {
    types = new Set(type.split(','));
    for (const t of types)
      if (!isWatchedType(t)) throw invalidQuery('type', type, `${t} is not an event type a watch reports.`);
  }
  return {
    tenant: req.context.tenant,
    share: req.share,
    pathKey: req.share === undefined ? undefined : pathKey(req.path),
    // The whole account is always followed recursively.
    recursive: req.share === undefined || recursive?.toLowerCase() === 'true',
    types,
    // A SAS grants a place: renames in and out of it must not show the paths outside.
    confined: req.sas !== undefined && req.share !== undefined,
  };
}

function eventXml(event: Record<string, unknown>): string {
  const job = event.job as { id: string; chunks?: number; closed?: number } | undefined;
  const handleIds = event.handleIds as string[] | undefined;
  const recursive = event.recursive as boolean | undefined;
  return (
    '<Event>' +
    element('Cursor', event.cursor as string) +
    element('Type', event.type as string) +
    element('Share', event.share as string) +
    element('Path', event.path as string) +
    (event.from !== undefined ? element('From', event.from as string) : '') +
    (event.leaseId !== undefined ? element('LeaseId', event.leaseId as string) : '') +
    (event.epoch !== undefined ? element('Epoch', event.epoch as number) : '') +
    (event.handleId !== undefined ? element('HandleId', event.handleId as string) : '') +
    (handleIds ? `<HandleIds>${handleIds.map((id) => element('HandleId', id)).join('')}</HandleIds>` : '') +
    (recursive !== undefined ? element('Recursive', String(recursive)) : '') +
    (job
      ? `<Job>${element('Id', job.id)}${job.chunks !== undefined ? element('Chunks', job.chunks) : ''}${job.closed !== undefined ? element('Closed', job.closed) : ''}</Job>`
      : '') +
    element('Time', event.time as string) +
    (event.principal !== undefined ? element('Principal', event.principal as string) : '') +
    '</Event>'
  );
}

/**
 * Watch (extension): a tenant's changes under a path (a file, a directory, a share, or the whole
 * account) in the log's order, as Server-Sent Events (`Accept: text/event-stream`, resumed with
 * Last-Event-ID) or as a long poll (`cursor`, `timeout`; JSON, or XML when asked). Cursors are
 * signed and bound to the account and the watch, so another tenant or another filter cannot use them.
 */
@Injectable()
export class WatchOperations {
  private readonly heartbeatMs: number;

  constructor(
    private readonly feed: WatchFeed,
    private readonly queries: QueryBus,
    private readonly markers: MarkerCodec,
    @Inject(LEASEHOLD_CONFIG) config: LeaseholdConfig,
  ) {
    this.heartbeatMs = config.watchHeartbeatSeconds * 1000;
  }

  @AzureOperation({
    name: 'Watch (extension)',
    method: 'GET',
    comp: 'watch',
    resource: 'any',
    sas: 'r',
    sasByOperation: true,
  })
  async watch(req: WireRequest): Promise<WireResponse> {
    const filter = filterOf(req);
    await this.authorize(req);
    const binding = markerBinding(
      'watch',
      filter.tenant,
      filter.share ?? '',
      filter.pathKey ?? '',
      filter.recursive,
      [...(filter.types ?? [])].sort().join(','),
    );
    const encode = (checkpoint: Checkpoint) => this.markers.encode(binding, checkpoint);
    const streaming = /\btext\/event-stream\b/i.test(header(req, 'accept') ?? '');
    const lastEventId = streaming ? header(req, 'last-event-id') : undefined;
    const given = lastEventId ?? req.query['cursor'];
    const after = given ? this.markers.decode(binding, given, isCheckpoint) : undefined;
    if (given && !after) {
      const reason = 'The cursor is not one this service issued for this account and watch.';
      throw lastEventId !== undefined
        ? invalidHeader('last-event-id', lastEventId, reason)
        : invalidQuery('cursor', given, reason);
    }
    const limit = streaming ? 0 : pageSize(req.query, MAX_BATCH, DEFAULT_BATCH);
    const timeout = req.query['timeout'];
    const waitMs = Math.min(timeout === undefined ? DEFAULT_WAIT_SECONDS : Number(timeout), MAX_WAIT_SECONDS) * 1000;

    const watcher = await this.feed.watch(filter, after);
    if (streaming) {
      return {
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
        body: new WatchStream(watcher, encode, this.heartbeatMs),
      };
    }
    let items: WatchItem[];
    let next: Checkpoint;
    try {
      items = await watcher.take(limit, waitMs);
      const resume = items.find((i) => i.kind === 'resume');
      next = resume?.kind === 'resume' ? resume.after : watcher.cursor();
    } finally {
      watcher.close();
    }
    const events = items.flatMap((i) => (i.kind === 'event' ? [publicEvent(i.event, encode(i.event.checkpoint))] : []));
    const cursor = encode(next);
    if (/\bapplication\/xml\b/i.test(header(req, 'accept') ?? '')) {
      return xmlResponse(
        `<WatchEvents><Events>${events.map(eventXml).join('')}</Events>${element('NextCursor', cursor)}</WatchEvents>`,
      );
    }
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events, cursor }) };
  }

  /**
   * The account owner watches anything in the account. A SAS needs `r` to watch a file and `l` to
   * watch a directory, a share or the account (a path that does not exist counts as a directory),
   * with the resource rules of the operations that read and list them.
   */
  private async authorize(req: WireRequest): Promise<void> {
    if (!req.sas) return;
    if (req.share === undefined) return authorizeSas(req.sas, { sas: 'l', resource: 'account' }, req.path);
    const node =
      req.path.length === 0
        ? undefined
        : (await this.queries.execute(new LocateQuery(req.context, req.share, req.path))).node;
    authorizeSas(
      req.sas,
      node?.kind === 'file' ? { sas: 'r', resource: 'file' } : { sas: 'l', resource: 'directory' },
      req.path,
    );
  }
}
