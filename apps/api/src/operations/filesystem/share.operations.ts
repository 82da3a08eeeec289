import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { CreateShareCommand, DeleteShareCommand, ShareQuery } from '@leasehold/filesystem';
import { AzureError, AzureOperation, integerHeader, rfc1123, WireRequest, WireResponse } from '@leasehold/wire';
import { metadataResponseHeaders, readMetadata } from './wire-format';

const MAX_QUOTA_GIB = 102400;

/** Create, Get Properties and Delete Share. */
@Injectable()
export class ShareOperations {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @AzureOperation({ name: 'Create Share', method: 'PUT', restype: 'share', resource: 'share', sas: 'c' })
  async create(req: WireRequest): Promise<WireResponse> {
    const quota = integerHeader(req, 'x-ms-share-quota', MAX_QUOTA_GIB) ?? MAX_QUOTA_GIB;
    if (quota < 1)
      throw new AzureError(400, 'InvalidHeaderValue', 'The share quota must be at least 1 GiB.', {
        HeaderName: 'x-ms-share-quota',
        HeaderValue: '0',
      });
    const result = await this.commands.execute(
      new CreateShareCommand(req.context, req.share!, quota, readMetadata(req.rawHeaders)),
    );
    return { status: 201, headers: { etag: result.etag, 'last-modified': rfc1123(result.lastModified) } };
  }

  @AzureOperation({ name: 'Get Share Properties', method: 'GET', restype: 'share', resource: 'share', sas: 'r' })
  async getProperties(req: WireRequest): Promise<WireResponse> {
    const share = await this.queries.execute(new ShareQuery(req.context, req.share!));
    return {
      status: 200,
      headers: {
        etag: share.etag,
        'last-modified': rfc1123(share.lastModified),
        'x-ms-share-quota': share.quota,
        ...metadataResponseHeaders(share.metadata),
      },
    };
  }

  @AzureOperation({ name: 'Delete Share', method: 'DELETE', restype: 'share', resource: 'share', sas: 'd' })
  async delete(req: WireRequest): Promise<WireResponse> {
    await this.commands.execute(new DeleteShareCommand(req.context, req.share!));
    return { status: 202 };
  }
}
