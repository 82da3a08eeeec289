// Decider for the lease of one share: docs/share-lease.md, cell by cell. Pure: ids come in through
// the command and the current time as `now` (ms since the epoch, on the one clock every decision
// about this lease is made with).
import {
  INFINITE_LEASE,
  ShareLeaseCommand,
  ShareLeaseDecision,
  ShareLeaseEvent,
  ShareLeaseProperties,
  ShareLeaseReason,
  ShareLeaseRejection,
  ShareLeaseState,
  ShareLeaseView,
} from './share-lease.types';

export const initialShareLeaseState: ShareLeaseState = { status: 'available', epoch: 0 };

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (instant: string) => Date.parse(instant);

/** The lease as it stands at `now`: expiry and the end of a break are read off the recorded instants. */
export function viewShareLease(state: ShareLeaseState, now: number): ShareLeaseView {
  switch (state.status) {
    case 'available':
      return { state: 'available', epoch: state.epoch };
    case 'leased': {
      const { leaseId, epoch, duration, expiresAt } = state;
      // A lease is valid for [start, expiresAt): at the instant it expires it is expired.
      if (expiresAt !== undefined && now >= expiresAt)
        return { state: 'expired', leaseId, epoch, duration, expiredAt: expiresAt };
      return { state: 'leased', leaseId, epoch, duration, expiresAt };
    }
    case 'expired':
      return {
        state: 'expired',
        leaseId: state.leaseId,
        epoch: state.epoch,
        duration: state.duration,
        expiredAt: state.expiredAt,
      };
    case 'broken':
      return {
        state: now < state.brokenAt ? 'breaking' : 'broken',
        leaseId: state.leaseId,
        epoch: state.epoch,
        brokenAt: state.brokenAt,
      };
  }
}

/**
 * What has happened by `now` without anyone acting: a lease that lapsed and is not yet recorded as
 * expired gives one ShareLeaseExpired at the instant it lapsed. The stream version makes it
 * exactly once, whoever (a command, the sweeper) appends it first.
 */
export function observeShareLease(state: ShareLeaseState, now: number): ShareLeaseEvent[] {
  if (state.status !== 'leased' || state.expiresAt === undefined || now < state.expiresAt) return [];
  return [{ type: 'ShareLeaseExpired', data: { leaseId: state.leaseId, expiredAt: iso(state.expiresAt) } }];
}

export function isShareLeaseRejection(x: unknown): x is ShareLeaseRejection {
  return typeof x === 'object' && x !== null && 'reason' in x && 'facts' in x;
}

/**
 * Decides a lease command at `now`. The events of a success begin with the expiry it observed, if
 * any; a refusal carries none, so a caller that wants the expiry recorded anyway appends
 * observeShareLease's events itself.
 */
export function decideShareLease(command: ShareLeaseCommand, state: ShareLeaseState, now: number): ShareLeaseDecision {
  const observed = observeShareLease(state, now);
  const view = viewShareLease(observed.reduce(evolveShareLease, state), now);
  const decision = decide(command, view, now);
  return isShareLeaseRejection(decision) ? decision : { ...decision, events: [...observed, ...decision.events] };
}

