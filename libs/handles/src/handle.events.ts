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

/** The data of HandleForceClosed: Force Close Handles, a job, or (reason ShareDeleted) Delete Share closed it. */
export interface HandleForceClosed extends HandleClosed {
  nodeKey: string;
  clientName: string;
  reason?: 'ShareDeleted';
}

/**
 * The events of a handle's stream, handle-<id>: HandleOpened at version 1, then one of the two
 * closes at version 2, so the unique stream version makes closing a handle twice impossible.
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
