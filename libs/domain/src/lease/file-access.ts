// The "outcomes of use attempts" table of docs/lease-file.md: how a file's lease gates reads and writes.
import { leaseError } from './lease.errors';
import { LeaseDecision, LeaseState } from './lease.types';

/** A read or write of the file, with the x-ms-lease-id it carried (canonical GUID), if any. */
export type FileAccess = { kind: 'read' | 'write'; leaseId?: string };

export function decideFileAccess(access: FileAccess, state: LeaseState): LeaseDecision {
  if (access.leaseId !== undefined) {
    // A lease id demands an active lease, and a broken lease is not active even when the id matches.
    if (state.status !== 'leased') return leaseError('LeaseNotPresentWithFileOperation');
    return access.leaseId === state.leaseId ? { events: [] } : leaseError('LeaseIdMismatchWithFileOperation');
  }
  if (access.kind === 'read') return { events: [] };
  if (state.status === 'leased') return leaseError('LeaseIdMissing');
  if (state.status === 'broken') {
    return { events: [{ type: 'BrokenLeaseCleared', data: { leaseId: state.leaseId, by: 'write' } }] };
  }
  return { events: [] };
}
