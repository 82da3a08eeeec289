import { decideFileAccess, FileAccess, isLeaseError, LeaseDecision, LeaseEvent, LeaseState, parseGuid } from '@leasehold/domain';
import { AzureError, header, invalidHeader } from '@leasehold/wire';
import type { IncomingHttpHeaders } from 'node:http';

/** A GUID header in any format .NET accepts, canonicalised; absent → undefined; malformed → 400. */
export function guidHeader(req: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const raw = header(req, name);
  if (raw === undefined) return undefined;
  const guid = parseGuid(raw);
  if (!guid) throw invalidHeader(name, raw);
  return guid;
}

/** The Azure error for a refused lease decision. */
export function orThrow<T extends LeaseDecision>(decision: T): Exclude<T, { error: string }> {
  if (isLeaseError(decision)) throw new AzureError(decision.status, decision.error, decision.message);
  return decision as Exclude<T, { error: string }>;
}

/**
 * The seed's first table: may this read or write go ahead under the file's lease? Returns the
 * lease events the access causes (a lease-less write clears a broken lease).
 */
export function gateAccess(lease: LeaseState, access: FileAccess): LeaseEvent[] {
  return orThrow(decideFileAccess(access, lease)).events;
}
