import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { RenameCommand } from '@leasehold/filesystem';
import {
  AzureError,
  AzureOperation,
  booleanHeader,
  guidHeader,
  invalidUri,
  WireRequest,
  WireResponse,
} from '@leasehold/wire';
import { sourceLocation } from './source-url';
import { nodeResponseHeaders, readMetadata } from './wire-format';

/** Rename File and Rename Directory: the URL names the destination, x-ms-file-rename-source the source, in the same share. */
@Injectable()
export class RenameOperations {
  constructor(private readonly commands: CommandBus) {}

  private async rename(req: WireRequest, kind: 'file' | 'directory'): Promise<WireResponse> {
    if (req.path.length === 0) throw invalidUri();
    const source = sourceLocation(req, 'x-ms-file-rename-source', 'x-ms-source-allow-trailing-dot');
    if (source.share !== req.share) {
      throw new AzureError(
        400,
        'InvalidHeaderValue',
        'The source and the destination of a rename must be in the same share.',
        {
          HeaderName: 'x-ms-file-rename-source',
          HeaderValue: req.headers['x-ms-file-rename-source'] as string,
        },
      );
    }
    // There are no read-only attributes here, so ignoring them changes nothing; the value is still checked.
    booleanHeader(req, 'x-ms-file-rename-ignore-readonly');
    const metadata = readMetadata(req.rawHeaders);
    const node = await this.commands.execute(
      new RenameCommand(req.context, req.share, kind, source.path, req.path, {
        replaceIfExists: booleanHeader(req, 'x-ms-file-rename-replace-if-exists') ?? false,
        sourceLeaseId: guidHeader(req, 'x-ms-source-lease-id'),
        destinationLeaseId: guidHeader(req, 'x-ms-destination-lease-id'),
        metadata: Object.keys(metadata).length > 0 ? metadata : undefined,
      }),
    );
    return { status: 200, headers: nodeResponseHeaders(node) };
  }

  @AzureOperation({ name: 'Rename File', method: 'PUT', comp: 'rename', resource: 'file', sas: 'w' })
  renameFile(req: WireRequest): Promise<WireResponse> {
    return this.rename(req, 'file');
  }

  @AzureOperation({
    name: 'Rename Directory',
    method: 'PUT',
    restype: 'directory',
    comp: 'rename',
    resource: 'directory',
    sas: 'w',
  })
  renameDirectory(req: WireRequest): Promise<WireResponse> {
    return this.rename(req, 'directory');
  }
}
