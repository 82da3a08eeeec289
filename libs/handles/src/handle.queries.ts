import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { CommandContext, DomainError } from '@leasehold/domain';
import { NodeRepository } from '@leasehold/filesystem';
import { HandleRepository, HandleRow, HandleScope } from './handle.repository';
import { HandlePosition } from './markers';

/** The handles a List Handles or Force Close Handles request is about: the node at the path (and, recursive, everything below it). */
export class HandleScopeQuery extends Query<HandleScope> {
  constructor(
    readonly context: CommandContext,
    readonly share: string,
    readonly path: string[],
    readonly recursive: boolean,
    /** One handle id, or undefined for all. */
    readonly handleId: string | undefined,
  ) {
    super();
  }
}

/** One page of open handles in a scope, after a position; `more` tells whether another page follows. */
export class ListHandlesQuery extends Query<{ handles: HandleRow[]; more: boolean }> {
  constructor(
    readonly scope: HandleScope,
    readonly after: HandlePosition | undefined,
    readonly limit: number,
  ) {
    super();
  }
}

@QueryHandler(HandleScopeQuery)
export class HandleScopeHandler implements IQueryHandler<HandleScopeQuery> {
  constructor(private readonly nodes: NodeRepository) {}

  async execute({ context, share, path, recursive, handleId }: HandleScopeQuery): Promise<HandleScope> {
    const located = await this.nodes.locate(context.tenant, share, path);
    if (path.length > 0 && !located.node)
      throw new DomainError(located.parentExists ? 'ResourceNotFound' : 'ParentNotFound');
    // Recursion is for directories only; on a file it is a bad request (Force Close Handles documents 400).
    if (recursive && located.node?.kind === 'file') throw new DomainError('RecursiveOnFile');
    return {
      shareId: located.share.shareId,
      nodeKey: located.key,
      path: located.node?.path ?? '',
      recursive,
      handleId,
    };
  }
}

@QueryHandler(ListHandlesQuery)
export class ListHandlesHandler implements IQueryHandler<ListHandlesQuery> {
  constructor(private readonly handles: HandleRepository) {}

  execute({ scope, after, limit }: ListHandlesQuery) {
    return this.handles.list(scope, after, limit);
  }
}
