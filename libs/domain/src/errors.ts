import type { LeaseErrorCode } from './lease/lease.types';
import type { ShareLeaseReason } from './share-lease/share-lease.types';

/**
 * Why the application refused a command. A reason, not an answer: each interface says it its own
 * way (the Azure wire maps every reason to a status, an error code and a message in one table).
 */
export type DomainReason =
  | LeaseErrorCode
  /** facts.resource: 'share'; facts.state and facts.action: the share lease's state and the action refused. */
  | ShareLeaseReason
  | 'ShareNotFound'
  | 'ShareAlreadyExists'
  /** Delete Share of a share with snapshots, without x-ms-delete-snapshots. */
  | 'ShareHasSnapshots'
  /** facts.limit: the snapshots a share may have. */
  | 'ShareSnapshotCountExceeded'
  /** List Ranges against a previous snapshot in which the file is not the same file (re-created, or not there). */
  | 'FileGenerationMismatch'
  | 'ParentNotFound'
  | 'ResourceNotFound'
  | 'ResourceAlreadyExists'
  /** A file where a directory is meant, or the other way round. */
  | 'ResourceTypeMismatch'
  /** Lease File on a directory. */
  | 'DirectoryNotLeasable'
  | 'DirectoryNotEmpty'
  /** Delete File or Delete Directory while handles are open on it. */
  | 'SharingViolation'
  /** Copy File: no readable file at x-ms-copy-source. */
  | 'CopySourceNotFound'
  /** Abort Copy File: every copy here has completed. */
  | 'NoPendingCopyOperation'
  /** Rename Directory into the directory itself or below it. */
  | 'RenameIntoItself'
  /** A write beyond the end of the file. */
  | 'InvalidRange'
  /** Close Handle: no such open handle on this path in this session. */
  | 'HandleNotOpen'
  /** facts.limit: the handles allowed on the node. */
  | 'HandleLimitExceeded'
  /** A recursive handle operation on a file. */
  | 'RecursiveOnFile'
  | 'JobNotFound'
  /** facts.state: how the job ended. */
  | 'JobAlreadyEnded'
  /** facts.limit: the watches one tenant may hold open on one API process. */
  | 'WatcherLimitReached'
  /** The process is shutting down and takes no new watch. */
  | 'WatchStopped'
  /** Create File over an existing file through a SAS that grants create (c) but not write (w). */
  | 'ReplaceNeedsWritePermission';

/**
 * An error that is an answer, not a fault (a refusal, a 4xx): it is built without a stack trace,
 * which nothing reads for an answer and which cost about 10 µs an error to capture in a profile of
 * the lease bench's refusals. A fault keeps its stack: it is a plain Error.
 */
export class StacklessError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

export class DomainError extends StacklessError {
  constructor(
    readonly reason: DomainReason,
    readonly facts: Record<string, string | number> = {},
  ) {
    super(reason);
  }
}
