import {
  evolveShareLease,
  initialShareLeaseState,
  ShareLeaseEvent,
  ShareLeaseState,
  SignedIdentifier,
} from '@leasehold/domain';
import { shareLeaseColumns } from './share-lease.row';

/** Azure's access tiers for a standard share; the default is TransactionOptimized. */
export const ACCESS_TIERS = ['TransactionOptimized', 'Hot', 'Cool'] as const;
export type AccessTier = (typeof ACCESS_TIERS)[number];

interface Stamp {
  etag: string;
  at: Date | string;
}

/** The data of ShareCreated. */
export interface ShareCreated extends Stamp {
  shareId: string;
  name: string;
  quota: number;
  metadata: Record<string, string>;
}

/**
 * A share snapshot: a point in the event log. `pgSnapshot` is the PostgreSQL snapshot taken while
 * the share was locked against content writes, so it names exactly the transactions whose events
 * (and file bytes) the snapshot contains; `position` is the last event position it sees, for people.
 */
export interface ShareSnapshot {
  /** Its name on the wire (x-ms-snapshot, sharesnapshot=): the creation time with 7 fractional digits. */
  snapshot: string;
  pgSnapshot: string;
  position: string;
  /** The share stream's version before this snapshot: the share's settings it keeps are those. */
  shareVersion: number;
  metadata: Record<string, string>;
  /** The share's ETag, Last-Modified and quota then, for List Shares. */
  etag: string;
  lastModified: string;
  quota: number;
}

/** A snapshot as the share's state holds it: as taken, with its own lease once a lease event names it. */
export interface ShareSnapshotState extends ShareSnapshot {
  /** Absent until its first lease event: then available, epoch 0 (initialShareLeaseState). */
  lease?: ShareLeaseState;
}

/**
 * A lease event of one of the share's snapshots (Lease Share with sharesnapshot): the share lease's
 * own event, decided by the same decider, naming the snapshot whose lease it changes. On the share's
 * stream like the share's lease events, so that deleting the snapshot or the share and its leases
 * are ordered by one stream version.
 */
export type ShareSnapshotLeaseEvent = ShareLeaseEvent & { data: { snapshot: string } };

/** The snapshot whose lease a lease event changes; undefined: the share's own lease. */
export const leaseSnapshotOf = (event: { data: unknown }): string | undefined =>
  (event.data as { snapshot?: string }).snapshot;

/** The lease events of one lease subject: the share's own (no snapshot), or a snapshot's, which name it. */
export const forLeaseSubject = (events: ShareLeaseEvent[], snapshot: string | undefined): ShareLeaseEvent[] =>
  snapshot === undefined
    ? events
    : events.map((e) => ({ ...e, data: { ...e.data, snapshot } }) as ShareSnapshotLeaseEvent);

export const snapshotLease = (snapshot: ShareSnapshotState): ShareLeaseState =>
  snapshot.lease ?? initialShareLeaseState;

/** The share's snapshots with the named one's lease replaced. */
export const withSnapshotLease = (
  snapshots: ShareSnapshotState[],
  name: string,
  lease: ShareLeaseState,
): ShareSnapshotState[] => snapshots.map((s) => (s.snapshot === name ? { ...s, lease } : s));

/** The events of a share's stream, share-<id>, besides its lease's (ShareLeaseEvent, libs/domain/src/share-lease). */
export type ShareEvent =
  | { type: 'ShareCreated'; data: ShareCreated }
  | { type: 'ShareMetadataSet'; data: Stamp & { metadata: Record<string, string> } }
  | { type: 'SharePropertiesSet'; data: Stamp & { quota: number; accessTier: AccessTier; accessTierChanged: boolean } }
  | { type: 'ShareAclSet'; data: Stamp & { signedIdentifiers: SignedIdentifier[] } }
  | { type: 'ShareSnapshotCreated'; data: ShareSnapshot }
  | { type: 'ShareSnapshotDeleted'; data: { snapshot: string } }
  /** With x-ms-delete-snapshots, its snapshots go with it. */
  | { type: 'ShareDeleted'; data: { shareId: string; name: string; snapshotsDeleted?: number } };

