import { evolveNode, LeaseEvent, NodeEvent, NodeState } from '@leasehold/domain';
import { NODE_STREAM_PREFIX } from '@leasehold/filesystem';
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
  handles: OpenHandleAsOf[];
}

/**
 * The lease and the open handles of one path as they were at a time, folded page by page (oldest
 * first) from everything recorded about the path up to then, with the same evolve functions the
 * service runs on. Memory: the node's state and the handles open at one moment.
 */
export async function stateAsOf(pages: AsyncIterable<AuditEvent[]>): Promise<StateAsOf> {
  let node: NodeState | undefined;
  let nodeStream: string | undefined;
  const handles = new Map<string, OpenHandleAsOf>();
  for await (const page of pages) {
    for (const e of page) {
      if (e.streamId.startsWith(NODE_STREAM_PREFIX)) {
        // A path may have been deleted and created again: a newer node's stream starts afresh.
        if (e.streamId !== nodeStream) [node, nodeStream] = [undefined, e.streamId];
        node = evolveNode(node, { type: e.type, data: e.data } as NodeEvent);
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

const LEASE_EVENTS: Record<LeaseEvent['type'], string> = {
  LeaseAcquired: 'acquired',
  LeaseChanged: 'changed',
  LeaseReleased: 'released',
  LeaseBroken: 'broken',
  BrokenLeaseCleared: 'cleared by a write',
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

/** Who acquired, changed, broke and released the lease on a path, oldest first. */
export function leaseHistory(events: AuditEvent[]): LeaseHistoryEntry[] {
  return events
    .filter((e) => e.type in LEASE_EVENTS)
    .map((e) => {
      const { type, data } = { type: e.type, data: e.data } as LeaseEvent;
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
