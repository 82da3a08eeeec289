import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { EventStore } from '@leasehold/event-store';
import { gateAccess, NodeRepository } from '@leasehold/filesystem';
import { AzureError, eventMetadata, parentNotFound, RequestContext, resourceNotFound } from '@leasehold/wire';
import { AccessRight, ClosedChunk, HandleOpened, handleRow, HandleRepository, HandleScope } from './handle.repository';
import { HandlePosition } from './markers';

export class OpenHandleCommand {
  constructor(
    readonly context: RequestContext,
    readonly share: string,
    readonly path: string[],
    readonly access: AccessRight[],
    readonly leaseId: string | undefined,
    readonly clientName: string,
    readonly clientIp: string,
    readonly sessionId: string | undefined,
  ) {}
}

export class CloseHandleCommand {
  constructor(
    readonly context: RequestContext,
    readonly share: string,
    readonly path: string[],
    readonly handleId: string,
    readonly sessionId: string,
  ) {}
}

export class ForceCloseHandlesCommand {
  constructor(
    readonly context: RequestContext,
    readonly scope: HandleScope,
    readonly after: HandlePosition | undefined,
  ) {}
}

export interface OpenedHandle {
  handleId: string;
  fileId: string;
  sessionId: string;
}

/**
 * Registers a handle that a client holds open. The node's row is locked while the handle is
 * checked and recorded, so the lease and the open-handle count it was checked against cannot
 * change underneath it, and a delete cannot slip past it.
 */
@CommandHandler(OpenHandleCommand)
export class OpenHandleHandler implements ICommandHandler<OpenHandleCommand, OpenedHandle> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
    private readonly handles: HandleRepository,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  execute(c: OpenHandleCommand): Promise<OpenedHandle> {
    return this.store.transaction(async (sql) => {
      const first = await this.nodes.locate(c.context.account, c.share, c.path, sql);
      await this.nodes.lockNode(first.share.shareId, first.key, sql);
      const located = await this.nodes.locate(c.context.account, c.share, c.path, sql);
      const node = located.node;
      if (c.path.length > 0 && !node) throw located.parentExists ? resourceNotFound() : parentNotFound();
      if (node?.kind === 'file') {
        // A lease gives exclusive write and delete access: opening for either needs the lease id.
        const writes = c.access.includes('Write') || c.access.includes('Delete');
        if (writes && node.lease.status !== 'broken') gateAccess(node.lease, { kind: 'write', leaseId: c.leaseId });
        else gateAccess(node.lease, { kind: 'read', leaseId: c.leaseId });
      }
      const limit = c.path.length === 0 ? this.config.handleLimitShareRoot : this.config.handleLimitPerNode;
      if ((await this.handles.countOn(located.share.shareId, located.key, sql)) >= limit) {
        throw new AzureError(400, 'HandleLimitExceeded', `The total handles opened on this file or directory reach the limit of ${limit}.`);
      }
      const [ids] = await sql.query(`SELECT nextval('handle_ids')::text AS handle_id, nextval('session_ids')::text AS session_id`);
      const opened: HandleOpened = {
        shareId: located.share.shareId,
        handleId: ids.handle_id as string,
        fileId: node?.fileId ?? '0',
        parentId: node?.parentId ?? '0',
        sessionId: c.sessionId ?? (ids.session_id as string),
        path: node?.path ?? '',
        nodeKey: located.key,
        clientName: c.clientName,
        clientIp: c.clientIp,
        access: c.access,
        openTime: c.context.now.toISOString(),
      };
      await this.store.append(
        {
          tenant: c.context.account,
          streamId: `handle-${opened.handleId}`,
          expectedVersion: 0,
          events: [{ type: 'HandleOpened', data: opened }],
          metadata: eventMetadata(c.context),
          projection: {
            sql: `INSERT INTO handles SELECT * FROM jsonb_populate_record(NULL::handles, $1::jsonb) RETURNING 1`,
            params: [JSON.stringify(handleRow(c.context.account, opened))],
          },
        },
        sql,
      );
      return { handleId: opened.handleId, fileId: opened.fileId, sessionId: opened.sessionId };
    });
  }
}

/** Closes a handle by its holder: the handle id and the session it was opened in prove who holds it. */
@CommandHandler(CloseHandleCommand)
export class CloseHandleHandler implements ICommandHandler<CloseHandleCommand, void> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
  ) {}

  async execute(c: CloseHandleCommand): Promise<void> {
    const located = await this.nodes.locate(c.context.account, c.share, c.path);
    const closed = await this.store.appendPerRow(c.context.account, eventMetadata(c.context), {
      sql: `DELETE FROM handles WHERE handle_id = $1 AND share_id = $2 AND node_key = $3 AND session_id = $4
            RETURNING 'handle-' || handle_id AS stream_id, 2 AS stream_version, 'HandleClosed' AS type,
              jsonb_build_object('handleId', handle_id::text, 'path', path, 'fileId', file_id::text, 'sessionId', session_id::text) AS data`,
      params: [c.handleId, located.share.shareId, located.key, c.sessionId],
    });
    if (closed.length === 0) throw new AzureError(404, 'ResourceNotFound', 'The specified handle is not open on this path in this session.');
  }
}

/** One chunk of Force Close Handles, in one transaction. */
@CommandHandler(ForceCloseHandlesCommand)
export class ForceCloseHandlesHandler implements ICommandHandler<ForceCloseHandlesCommand, ClosedChunk> {
  constructor(
    private readonly handles: HandleRepository,
    @Inject(LEASEHOLD_CONFIG) private readonly config: LeaseholdConfig,
  ) {}

  execute({ context, scope, after }: ForceCloseHandlesCommand): Promise<ClosedChunk> {
    return this.handles.forceCloseChunk(context.account, scope, after, this.config.forceCloseChunkSize, eventMetadata(context));
  }
}
