import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { INFINITE_LEASE, LeaseCommand, ShareLeaseCommand } from '@leasehold/domain';
import { LeaseFileCommand, LeaseShareCommand } from '@leasehold/leases';
import {
  AzureOperation,
  guidHeader,
  header,
  invalidHeader,
  missingHeader,
  requiredHeader,
  rfc1123,
  WireRequest,
  WireResponse,
} from '@leasehold/wire';
import { randomUUID } from 'node:crypto';
import { requireAccountOwner } from '../account-owner';
import { LEASE_EPOCH_HEADER } from '../filesystem/wire-format';

const SUCCESS_STATUS = { acquire: 201, change: 200, release: 200, break: 202 } as const;

function requiredGuid(req: WireRequest, name: string): string {
  const id = guidHeader(req, name);
  if (id === undefined) throw missingHeader(name);
  return id;
}

/** Turns the request's headers into a lease command, refusing what Lease File does not allow (docs/lease-file.md). */
function leaseCommand(req: WireRequest): LeaseCommand {
  const action = requiredHeader(req, 'x-ms-lease-action').toLowerCase();
  const duration = header(req, 'x-ms-lease-duration');
  if (action === 'acquire') {
    // Files only have infinite leases: the duration is required and must be -1.
    if (duration === undefined) throw missingHeader('x-ms-lease-duration');
    if (duration.trim() !== '-1')
      throw invalidHeader(
        'x-ms-lease-duration',
        duration,
        'A file lease must be infinite: x-ms-lease-duration must be -1.',
      );
    guidHeader(req, 'x-ms-lease-id');
    return { action, proposedLeaseId: guidHeader(req, 'x-ms-proposed-lease-id'), generatedLeaseId: randomUUID() };
  }
  if (!['change', 'release', 'break'].includes(action)) throw invalidHeader('x-ms-lease-action', action);
  if (duration !== undefined)
    throw invalidHeader('x-ms-lease-duration', duration, 'x-ms-lease-duration is only allowed on acquire.');
  switch (action) {
    case 'change':
      return {
        action,
        leaseId: requiredGuid(req, 'x-ms-lease-id'),
        proposedLeaseId: requiredGuid(req, 'x-ms-proposed-lease-id'),
      };
    case 'release':
      guidHeader(req, 'x-ms-proposed-lease-id');
      return { action, leaseId: requiredGuid(req, 'x-ms-lease-id') };
    default:
      guidHeader(req, 'x-ms-lease-id');
      guidHeader(req, 'x-ms-proposed-lease-id');
      return { action: 'break' };
  }
}

/** Lease File: PUT ?comp=lease. */
@Injectable()
export class LeaseOperations {
  constructor(private readonly commands: CommandBus) {}

  @AzureOperation({ name: 'Lease File', method: 'PUT', comp: 'lease', resource: 'file', sas: 'w' })
  async lease(req: WireRequest): Promise<WireResponse> {
    const command = leaseCommand(req);
    const { leaseId, node } = await this.commands.execute(
      new LeaseFileCommand(req.context, req.share!, req.path, command),
    );
    return {
      status: SUCCESS_STATUS[command.action],
      headers: {
        etag: node.etag,
        'last-modified': rfc1123(new Date(node.lastModified)),
        'x-ms-lease-id': command.action === 'acquire' || command.action === 'change' ? leaseId : undefined,
        'x-ms-lease-time': command.action === 'break' ? 0 : undefined,
        [LEASE_EPOCH_HEADER]: node.lease.epoch,
      },
    };
  }
}

const SHARE_SUCCESS_STATUS = { acquire: 201, renew: 200, change: 200, release: 200, break: 202 } as const;

/** A header of whole seconds that `valid` accepts; absent → undefined. */
function secondsHeader(
  req: WireRequest,
  name: string,
  valid: (n: number) => boolean,
  message: string,
): number | undefined {
  const raw = header(req, name);
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (!/^-?\d{1,3}$/.test(value) || !valid(Number(value))) throw invalidHeader(name, raw, message);
  return Number(value);
}

/** Turns the request's headers into a share lease command (docs/share-lease.md §1). */
function shareLeaseCommand(req: WireRequest): ShareLeaseCommand {
  const action = requiredHeader(req, 'x-ms-lease-action').toLowerCase();
  if (!Object.hasOwn(SHARE_SUCCESS_STATUS, action)) throw invalidHeader('x-ms-lease-action', action);
  const duration = secondsHeader(
    req,
    'x-ms-lease-duration',
    (n) => n === INFINITE_LEASE || (n >= 15 && n <= 60),
    'x-ms-lease-duration must be -1 or between 15 and 60 seconds.',
  );
  const breakPeriod = secondsHeader(
    req,
    'x-ms-lease-break-period',
    (n) => n >= 0 && n <= 60,
    'x-ms-lease-break-period must be between 0 and 60 seconds.',
  );
  if (duration !== undefined && action !== 'acquire')
    throw invalidHeader('x-ms-lease-duration', String(duration), 'x-ms-lease-duration is only allowed on acquire.');
  if (breakPeriod !== undefined && action !== 'break')
    throw invalidHeader(
      'x-ms-lease-break-period',
      String(breakPeriod),
      'x-ms-lease-break-period is only allowed on break.',
    );
  // Ids that an action does not use are still checked for shape.
  guidHeader(req, 'x-ms-lease-id');
  const proposedLeaseId = guidHeader(req, 'x-ms-proposed-lease-id');
  switch (action as ShareLeaseCommand['action']) {
    case 'acquire':
      if (duration === undefined) throw missingHeader('x-ms-lease-duration');
      return { action: 'acquire', duration, proposedLeaseId, generatedLeaseId: randomUUID() };
    case 'renew':
      return { action: 'renew', leaseId: requiredGuid(req, 'x-ms-lease-id') };
    case 'change':
      return {
        action: 'change',
        leaseId: requiredGuid(req, 'x-ms-lease-id'),
        proposedLeaseId: requiredGuid(req, 'x-ms-proposed-lease-id'),
      };
    case 'release':
      return { action: 'release', leaseId: requiredGuid(req, 'x-ms-lease-id') };
    case 'break':
      return { action: 'break', breakPeriod };
  }
}

/** Lease Share: PUT ?restype=share&comp=lease, of the share or, with sharesnapshot, of that snapshot. Only the account owner may call it. */
@Injectable()
export class ShareLeaseOperations {
  constructor(private readonly commands: CommandBus) {}

  @AzureOperation({
    name: 'Lease Share',
    method: 'PUT',
    restype: 'share',
    comp: 'lease',
    resource: 'share',
    sas: 'owner',
    shareSnapshot: true,
  })
  async lease(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const command = shareLeaseCommand(req);
    const result = await this.commands.execute(
      new LeaseShareCommand(req.context, req.share!, command, req.query['sharesnapshot']),
    );
    return {
      status: SHARE_SUCCESS_STATUS[command.action],
      headers: {
        etag: result.etag,
        'last-modified': rfc1123(result.lastModified),
        'x-ms-lease-id': command.action === 'release' ? undefined : result.leaseId,
        'x-ms-lease-time': command.action === 'break' ? result.breakSeconds : undefined,
        [LEASE_EPOCH_HEADER]: result.epoch,
      },
    };
  }
}
