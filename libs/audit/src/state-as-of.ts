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
import { leaseSnapshotOf, NODE_STREAM_PREFIX, SHARE_STREAM_PREFIX } from '@leasehold/filesystem';
import { HANDLE_STREAM_PREFIX, HandleOpened } from '@leasehold/handles';
import { AuditEvent, TimelineEvent } from './audit.repository';

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
 * The lease and the open handles of the path `key` as they were at `at`, folded page by page (in
 * log order) from everything recorded up to then on the streams that have been at the path, with
 * the same evolve functions the service runs on. It holds one state per stream, never the events:
 * a file with a long history costs read time, not memory. A node counts only if it was at the path
 * then (not renamed away, or not yet renamed there).
 */
export class StateAsOfFold {
  /** Each node stream's state and where it began: a path deleted and created again has several. */
  private readonly nodes = new Map<string, { state: NodeState | undefined; firstSeq: bigint }>();
  private readonly shares = new Map<string, { exists: boolean; lease: ShareLeaseState }>();
  /** Handles opened and not (yet) closed, in the order they were opened. */
  private readonly handles = new Map<string, OpenHandleAsOf>();

  constructor(
    private readonly key: string,
    private readonly at: Date,
  ) {}

  add(events: AuditEvent[]): void {
    for (const e of events) {
      if (e.streamId.startsWith(NODE_STREAM_PREFIX)) {
        const node = this.nodes.get(e.streamId);
        this.nodes.set(e.streamId, {
          state: evolveNode(node?.state, { type: e.type, data: e.data } as NodeEvent),
          firstSeq: node?.firstSeq ?? BigInt(e.seq),
        });
      } else if (e.streamId.startsWith(SHARE_STREAM_PREFIX)) {
        const share = this.shares.get(e.streamId) ?? { exists: true, lease: initialShareLeaseState };
        if (e.type === 'ShareDeleted') share.exists = false;
        // A snapshot's lease (its events name the snapshot) is not the share's.
        else if (e.type.startsWith('ShareLease') && leaseSnapshotOf(e) === undefined)
          share.lease = evolveShareLease(share.lease, { type: e.type, data: e.data } as ShareLeaseEvent);
        this.shares.set(e.streamId, share);
      } else if (e.streamId.startsWith(HANDLE_STREAM_PREFIX)) {
        // A handle stream is its opening and then its closing, whoever closed it.
        if (e.type !== 'HandleOpened') this.handles.delete(e.streamId);
        else {
          const d = e.data as HandleOpened;
          this.handles.set(e.streamId, {
            handleId: d.handleId,
            sessionId: d.sessionId,
            clientName: d.clientName,
            clientIp: d.clientIp,
            access: d.access,
            openedAt: e.recordedAt,
            openedBy: e.principal,
          });
        }
      }
    }
  }

  /** The handles open as far as the path's own streams tell: a chunk of closes elsewhere may have closed some. */
  openHandleIds(): string[] {
    return [...this.handles.values()].map((h) => h.handleId);
  }

  /** Closes handles that a chunk of closes (HandlesForceClosed) named. */
  closed(handleIds: ReadonlySet<string>): void {
    for (const [stream, h] of this.handles) if (handleIds.has(h.handleId)) this.handles.delete(stream);
  }

  result(): StateAsOf {
    const handles = [...this.handles.values()];
    const share = [...this.shares.values()].pop();
    if (share) {
      // A lapse or the end of a break is in the state as of `at` even when recorded later, or never.
      const view = viewShareLease(share.lease, this.at.getTime());
      const shareLease = {
        state: view.state,
        ...(view.state !== 'available' ? { leaseId: view.leaseId } : {}),
        epoch: view.epoch,
      };
      return { exists: share.exists, kind: 'directory', shareLease, handles };
    }
    // The latest node created that is at the path at `at` (or was deleted there) is the one that counts.
    let node: NodeState | undefined;
    let nodeSeq = -1n;
    for (const { state, firstSeq } of this.nodes.values()) {
      if (state && pathKey(state.path.split('/')) !== this.key) continue;
      if (firstSeq > nodeSeq) [node, nodeSeq] = [state, firstSeq];
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
  /** On a share's root: the share snapshot whose lease this is (absent: the share's own lease). */
  snapshot?: string;
  leaseId: string;
  previousLeaseId?: string;
  epoch?: number;
  by: string | null;
  requestId: string | null;
  clientRequestId: string | null;
}

export const LEASE_EVENT_TYPES = Object.keys(LEASE_EVENTS);

/**
 * Who acquired, renewed, changed, broke and released the lease on a path (each file that has been
 * at it, or a share's root: the share's lease and its snapshots'), and when it expired, oldest first.
 */
export function leaseHistory(events: TimelineEvent[]): LeaseHistoryEntry[] {
  return events
    .filter((e) => e.type in LEASE_EVENTS)
    .map((e) => {
      const { type, data } = { type: e.type, data: e.data } as LeaseEvent | ShareLeaseEvent;
      const snapshot = leaseSnapshotOf(e);
      return {
        at: e.recordedAt,
        path: e.path,
        action: LEASE_EVENTS[type],
        ...(snapshot !== undefined ? { snapshot } : {}),
        leaseId: 'toLeaseId' in data ? data.toLeaseId : data.leaseId,
        ...('fromLeaseId' in data ? { previousLeaseId: data.fromLeaseId } : {}),
        ...('epoch' in data ? { epoch: data.epoch } : {}),
        by: e.principal,
        requestId: e.requestId,
        clientRequestId: e.clientRequestId,
      };
    });
}