function decide(command: ShareLeaseCommand, view: ShareLeaseView, now: number): ShareLeaseDecision {
  const reject = (reason: ShareLeaseReason): ShareLeaseRejection => ({
    reason,
    facts: { resource: 'share', state: view.state, action: command.action },
  });
  // An infinite lease has no expiry, and its event no expiresAt key.
  const lease = (leaseId: string, duration: number, epoch: number) =>
    duration === INFINITE_LEASE
      ? { leaseId, duration, epoch }
      : { leaseId, duration, expiresAt: iso(now + duration * 1000), epoch };

  switch (command.action) {
    case 'acquire': {
      const { duration, proposedLeaseId, generatedLeaseId } = command;
      if (view.state === 'leased') {
        if (proposedLeaseId !== view.leaseId) return reject('LeaseAlreadyPresent');
        // The holder acquiring again sets the new duration from now; an infinite lease asked again
        // for infinity changes nothing.
        if (duration === INFINITE_LEASE && view.duration === INFINITE_LEASE)
          return { events: [], leaseId: view.leaseId };
        return {
          events: [
            {
              type: 'ShareLeaseAcquired',
              data: { ...lease(view.leaseId, duration, view.epoch), previousState: 'leased' },
            },
          ],
          leaseId: view.leaseId,
        };
      }
      if (view.state === 'breaking') {
        return reject(proposedLeaseId === view.leaseId ? 'LeaseIsBreakingAndCannotBeAcquired' : 'LeaseAlreadyPresent');
      }
      // From Available, Expired or Broken a new holder is installed, even with the old id: the epoch
      // fences off whatever happened while nobody held the lease.
      const leaseId = proposedLeaseId ?? generatedLeaseId;
      return {
        events: [
          {
            type: 'ShareLeaseAcquired',
            data: { ...lease(leaseId, duration, view.epoch + 1), previousState: view.state },
          },
        ],
        leaseId,
      };
    }

    case 'renew': {
      // Documented for blobs since 2012-02-12: renewing a released lease is an id mismatch.
      if (view.state === 'available') return reject('LeaseIdMismatchWithLeaseOperation');
      if (command.leaseId !== view.leaseId) return reject('LeaseIdMismatchWithLeaseOperation');
      if (view.state === 'breaking' || view.state === 'broken') return reject('LeaseIsBrokenAndCannotBeRenewed');
      // Leased or Expired: the clock restarts. An infinite lease has no clock.
      if (view.duration === INFINITE_LEASE) return { events: [], leaseId: view.leaseId };
      return {
        events: [
          {
            type: 'ShareLeaseRenewed',
            data: {
              leaseId: view.leaseId,
              duration: view.duration,
              expiresAt: iso(now + view.duration * 1000),
              epoch: view.epoch,
              previousState: view.state,
            },
          },
        ],
        leaseId: view.leaseId,
      };
    }

    case 'change': {
      const { leaseId, proposedLeaseId } = command;
      if (view.state === 'breaking') {
        return reject(
          leaseId === view.leaseId || proposedLeaseId === view.leaseId
            ? 'LeaseIsBreakingAndCannotBeChanged'
            : 'LeaseIdMismatchWithLeaseOperation',
        );
      }
      // Expired and Broken leases are not active: there is no lease to change.
      if (view.state !== 'leased') return reject('LeaseNotPresentWithLeaseOperation');
      // B→A on Leased(A): the proposed id is already the active one, a no-op.
      if (proposedLeaseId === view.leaseId) return { events: [], leaseId: view.leaseId };
      if (leaseId !== view.leaseId) return reject('LeaseIdMismatchWithLeaseOperation');
      // The expiry stays: a change hands the lease over, it does not renew it.
      return {
        events: [
          {
            type: 'ShareLeaseChanged',
            data: { fromLeaseId: leaseId, toLeaseId: proposedLeaseId, epoch: view.epoch + 1 },
          },
        ],
        leaseId: proposedLeaseId,
      };
    }

    case 'release': {
      if (view.state === 'available') return reject('LeaseNotPresentWithLeaseOperation');
      if (command.leaseId !== view.leaseId) return reject('LeaseIdMismatchWithLeaseOperation');
      return { events: [{ type: 'ShareLeaseReleased', data: { leaseId: view.leaseId, fromState: view.state } }] };
    }

    case 'break': {
      const { breakPeriod } = command;
      const seconds = (brokenAt: number) => Math.max(0, Math.ceil((brokenAt - now) / 1000));
      const asked = breakPeriod === undefined ? undefined : now + breakPeriod * 1000;
      switch (view.state) {
        case 'available':
          return reject('LeaseNotPresentWithLeaseOperation');
        case 'broken':
          return { events: [], leaseId: view.leaseId, breakSeconds: 0 };
        case 'breaking': {
          // A later break only ever shortens the break period, never lengthens it.
          if (asked === undefined || asked >= view.brokenAt)
            return { events: [], leaseId: view.leaseId, breakSeconds: seconds(view.brokenAt) };
          return {
            events: [
              {
                type: 'ShareLeaseBroken',
                data: { leaseId: view.leaseId, brokenAt: iso(asked), epoch: view.epoch, fromState: 'breaking' },
              },
            ],
            leaseId: view.leaseId,
            breakSeconds: seconds(asked),
          };
        }
        case 'expired':
        case 'leased': {
          // The break period is used only when shorter than the time the lease has left; without
          // one a fixed lease runs out its time and an infinite lease breaks at once. An expired
          // lease has no time left.
          const end = view.state === 'leased' ? view.expiresAt : now;
          const brokenAt = end === undefined ? (asked ?? now) : Math.min(end, asked ?? end);
          return {
            events: [
              {
                type: 'ShareLeaseBroken',
                data: { leaseId: view.leaseId, brokenAt: iso(brokenAt), epoch: view.epoch + 1, fromState: view.state },
              },
            ],
            leaseId: view.leaseId,
            breakSeconds: seconds(brokenAt),
          };
        }
      }
    }
  }
}

