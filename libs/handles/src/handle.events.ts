export type AccessRight = 'Read' | 'Write' | 'Delete';

/** The data of HandleOpened: everything the handles projection holds. */
export interface HandleOpened {
  shareId: string;
  handleId: string;
  fileId: string;
  parentId: string;
  sessionId: string;
  path: string;
  nodeKey: string;
  clientName: string;
  clientIp: string;
  access: AccessRight[];
  openTime: string;
}

/** The data of HandleClosed: the holder closed it. */
export interface HandleClosed {
  handleId: string;
  path: string;
  fileId: string;
  sessionId: string;
}

/** The data of HandleForceClosed: Delete Share closed it (reason ShareDeleted), or, before HandlesForceClosed, Force Close Handles or a job. */
export interface HandleForceClosed extends HandleClosed {
  nodeKey: string;
  clientName: string;
  reason?: 'ShareDeleted';
}

/**
 * The data of HandlesForceClosed: one chunk of Force Close Handles, or of a job, closed in one
 * statement. One event per chunk instead of one per handle: appending a million events was most of
 * a million-handle close. A handle's stream then ends at HandleOpened; the closing that names it is
 * this event, on a stream of its own (closure-<id>), and closes it exactly once because the handles
 * row it was deleted with is deleted once. Older closes are per-handle HandleForceClosed events.
 */
export interface HandlesForceClosed {
  shareId: string;
  /** Where the close was asked (case-preserved, '' for the share root): the handles' node, or the directory closed below. */
  path: string;
  /** Whether the close reached below `path` (a recursive close of a directory). */
  recursive: boolean;
  handleIds: string[];
  /** The chunk's last handle in the (node_key, handle_id) order: where a retry of the same request continues. */
  last: { nodeKey: string; handleId: string };
}

export const HANDLE_CLOSURE_STREAM_PREFIX = 'closure-';

/** The handles an event closed, whichever shape it has; none for any other event. */
export function closedHandleIds(event: { type: string; data: unknown }): string[] {
  if (event.type === 'HandlesForceClosed') return (event.data as HandlesForceClosed).handleIds;
  if (event.type === 'HandleClosed' || event.type === 'HandleForceClosed')
    return [(event.data as HandleClosed).handleId];
  return [];
}

/**
 * The events of a handle's stream, handle-<id>: HandleOpened at version 1, then, unless a
 * HandlesForceClosed names it, one of the two closes at version 2.
 */
export type HandleEvent =
  | { type: 'HandleOpened'; data: HandleOpened }
  | { type: 'HandleClosed'; data: HandleClosed }
  | { type: 'HandleForceClosed'; data: HandleForceClosed };

export const HANDLE_STREAM_PREFIX = 'handle-';
export const handleStream = (handleId: string) => `${HANDLE_STREAM_PREFIX}${handleId}`;

/** An open handle's row in the handles projection: the one mapping both the inline projection and rebuilds use. */
export const handleRow = (tenant: string, h: HandleOpened) => ({
  handle_id: h.handleId,
  tenant,
  share_id: h.shareId,
  node_key: h.nodeKey,
  path: h.path,
  file_id: h.fileId,
  parent_id: h.parentId,
  session_id: h.sessionId,
  client_ip: h.clientIp,
  client_name: h.clientName,
  access: h.access,
  open_time: h.openTime,
});
