import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { LeaseCommand } from '@leasehold/domain';
import { LeaseFileCommand } from '@leasehold/leases';
import {
  AzureError,
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
    // Snapshots are read-only, so a file in one cannot be leased (400, docs/lease-file.md). Without this check
    // the parameter was ignored and the live file got leased.
    if (req.query['sharesnapshot'] !== undefined) {
      throw new AzureError(
        400,
        'ShareSnapshotOperationNotSupported',
        'The operation is not supported on a share snapshot: a file in a share snapshot cannot be leased.',
      );
    }
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