export const SHARE_STREAM_PREFIX = 'share-';
export const shareStream = (shareId: string) => `${SHARE_STREAM_PREFIX}${shareId}`;

/** The current state of one share: a fold of the events on its stream. */
export interface ShareState {
  shareId: string;
  name: string;
  quota: number;
  accessTier: AccessTier;
  /** When the tier was last changed; undefined while it is the one the share was created with. */
  accessTierChangedAt?: string;
  metadata: Record<string, string>;
  signedIdentifiers: SignedIdentifier[];
  /** As its events recorded it; viewShareLease gives its state at an instant. */
  lease: ShareLeaseState;
  /** Oldest first. */
  snapshots: ShareSnapshotState[];
  etag: string;
  lastModified: string;
  version: number;
}

const iso = (at: Date | string) => new Date(at).toISOString();

/** Folds one event into a share's state (undefined: no share, or deleted). */
export function evolveShare(
  state: ShareState | undefined,
  event: ShareEvent | ShareLeaseEvent | ShareSnapshotLeaseEvent,
): ShareState | undefined {
  const touched = (s: ShareState, d: Stamp) => ({
    ...s,
    etag: d.etag,
    lastModified: iso(d.at),
    version: s.version + 1,
  });
  switch (event.type) {
    case 'ShareCreated': {
      const d = event.data;
      return {
        shareId: String(d.shareId),
        name: d.name,
        quota: d.quota,
        accessTier: 'TransactionOptimized',
        metadata: d.metadata,
        signedIdentifiers: [],
        lease: initialShareLeaseState,
        snapshots: [],
        etag: d.etag,
        lastModified: iso(d.at),
        version: 1,
      };
    }
    case 'ShareMetadataSet':
      return state && { ...touched(state, event.data), metadata: event.data.metadata };
    case 'SharePropertiesSet': {
      const d = event.data;
      return (
        state && {
          ...touched(state, d),
          quota: d.quota,
          accessTier: d.accessTier,
          accessTierChangedAt: d.accessTierChanged ? iso(d.at) : state.accessTierChangedAt,
        }
      );
    }
    case 'ShareAclSet':
      return state && { ...touched(state, event.data), signedIdentifiers: event.data.signedIdentifiers };
    // A snapshot changes neither the share's ETag nor its Last-Modified.
    case 'ShareSnapshotCreated':
      return state && { ...state, snapshots: [...state.snapshots, event.data], version: state.version + 1 };
    case 'ShareSnapshotDeleted':
      return (
        state && {
          ...state,
          snapshots: state.snapshots.filter((s) => s.snapshot !== event.data.snapshot),
          version: state.version + 1,
        }
      );
    case 'ShareDeleted':
      return undefined;
    default: {
      // Lease events (libs/leases decides them) change the share's lease, or the snapshot's they
      // name, never the ETag or Last-Modified.
      if (!state) return state;
      const snapshot = leaseSnapshotOf(event);
      if (snapshot === undefined)
        return { ...state, lease: evolveShareLease(state.lease, event), version: state.version + 1 };
      const target = state.snapshots.find((s) => s.snapshot === snapshot);
      return {
        ...state,
        snapshots: target
          ? withSnapshotLease(state.snapshots, snapshot, evolveShareLease(snapshotLease(target), event))
          : state.snapshots,
        version: state.version + 1,
      };
    }
  }
}

/** The share a stream's events leave, as rebuilds fold it. */
export const foldShare = (events: { type: string; data: unknown }[]) =>
  events.reduce<ShareState | undefined>((s, e) => evolveShare(s, e as ShareEvent | ShareLeaseEvent), undefined);

/** A share's row in the shares projection: the one mapping both the inline projection and rebuilds use. */
export const shareRow = (tenant: string, share: ShareState) => ({
  tenant,
  name: share.name,
  share_id: share.shareId,
  quota: share.quota,
  metadata: share.metadata,
  etag: share.etag,
  last_modified: share.lastModified,
  ...shareLeaseColumns(share.lease),
  version: share.version,
  access_tier: share.accessTier,
  access_tier_changed_at: share.accessTierChangedAt ?? null,
  signed_identifiers: share.signedIdentifiers,
  snapshots: share.snapshots,
});
