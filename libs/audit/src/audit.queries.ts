import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { CommandContext } from '@leasehold/domain';
import { AuditEvent, AuditFilter, AuditRepository } from './audit.repository';
import { LEASE_EVENT_TYPES, leaseHistory, LeaseHistoryEntry, StateAsOf, StateAsOfFold } from './state-as-of';

/** One page of the tenant's audit events matching a filter, in seq order, after the seq a previous page ended at. */
export class AuditEventsQuery extends Query<{ events: AuditEvent[]; more: boolean }> {
  constructor(
    readonly context: CommandContext,
    readonly filter: AuditFilter,
    readonly order: 'asc' | 'desc',
    readonly after: string | undefined,
    readonly limit: number,
  ) {
    super();
  }
}

/** Who acquired, renewed, changed, broke and released the lease on a path (a file, or a share's root): one page, oldest first, after the seq a previous page ended at. */
export class LeaseHistoryQuery extends Query<{ timeline: LeaseHistoryEntry[]; last?: string; more: boolean }> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly pathKey: string,
    readonly after: string | undefined,
    readonly limit: number,
  ) {
    super();
  }
}

/** The lease and the open handles of a path at a time. */
export class StateAsOfQuery extends Query<StateAsOf> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly pathKey: string,
    readonly at: Date,
  ) {
    super();
  }
}

/** Every matching event, oldest first, page by page: an export of any size holds one page in memory. */
export class ExportAuditQuery extends Query<AsyncGenerator<AuditEvent[]>> {
  constructor(
    readonly context: CommandContext,
    readonly filter: AuditFilter,
  ) {
    super();
  }
}

@QueryHandler(AuditEventsQuery)
export class AuditEventsHandler implements IQueryHandler<AuditEventsQuery> {
  constructor(private readonly audit: AuditRepository) {}

  execute({ context, filter, order, after, limit }: AuditEventsQuery) {
    return this.audit.query(context.tenant, filter, order, after, limit);
  }
}

@QueryHandler(LeaseHistoryQuery)
export class LeaseHistoryHandler implements IQueryHandler<LeaseHistoryQuery> {
  constructor(private readonly audit: AuditRepository) {}

  async execute({ context, share, pathKey, after, limit }: LeaseHistoryQuery) {
    const filter: AuditFilter = { share, pathKey, wholeStreams: true, type: LEASE_EVENT_TYPES };
    const { events, more } = await this.audit.timeline(context.tenant, filter, after, limit);
    return { timeline: leaseHistory(events), last: events[events.length - 1]?.seq, more };
  }
}

@QueryHandler(StateAsOfQuery)
export class StateAsOfHandler implements IQueryHandler<StateAsOfQuery> {
  constructor(private readonly audit: AuditRepository) {}

  async execute({ context, share, pathKey, at }: StateAsOfQuery) {
    const fold = new StateAsOfFold(pathKey, at);
    for await (const page of this.audit.stream(context.tenant, { share, pathKey, wholeStreams: true, to: at }))
      fold.add(page);
    const open = fold.openHandleIds();
    if (open.length) fold.closed(await this.audit.closedAmong(context.tenant, open, at));
    return fold.result();
  }
}

@QueryHandler(ExportAuditQuery)
export class ExportAuditHandler implements IQueryHandler<ExportAuditQuery> {
  constructor(private readonly audit: AuditRepository) {}

  async execute({ context, filter }: ExportAuditQuery) {
    return this.audit.stream(context.tenant, filter);
  }
}
