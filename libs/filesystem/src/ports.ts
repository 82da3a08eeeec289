import type { CommandContext } from '@leasehold/domain';
import type { SqlExecutor } from '@leasehold/event-store';

/**
 * What the namespace needs from the handle registry, which owns the handles table and its events.
 * The handles capability implements it (it builds on this one, so it cannot be imported here); the
 * application binds it.
 */
export interface OpenHandles {
  /** Whether a handle is open on the node: Delete File and Delete Directory refuse then. */
  anyOpenOn(shareId: string, nodeKey: string, sql: SqlExecutor): Promise<boolean>;
  /** Whether a handle is open on the node or anywhere below it: Rename Directory refuses then. */
  anyOpenUnder(shareId: string, nodeKey: string, sql: SqlExecutor): Promise<boolean>;
  /** Closes every handle open in the share, each with its HandleForceClosed event, in the caller's transaction. */
  closeAllInShare(context: CommandContext, shareId: string, sql: SqlExecutor): Promise<void>;
}
export const OPEN_HANDLES = Symbol('OPEN_HANDLES');
