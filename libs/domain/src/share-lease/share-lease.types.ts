// Share lease model (Lease Share, x-ms-version 2020-02-10+): finite (15–60 s) or infinite leases,
// renewals, and breaks with a break period. docs/share-lease.md has the table this implements.
//
// Time is an input. The state records instants (when a lease expires, when a break ends); whether
// a lease is leased or expired, breaking or broken, is derived from `now`, so no timer is needed
// for a decision to be right. Instants are milliseconds since the Unix epoch on the one clock the
// caller decides with (the service uses PostgreSQL's).

/** Seconds, 15–60, or -1 for a lease that never expires. */
export type ShareLeaseDuration = number;
export const INFINITE_LEASE = -1;

/**
 * What the events have recorded. `epoch` is the fencing token: +1 for every new holder, change
 * and break, never back (Available keeps the last value).
 *
 * - leased: `expiresAt` is absent for an infinite lease. Effectively expired from `expiresAt` on.
 * - expired: a LeaseExpired event recorded that the lease lapsed at `expiredAt`; the holder can
 *   still renew or release it until someone else acquires.
 * - broken: breaking until `brokenAt`, broken from then on.
 */
export type ShareLeaseState =
  | { status: 'available'; epoch: number }
  | { status: 'leased'; leaseId: string; epoch: number; duration: ShareLeaseDuration; expiresAt?: number }
  | { status: 'expired'; leaseId: string; epoch: number; duration: ShareLeaseDuration; expiredAt: number }
  | { status: 'broken'; leaseId: string; epoch: number; brokenAt: number };

/** The five states of the documentation, as they stand at one instant. */
export type ShareLeaseStateName = 'available' | 'leased' | 'expired' | 'breaking' | 'broken';

export type ShareLeaseView =
  | { state: 'available'; epoch: number }
  | { state: 'leased'; leaseId: string; epoch: number; duration: ShareLeaseDuration; expiresAt?: number }
  | { state: 'expired'; leaseId: string; epoch: number; duration: ShareLeaseDuration; expiredAt: number }
  | { state: 'breaking'; leaseId: string; epoch: number; brokenAt: number }
  | { state: 'broken'; leaseId: string; epoch: number; brokenAt: number };

/** Lease ids are canonical lowercase GUIDs, durations and break periods already range-checked by the wire layer. */
export type ShareLeaseCommand =
  // generatedLeaseId is used when no id is proposed
  | { action: 'acquire'; duration: ShareLeaseDuration; proposedLeaseId?: string; generatedLeaseId: string }
  | { action: 'renew'; leaseId: string }
  | { action: 'change'; leaseId: string; proposedLeaseId: string }
  | { action: 'release'; leaseId: string }
  // breakPeriod: seconds 0–60; absent: a fixed lease breaks when it would expire, an infinite one at once
  | { action: 'break'; breakPeriod?: number };

/** Instants in events are ISO 8601 strings, so the audit trail reads them as they are. */
export type ShareLeaseEvent =
  | {
      type: 'ShareLeaseAcquired';
      data: {
        leaseId: string;
        duration: ShareLeaseDuration;
        /** Absent for an infinite lease. */
        expiresAt?: string;
        epoch: number;
        previousState: 'available' | 'leased' | 'expired' | 'broken';
      };
    }
  | {
      type: 'ShareLeaseRenewed';
      data: {
        leaseId: string;
        duration: ShareLeaseDuration;
        expiresAt: string;
        epoch: number;
        previousState: 'leased' | 'expired';
      };
    }
  | { type: 'ShareLeaseChanged'; data: { fromLeaseId: string; toLeaseId: string; epoch: number } }
  | { type: 'ShareLeaseReleased'; data: { leaseId: string; fromState: 'leased' | 'expired' | 'breaking' | 'broken' } }
  // Starts a break, or shortens one (fromState 'breaking'); brokenAt is when it is (or was) broken.
  | {
      type: 'ShareLeaseBroken';
      data: { leaseId: string; brokenAt: string; epoch: number; fromState: 'leased' | 'expired' | 'breaking' };
    }
  // The lease lapsed at expiredAt: appended by whoever first observes it (a lease command or the sweeper).
  | { type: 'ShareLeaseExpired'; data: { leaseId: string; expiredAt: string } };

export type ShareLeaseReason =
  | 'LeaseAlreadyPresent'
  | 'LeaseNotPresentWithLeaseOperation'
  | 'LeaseIdMismatchWithLeaseOperation'
  | 'LeaseIsBreakingAndCannotBeAcquired'
  | 'LeaseIsBreakingAndCannotBeChanged'
  | 'LeaseIsBrokenAndCannotBeRenewed'
  // Delete Share on a leased share (or Delete Share with sharesnapshot on a leased snapshot): the 412s of operations gated by the lease
  | 'LeaseIdMissing'
  | 'LeaseIdMismatchWithShareOperation'
  | 'LeaseNotPresentWithShareOperation'
  // Delete Share with x-ms-delete-snapshots: include while a snapshot's lease is active
  | 'DeleteShareWhenSnapshotLeased';

/** A refusal: why, and the facts it was decided on. The wire layer maps the reason to status, code and message. */
export interface ShareLeaseRejection {
  reason: ShareLeaseReason;
  facts: { resource: 'share'; state: ShareLeaseStateName; action: ShareLeaseCommand['action'] | 'delete' };
}

/**
 * `leaseId` goes back in x-ms-lease-id (acquire, renew, change, break); `breakSeconds` in
 * x-ms-lease-time (break: whole seconds until the lease is broken, 0 when it already is).
 * `events` may be empty for idempotent successes.
 */
export type ShareLeaseDecision =
  { events: ShareLeaseEvent[]; leaseId?: string; breakSeconds?: number } | ShareLeaseRejection;

/** What Get Share Properties and List Shares show: locked while leased or breaking; the duration only while leased. */
export interface ShareLeaseProperties {
  state: ShareLeaseStateName;
  status: 'locked' | 'unlocked';
  duration?: 'infinite' | 'fixed';
}
