import {
  evolveNode,
  evolveShareLease,
  initialShareLeaseState,
  LeaseEvent,
  NodeEvent,
  NodeState,
  pathKey,
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

const byVersion = (a: AuditEvent, b: AuditEvent) => a.streamVersion - b.streamVersion;

function groupByStream(events: AuditEvent[]): Map<string, AuditEvent[]> {
  const streams = new Map<string, AuditEvent[]>();
  for (const e of events) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
  for (const list of streams.values()) list.sort(byVersion);
  return streams;
}

/**
 * The lease and the open handles of the path `key` as they were at `at`, folded from everything
 * recorded up to then on the streams that have been at the path, with the same evolve functions the
 * service runs on: a node counts only if it was at the path then (not renamed away, or not yet renamed there).
 */
export function stateAsOf(events: AuditEvent[], at: Date, key: string): StateAsOf {
  const streams = groupByStream(events);
  let share: { exists: boolean; lease: ShareLeaseState } | undefined;
  let node: NodeState | undefined;
  let nodeSeq = -1n;
  const handles: OpenHandleAsOf[] = [];
  for (const [streamId, list] of streams) {
    if (streamId.startsWith(NODE_STREAM_PREFIX)) {
      // A path may have been deleted and created again: the latest creation is the one that counts.
      const state = list.reduce<NodeState | undefined>(
        (s, e) => evolveNode(s, { type: e.type, data: e.data } as NodeEvent),
        undefined,
      );
      const seq = BigInt(list[0].seq);
      if (state && pathKey(state.path.split('/')) !== key) continue;
      if (seq > nodeSeq) [node, nodeSeq] = [state, seq];
    } else if (streamId.startsWith(SHARE_STREAM_PREFIX)) {
      const lease = list
        .filter((e) => e.type.startsWith('ShareLease'))
        .reduce(
          (s, e) => evolveShareLease(s, { type: e.type, data: e.data } as ShareLeaseEvent),
          initialShareLeaseState,
        );
      share = { exists: !list.some((e) => e.type === 'ShareDeleted'), lease };
    } else if (streamId.startsWith(HANDLE_STREAM_PREFIX) && list.length === 1 && list[0].type === 'HandleOpened') {
      const d = list[0].data as HandleOpened;
      handles.push({
        handleId: d.handleId,
        sessionId: d.sessionId,
        clientName: d.clientName,
        clientIp: d.clientIp,
        access: d.access,
        openedAt: list[0].recordedAt,
        openedBy: list[0].principal,
      });
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
    return { exists: share.exists, kind: 'directory', shareLease, handles };
  }
  if (!node) return { exists: false, handles };
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
    handles,
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
  /** Where the file was then (a renamed file's history spans its paths). */
  path: string | null;
  action: string;
  leaseId: string;
  previousLeaseId?: string;
  epoch?: number;
  by: string | null;
  requestId: string | null;
  clientRequestId: string | null;
}

export const LEASE_EVENT_TYPES = Object.keys(LEASE_EVENTS);

/** Who acquired, renewed, changed, broke and released the lease on a path (each file that has been at it, or a share's root), and when it expired, oldest first. */
export function leaseHistory(events: AuditEvent[]): LeaseHistoryEntry[] {
  return events
    .filter((e) => e.type in LEASE_EVENTS)
    .map((e) => {
      const { type, data } = { type: e.type, data: e.data } as LeaseEvent | ShareLeaseEvent;
      return {
        at: e.recordedAt,
        path: e.path,
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