export function evolveShareLease(state: ShareLeaseState, event: ShareLeaseEvent): ShareLeaseState {
  switch (event.type) {
    case 'ShareLeaseAcquired':
    case 'ShareLeaseRenewed': {
      const { leaseId, epoch, duration, expiresAt } = event.data;
      return expiresAt === undefined
        ? { status: 'leased', leaseId, epoch, duration }
        : { status: 'leased', leaseId, epoch, duration, expiresAt: ms(expiresAt) };
    }
    case 'ShareLeaseChanged':
      // Only a leased lease is changed; its duration and expiry carry over to the new id.
      return {
        ...(state as Extract<ShareLeaseState, { status: 'leased' }>),
        leaseId: event.data.toLeaseId,
        epoch: event.data.epoch,
      };
    case 'ShareLeaseReleased':
      return { status: 'available', epoch: state.epoch };
    case 'ShareLeaseBroken':
      return {
        status: 'broken',
        leaseId: event.data.leaseId,
        epoch: event.data.epoch,
        brokenAt: ms(event.data.brokenAt),
      };
    case 'ShareLeaseExpired': {
      const duration = state.status === 'leased' ? state.duration : INFINITE_LEASE;
      return {
        status: 'expired',
        leaseId: event.data.leaseId,
        epoch: state.epoch,
        duration,
        expiredAt: ms(event.data.expiredAt),
      };
    }
  }
}

/**
 * Delete Share against the share's lease (docs/share-lease.md §5): a locked share (Leased or
 * Breaking) is deleted only with its lease id; an id sent when no lease is active is refused too.
 */
export function decideShareDelete(view: ShareLeaseView, leaseId: string | undefined): ShareLeaseRejection | undefined {
  const locked = view.state === 'leased' || view.state === 'breaking';
  const reject = (reason: ShareLeaseReason): ShareLeaseRejection => ({
    reason,
    facts: { resource: 'share', state: view.state, action: 'delete' },
  });
  if (leaseId === undefined) return locked ? reject('LeaseIdMissing') : undefined;
  if (!locked) return reject('LeaseNotPresentWithShareOperation');
  return leaseId === view.leaseId ? undefined : reject('LeaseIdMismatchWithShareOperation');
}

/** x-ms-delete-snapshots: `include` deletes the share's snapshots unless one is leased; `include-leased`, all of them. */
export type DeleteSnapshotsOption = 'include' | 'include-leased';

/**
 * Delete Share of a share with snapshots, against their leases (docs/share-lease.md §8): with
 * `include`, refused while any snapshot's lease is active (Leased or Breaking), as Azure refuses it
 * (409 DeleteShareWhenSnapshotLeased); `include-leased` deletes leased snapshots too. `snapshots`:
 * each snapshot's lease as it stands at the decision's instant.
 */
export function decideSnapshotsDelete(
  snapshots: ShareLeaseView[],
  option: DeleteSnapshotsOption,
): ShareLeaseRejection | undefined {
  if (option === 'include-leased') return undefined;
  const leased = snapshots.find((view) => view.state === 'leased' || view.state === 'breaking');
  return (
    leased && {
      reason: 'DeleteShareWhenSnapshotLeased',
      facts: { resource: 'share', state: leased.state, action: 'delete' },
    }
  );
}

export function shareLeaseProperties(view: ShareLeaseView): ShareLeaseProperties {
  const locked = view.state === 'leased' || view.state === 'breaking';
  return {
    state: view.state,
    status: locked ? 'locked' : 'unlocked',
    duration: view.state === 'leased' ? (view.duration === INFINITE_LEASE ? 'infinite' : 'fixed') : undefined,
  };
}
