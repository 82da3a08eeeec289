import {
  evolveNode,
  evolveShareLease,
  initialShareLeaseState,
  LeaseEvent,
  NodeEvent,
  NodeState,
  ShareLeaseEvent,
  ShareLeaseState,
  ShareLeaseStateName,
  viewShareLease,
} from '@leasehold/domain';
import { NODE_STREAM_PREFIX, SHARE_STREAM_PREFIX } from '@leasehold/filesystem';
import { HANDLE_STREAM_PREFIX, HandleOpened } from '@leasehold/handles';
import { AuditEvent } from './audit.repository';

export interface OpenHandleAsOf {
  handleId: string;
  sessionId: string;
  clientName: string;
  clientIp: string;
  access: string[];
  openedAt: string;
  openedBy: string | null;
}

export interface StateAsOf {
  exists: boolean;
  kind?: 'file' | 'directory';
  lease?: { state: string; leaseId?: string; epoch: number };
  /** The share root: its share lease at that instant (expiry and break ends read off the recorded instants). */
  shareLease?: { state: ShareLeaseStateName; leaseId?: string; epoch: number };
  handles: OpenHandleAsOf[];
}

/**
 * The lease and the open handles of one path as they were at `at`, folded page by page (oldest
 * first) from everything recorded about the path up to then, with the same evolve functions the
 * service runs on. Memory: the node's (or share's) state and the handles open at one moment.
 */
export async function stateAsOf(pages: AsyncIterable<AuditEvent[]>, at: Date): Promise<StateAsOf> {
  let node: NodeState | undefined;
  let nodeStream: string | undefined;
  let share: { streamId: string; exists: boolean; lease: ShareLeaseState } | undefined;
  const handles = new Map<string, OpenHandleAsOf>();
  for await (const page of pages) {
    for (const e of page) {
      if (e.streamId.startsWith(NODE_STREAM_PREFIX)) {
        // A path may have been deleted and created again: a newer node's stream starts afresh.
        if (e.streamId !== nodeStream) [node, nodeStream] = [undefined, e.streamId];
        node = evolveNode(node, { type: e.type, data: e.data } as NodeEvent);
      } else if (e.streamId.startsWith(SHARE_STREAM_PREFIX)) {
        // Likewise a share deleted and created again under the same name.
        if (e.streamId !== share?.streamId)
          share = { streamId: e.streamId, exists: true, lease: initialShareLeaseState };
        if (e.type === 'ShareDeleted') share.exists = false;
        else if (e.type.startsWith('ShareLease'))
          share.lease = evolveShareLease(share.lease, { type: e.type, data: e.data } as ShareLeaseEvent);
      } else if (e.streamId.startsWith(HANDLE_STREAM_PREFIX)) {
        const d = e.data as HandleOpened;
        if (e.type === 'HandleOpened') {
          handles.set(e.streamId, {
            handleId: d.handleId,
            sessionId: d.sessionId,
            clientName: d.clientName,
            clientIp: d.clientIp,
            access: d.access,
            openedAt: e.recordedAt,
            openedBy: e.principal,
          });
        } else handles.delete(e.streamId);
      }
    }
  }
  if (share) {
    // A lapse or the end of a break is in the state as of `at` even when recorded later, or never.
    const view = viewShareLease(share.lease, at.getTime());
    const shareLease = {
      state: view.state,
      ...(view.state !== 'available' ? { leaseId: view.leaseId } : {}),
      epoch: view.epoch,
    };
    return { exists: share.exists, kind: 'directory', shareLease, handles: [...handles.values()] };
  }
  if (!node) return { exists: false, handles: [...handles.values()] };
  const lease = node.lease;
  return {
    exists: true,
    kind: node.kind,
    lease:
      node.kind === 'file'
        ? {
            state: lease.status,
            ...(lease.status !== 'available' ? { leaseId: lease.leaseId } : {}),
            epoch: lease.epoch,
          }
        : undefined,
    handles: [...handles.values()],
  };
}

const LEASE_EVENTS: Record<LeaseEvent['type'] | ShareLeaseEvent['type'], string> = {
  LeaseAcquired: 'acquired',
  LeaseChanged: 'changed',
  LeaseReleased: 'released',
  LeaseBroken: 'broken',
  BrokenLeaseCleared: 'cleared by a write',
  ShareLeaseAcquired: 'acquired',
  ShareLeaseRenewed: 'renewed',
  ShareLeaseChanged: 'changed',
  ShareLeaseReleased: 'released',
  ShareLeaseBroken: 'broken',
  ShareLeaseExpired: 'expired',
};

export interface LeaseHistoryEntry {
  at: string;
  action: string;
  leaseId: string;
  previousLeaseId?: string;
  epoch?: number;
  by: string | null;
  requestId: string | null;
  clientRequestId: string | null;
}

export const LEASE_EVENT_TYPES = Object.keys(LEASE_EVENTS);

/** Who acquired, renewed, changed, broke and released the lease on a path (a file, or a share's root), and when it expired, oldest first. */
export function leaseHistory(events: AuditEvent[]): LeaseHistoryEntry[] {
  return events
    .filter((e) => e.type in LEASE_EVENTS)
    .map((e) => {
      const { type, data } = { type: e.type, data: e.data } as LeaseEvent | ShareLeaseEvent;
      return {
        at: e.recordedAt,
        action: LEASE_EVENTS[type],
        leaseId: 'toLeaseId' in data ? data.toLeaseId : data.leaseId,
        ...('fromLeaseId' in data ? { previousLeaseId: data.fromLeaseId } : {}),
        ...('epoch' in data ? { epoch: data.epoch } : {}),
        by: e.principal,
        requestId: e.requestId,
        clientRequestId: e.clientRequestId,
      };
    });
}
