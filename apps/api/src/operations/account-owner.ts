import { AzureError, WireRequest } from '@leasehold/wire';

/** List Handles, Force Close Handles, jobs and audit are for the account owner only (Shared Key), as in Azure: a SAS gets 403. */
export function requireAccountOwner(req: WireRequest): void {
  if (req.context.authentication !== 'SharedKey') {
    throw new AzureError(
      403,
      'AuthorizationFailure',
      'This request is not authorized to perform this operation: only the account owner may.',
    );
  }
}
