import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { pathKey } from '@leasehold/domain';
import {
  CreateDirectoryCommand,
  DeleteDirectoryCommand,
  DirectoryQuery,
  ListDirectoryQuery,
  NodeQuery,
  SetDirectoryMetadataCommand,
} from '@leasehold/filesystem';
import {
  AzureOperation,
  element,
  encodedElement,
  escapeXml,
  markerBinding,
  MarkerCodec,
  needsEncoding,
  pageSize,
  rfc1123,
  WireRequest,
  WireResponse,
  xmlResponse,
} from '@leasehold/wire';
import { listingEcho, MAX_LIST_RESULTS, resumeFrom, serviceEndpoint } from './listing';
import { metadataResponseHeaders, nodeResponseHeaders, readMetadata } from './wire-format';

type ListPosition = { key: string };
const isListPosition = (v: unknown): v is ListPosition => typeof (v as ListPosition)?.key === 'string';

/** Create, Get Properties, Set Metadata, Set Properties, Delete Directory, and List Directories and Files. */
@Injectable()
export class DirectoryOperations {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    /**
     * Listing markers are the key of the last entry returned (pages never skip or repeat a name),
     * signed and bound to the account, share and directory: a marker is useless to another tenant.
     */
    private readonly markers: MarkerCodec,
  ) {}

  @AzureOperation({ name: 'Create Directory', method: 'PUT', restype: 'directory', resource: 'directory', sas: 'c' })
  async create(req: WireRequest): Promise<WireResponse> {
    const node = await this.commands.execute(
      new CreateDirectoryCommand(req.context, req.share!, req.path, readMetadata(req.rawHeaders)),
    );
    return { status: 201, headers: nodeResponseHeaders(node) };
  }

  @AzureOperation({
    name: 'Get Directory Properties',
    method: 'GET',
    restype: 'directory',
    resource: 'directory',
    sas: 'r',
    shareSnapshot: true,
  })
  async getProperties(req: WireRequest): Promise<WireResponse> {
    const snapshot = req.query['sharesnapshot'];
    if (req.path.length === 0) {
      const { share } = await this.queries.execute(new DirectoryQuery(req.context, req.share!, [], snapshot));
      return {
        status: 200,
        headers: {
          etag: share.etag,
          'last-modified': rfc1123(share.lastModified),
          'x-ms-file-id': '0',
          'x-ms-file-attributes': 'Directory',
        },
      };
    }
    const { node } = await this.queries.execute(
      new NodeQuery(req.context, req.share!, req.path, 'directory', snapshot),
    );
    return { status: 200, headers: { ...nodeResponseHeaders(node), ...metadataResponseHeaders(node.metadata) } };
  }

  @AzureOperation({
    name: 'Set Directory Metadata',
    method: 'PUT',
    restype: 'directory',
    comp: 'metadata',
    resource: 'directory',
    sas: 'w',
  })
  async setMetadata(req: WireRequest): Promise<WireResponse> {
    const node = await this.commands.execute(
      new SetDirectoryMetadataCommand(req.context, req.share!, req.path, readMetadata(req.rawHeaders)),
    );
    return { status: 200, headers: { etag: node.etag, 'last-modified': rfc1123(new Date(node.lastModified)) } };
  }

  @AzureOperation({
    name: 'Set Directory Properties',
    method: 'PUT',
    restype: 'directory',
    comp: 'properties',
    resource: 'directory',
    sas: 'w',
  })
  async setProperties(req: WireRequest): Promise<WireResponse> {
    const node = await this.commands.execute(
      new SetDirectoryMetadataCommand(req.context, req.share!, req.path, undefined),
    );
    return { status: 200, headers: nodeResponseHeaders(node) };
  }

  @AzureOperation({ name: 'Delete Directory', method: 'DELETE', restype: 'directory', resource: 'directory', sas: 'd' })
  async delete(req: WireRequest): Promise<WireResponse> {
    await this.commands.execute(new DeleteDirectoryCommand(req.context, req.share!, req.path));
    return { status: 202 };
  }

  @AzureOperation({
    name: 'List Directories and Files',
    method: 'GET',
    restype: 'directory',
    comp: 'list',
    resource: 'directory',
    sas: 'l',
    shareSnapshot: true,
  })
  async list(req: WireRequest): Promise<WireResponse> {
    const limit = pageSize(req.query, MAX_LIST_RESULTS);
    const prefix = req.query['prefix'] ?? '';
    const snapshot = req.query['sharesnapshot'];
    const located = await this.queries.execute(new DirectoryQuery(req.context, req.share!, req.path, snapshot));
    // A marker resumes the listing it came from: the live directory's, or one snapshot's.
    const binding = markerBinding('list', req.context.tenant, located.share.shareId, located.key, snapshot ?? '');
    const after = resumeFrom(this.markers, binding, req.query['marker'], isListPosition, { key: '' }).key;
    const base = located.key === '' ? '' : `${located.key}/`;
    const { entries: page, more } = await this.queries.execute(
      new ListDirectoryQuery(req.context, located, base + pathKey([prefix]), after, limit),
    );
    const next = more ? this.markers.encode(binding, { key: page[page.length - 1].pathKey }) : '';
    const entries = page
      .map((r) => {
        const tag = r.kind === 'directory' ? 'Directory' : 'File';
        const properties =
          r.kind === 'file'
            ? `<Properties>${element('Content-Length', r.contentLength)}${element('Etag', r.etag)}${element('Last-Modified', rfc1123(r.lastModified))}</Properties>`
            : `<Properties>${element('Etag', r.etag)}${element('Last-Modified', rfc1123(r.lastModified))}</Properties>`;
        return `<${tag}>${encodedElement('Name', r.name)}${element('FileId', r.fileId)}${properties}</${tag}>`;
      })
      .join('');
    const directoryPath = req.path.join('/');
    const directoryPathAttributes = needsEncoding(directoryPath)
      ? `DirectoryPath="${escapeXml(encodeURIComponent(directoryPath))}" Encoded="true"`
      : `DirectoryPath="${escapeXml(directoryPath)}"`;
    const body =
      `<EnumerationResults ServiceEndpoint="${escapeXml(serviceEndpoint(req))}" ShareName="${escapeXml(req.share!)}"${snapshot ? ` ShareSnapshot="${escapeXml(snapshot)}"` : ''} ${directoryPathAttributes}>` +
      listingEcho(req, prefix, limit) +
      element('DirectoryId', located.node?.fileId ?? '0') +
      `<Entries>${entries}</Entries>${element('NextMarker', next)}</EnumerationResults>`;
    return xmlResponse(body);
  }
}
