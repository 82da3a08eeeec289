import { DomainError, DomainReason } from '@leasehold/domain';
import { AzureError } from './errors';

type Answer = {
  status: number;
  code?: string;
  message: string | ((facts: Record<string, string | number>) => string);
  details?: Record<string, string>;
  headers?: Record<string, string>;
};

/** Lease File words its refusals for "the file", Lease Share (facts.resource 'share') for "the file share" (docs/share-lease.md §4). */
const onThe = (f: Record<string, string | number>) => (f.resource === 'share' ? 'file share' : 'file');

/**
 * How the Azure dialect says each reason the application refuses a command: status, x-ms-error-code
 * (the reason itself unless given) and message, as the File service returns them, except
 * LeaseIdMismatchWithFileOperation, which the Lease File outcome table makes a 409.
 */
const ANSWERS: Record<DomainReason, Answer> = {
  LeaseAlreadyPresent: { status: 409, message: 'There is already a lease present.' },
  LeaseNotPresentWithLeaseOperation: { status: 409, message: (f) => `There is currently no lease on the ${onThe(f)}.` },
  LeaseIdMismatchWithLeaseOperation: {
    status: 409,
    message: (f) => `The lease ID specified did not match the lease ID for the ${onThe(f)}.`,
  },
  LeaseIdMissing: {
    status: 412,
    message: (f) => `There is currently a lease on the ${onThe(f)} and no lease ID was specified in the request.`,
  },
  LeaseNotPresentWithFileOperation: { status: 412, message: 'There is currently no lease on the file.' },
  LeaseIdMismatchWithFileOperation: {
    status: 409,
    message: 'The lease ID specified did not match the lease ID for the file.',
  },
  LeaseIsBreakingAndCannotBeAcquired: {
    status: 409,
    message:
      'The lease ID matched, but the lease is currently in breaking state and cannot be acquired until it is broken.',
  },
  LeaseIsBreakingAndCannotBeChanged: {
    status: 409,
    message: 'The lease ID matched, but the lease is currently in breaking state and cannot be changed.',
  },
  LeaseIsBrokenAndCannotBeRenewed: {
    status: 409,
    message: 'The lease ID matched, but the lease has been broken explicitly and cannot be renewed.',
  },
  LeaseIdMismatchWithShareOperation: {
    status: 412,
    message: 'The lease ID specified did not match the lease ID for the file share.',
  },
  LeaseNotPresentWithShareOperation: { status: 412, message: 'There is currently no lease on the file share.' },
  DeleteShareWhenSnapshotLeased: {
    status: 409,
    message: 'Unable to delete share because one or more share snapshots have active leases.',
  },
  ShareNotFound: { status: 404, message: 'The specified share does not exist.' },
  ShareAlreadyExists: { status: 409, message: 'The specified share already exists.' },
  ShareHasSnapshots: {
    status: 409,
    message: 'The share has snapshots and the operation requires no snapshots: send x-ms-delete-snapshots: include.',
  },
  ShareSnapshotCountExceeded: {
    status: 409,
    message: 'The total number of snapshots for the share is over the limit.',
  },
  FileGenerationMismatch: {
    status: 409,
    message: 'The file has been recreated since the previous snapshot was taken.',
  },
  ParentNotFound: { status: 404, message: 'The specified parent path does not exist.' },
  ResourceNotFound: { status: 404, message: 'The specified resource does not exist.' },
  ResourceAlreadyExists: { status: 409, message: 'The specified resource already exists.' },
  ResourceTypeMismatch: {
    status: 409,
    message: 'The specified resource type does not match the type of the resource.',
  },
  DirectoryNotLeasable: {
    status: 409,
    code: 'ResourceTypeMismatch',
    message: 'The specified resource is a directory; only files can be leased.',
  },
  DirectoryNotEmpty: { status: 409, message: 'The specified directory is not empty.' },
  SharingViolation: {
    status: 409,
    message: 'The specified resource is open by an SMB client; close its handles (Force Close Handles) first.',
  },
  CopySourceNotFound: {
    status: 404,
    code: 'CannotVerifyCopySource',
    message: 'The specified resource does not exist.',
  },
  NoPendingCopyOperation: { status: 409, message: 'There is currently no pending copy operation.' },
  RenameIntoItself: {
    status: 400,
    code: 'InvalidResourceName',
    message: 'The destination lies inside the directory being renamed.',
  },
  InvalidRange: { status: 416, message: 'The range specified is invalid for the current size of the resource.' },
  HandleNotOpen: {
    status: 404,
    code: 'ResourceNotFound',
    message: 'The specified handle is not open on this path in this session.',
  },
  HandleLimitExceeded: {
    status: 400,
    message: (f) => `The total handles opened on this file or directory reach the limit of ${f.limit}.`,
  },
  RecursiveOnFile: {
    status: 400,
    code: 'InvalidHeaderValue',
    message: 'x-ms-recursive is valid only for directories.',
    details: { HeaderName: 'x-ms-recursive', HeaderValue: 'true' },
  },
  JobNotFound: { status: 404, message: 'The specified job does not exist.' },
  JobAlreadyEnded: {
    status: 409,
    message: (f) => `The job has already ${f.state === 'completed' ? 'completed' : 'failed'}.`,
  },
  // A quota, answered as Azure throttles: the SDK's retry policy retries a 503.
  WatcherLimitReached: {
    status: 503,
    code: 'ServerBusy',
    message: (f) => `The account holds its limit of ${f.limit} watches on this server.`,
    headers: { 'retry-after': '1' },
  },
  WatchStopped: {
    status: 503,
    code: 'ServerBusy',
    message: 'The server is shutting down; retry the watch.',
    headers: { 'retry-after': '1' },
  },
  ReplaceNeedsWritePermission: {
    status: 403,
    code: 'AuthorizationPermissionMismatch',
    message: 'This request is not authorized to perform this operation using this permission.',
  },
};

/** The Azure error that says a domain refusal. */
export function azureErrorOf({ reason, facts }: DomainError): AzureError {
  const answer = ANSWERS[reason];
  const message = typeof answer.message === 'function' ? answer.message(facts) : answer.message;
  return new AzureError(answer.status, answer.code ?? reason, message, answer.details, answer.headers);
}
