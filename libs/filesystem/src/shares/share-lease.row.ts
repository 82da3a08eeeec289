import { ShareLeaseState } from '@leasehold/domain';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A share lease's columns in the shares projection: the one mapping the inline projection, Create
 * Share and rebuilds use. lease_expires_at is when a leased lease expires or an expired one did.
 */
export function shareLeaseColumns(lease: ShareLeaseState) {
  const none = { lease_id: null, lease_duration: null, lease_expires_at: null, lease_broken_at: null };
  switch (lease.status) {
    case 'available':
      return { ...none, lease_status: lease.status, lease_epoch: lease.epoch };
    case 'leased':
      return {
        ...none,
        lease_status: lease.status,
        lease_id: lease.leaseId,
        lease_epoch: lease.epoch,
        lease_duration: lease.duration,
        lease_expires_at: lease.expiresAt === undefined ? null : iso(lease.expiresAt),
      };
    case 'expired':
      return {
        ...none,
        lease_status: lease.status,
        lease_id: lease.leaseId,
        lease_epoch: lease.epoch,
        lease_duration: lease.duration,
        lease_expires_at: iso(lease.expiredAt),
      };
    case 'broken':
      return {
        ...none,
        lease_status: lease.status,
        lease_id: lease.leaseId,
        lease_epoch: lease.epoch,
        lease_broken_at: iso(lease.brokenAt),
      };
  }
}

/** The lease columns of a shares row, as pg returns them (the epoch is a bigint, so a string). */
export interface ShareLeaseRow {
  lease_status: ShareLeaseState['status'];
  lease_epoch: string | number;
  lease_id: string | null;
  lease_duration: number | null;
  lease_expires_at: Date | string | null;
  lease_broken_at: Date | string | null;
}

/** The lease a shares row records; shareLeaseColumns fills the columns each status needs (the `!`s). */
export function shareLeaseOf(r: ShareLeaseRow): ShareLeaseState {
  const epoch = Number(r.lease_epoch);
  const at = (value: Date | string) => new Date(value).getTime();
  switch (r.lease_status) {
    case 'available':
      return { status: 'available', epoch };
    case 'leased':
      return r.lease_expires_at === null
        ? { status: 'leased', leaseId: r.lease_id!, epoch, duration: r.lease_duration! }
        : {
            status: 'leased',
            leaseId: r.lease_id!,
            epoch,
            duration: r.lease_duration!,
            expiresAt: at(r.lease_expires_at),
          };
    case 'expired':
      return {
        status: 'expired',
        leaseId: r.lease_id!,
        epoch,
        duration: r.lease_duration!,
        expiredAt: at(r.lease_expires_at!),
      };
    case 'broken':
      return { status: 'broken', leaseId: r.lease_id!, epoch, brokenAt: at(r.lease_broken_at!) };
  }
}
