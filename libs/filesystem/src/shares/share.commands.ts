import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConcurrencyError, EventStore, retryOnConcurrency } from '@leasehold/event-store';
import { AzureError, RequestContext, eventMetadata, shareNotFound } from '@leasehold/wire';
import { NodeRepository, shareStream } from '../nodes/node.repository';
import { newEtag } from '../wire-format';

export interface ShareCreated {
  shareId: string;
  name: string;
  quota: number;
  metadata: Record<string, string>;
  etag: string;
  at: Date | string;
}

/** A share's row in the shares projection: the one mapping both the inline projection and rebuilds use. */
export const shareRow = (tenant: string, share: ShareCreated) => ({
  tenant,
  name: share.name,
  share_id: share.shareId,
  quota: share.quota,
  metadata: share.metadata,
  etag: share.etag,
  last_modified: share.at,
  version: 1,
});

export class CreateShareCommand {
  constructor(
    readonly context: RequestContext,
    readonly name: string,
    readonly quota: number,
    readonly metadata: Record<string, string>,
  ) {}
}

export class DeleteShareCommand {
  constructor(
    readonly context: RequestContext,
    readonly name: string,
  ) {}
}

@CommandHandler(CreateShareCommand)
export class CreateShareHandler implements ICommandHandler<CreateShareCommand, { etag: string; lastModified: Date }> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
  ) {}

  async execute({ context, name, quota, metadata }: CreateShareCommand) {
    const shareId = await this.nodes.nextId();
    const etag = newEtag();
    const at = context.now;
    // The share row is the guard: of two concurrent creates, one inserts it and appends; the other appends nothing.
    const appended = await this.store
      .append({
        tenant: context.account,
        streamId: shareStream(shareId),
        expectedVersion: 0,
        events: [{ type: 'ShareCreated', data: { shareId, name, quota, metadata, etag, at } }],
        metadata: eventMetadata(context),
        projection: {
          sql: `INSERT INTO shares SELECT * FROM jsonb_populate_record(NULL::shares, $1::jsonb) ON CONFLICT DO NOTHING RETURNING 1`,
          params: [JSON.stringify(shareRow(context.account, { shareId, name, quota, metadata, etag, at }))],
        },
      })
      .then(() => true)
      .catch((error) => {
        if (error instanceof ConcurrencyError) return false;
        throw error;
      });
    if (!appended) throw new AzureError(409, 'ShareAlreadyExists', 'The specified share already exists.');
    return { etag, lastModified: at };
  }
}

@CommandHandler(DeleteShareCommand)
export class DeleteShareHandler implements ICommandHandler<DeleteShareCommand, void> {
  constructor(
    private readonly store: EventStore,
    private readonly nodes: NodeRepository,
  ) {}

  /** Deletes the share and everything in it, leased files included (Azure allows it). */
  async execute({ context, name }: DeleteShareCommand) {
    await retryOnConcurrency(async () => {
      const share = await this.nodes.findShare(context.account, name);
      if (!share) throw shareNotFound();
      await this.store.transaction(async (sql) => {
        // Lock the share first: a node insert in flight (it share-locks the share row) commits
        // before the nodes are deleted, and later ones wait and then find no share.
        const locked = await sql.query(`SELECT 1 FROM shares WHERE share_id = $1 FOR UPDATE`, [share.shareId]);
        if (!locked.length) throw new ConcurrencyError(context.account, shareStream(share.shareId), share.version);
        // Nodes first, then their bytes in a later statement, which sees any write that held a node until now.
        const gone = await sql.query(`DELETE FROM nodes WHERE share_id = $1 RETURNING file_id`, [share.shareId]);
        await sql.query(`DELETE FROM file_chunks WHERE file_id = ANY($1::bigint[])`, [gone.map((r: { file_id: string }) => r.file_id)]);
        // Handles open in the share close with it, each with its event, so the audit trail never shows them open afterwards.
        await this.store.appendPerRow(
          context.account,
          eventMetadata(context),
          {
            sql: `DELETE FROM handles WHERE share_id = $1
                  RETURNING 'handle-' || handle_id AS stream_id, 2 AS stream_version, 'HandleForceClosed' AS type,
                    jsonb_build_object('handleId', handle_id::text, 'path', path, 'nodeKey', node_key, 'fileId', file_id::text,
                      'sessionId', session_id::text, 'clientName', client_name, 'reason', 'ShareDeleted') AS data`,
            params: [share.shareId],
          },
          sql,
        );
        await this.store.append(
          {
            tenant: context.account,
            streamId: shareStream(share.shareId),
            expectedVersion: share.version,
            events: [{ type: 'ShareDeleted', data: { shareId: share.shareId, name } }],
            metadata: eventMetadata(context),
            projection: { sql: `DELETE FROM shares WHERE share_id = $1 AND version = $2 RETURNING 1`, params: [share.shareId, share.version] },
          },
          sql,
        );
      });
    });
  }
}
