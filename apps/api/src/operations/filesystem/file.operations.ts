import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ByteRange, clipRanges, DomainError, FileProperties, NodeState, parseGuid } from '@leasehold/domain';
import {
  FileContentQuery,
  FileRangeDiffQuery,
  FileRangesQuery,
  FileWrite,
  gateAccess,
  LocateQuery,
  Located,
  NodeQuery,
  WriteFileCommand,
} from '@leasehold/filesystem';
import {
  Authenticator,
  AzureError,
  AzureOperation,
  azureErrorOf,
  guidHeader,
  header,
  integerHeader,
  invalidHeader,
  invalidQuery,
  isShareSnapshotName,
  missingHeader,
  requiredHeader,
  rfc1123,
  element,
  WireRequest,
  WireResponse,
  xmlResponse,
} from '@leasehold/wire';
import { createHash, randomUUID } from 'node:crypto';
import { sourceLocation } from './source-url';
import { leaseResponseHeaders, metadataResponseHeaders, nodeResponseHeaders, readMetadata } from './wire-format';

const MAX_FILE_BYTES = 4 * 1024 ** 4;
const MAX_RANGE_BYTES = 4 * 1024 * 1024;

/** `bytes=S-E` or `bytes=S-`; E undefined means to the end. */
function parseRange(value: string, name: string): { start: number; end?: number } {
  const match = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(value.trim());
  if (!match) throw invalidHeader(name, value);
  const start = Number(match[1]);
  const end = match[2] === '' ? undefined : Number(match[2]);
  if (end !== undefined && end < start) throw invalidHeader(name, value);
  return { start, end };
}

function fileProperties(req: WireRequest): FileProperties {
  const properties: FileProperties = {
    contentType: header(req, 'x-ms-content-type'),
    contentEncoding: header(req, 'x-ms-content-encoding'),
    contentLanguage: header(req, 'x-ms-content-language'),
    cacheControl: header(req, 'x-ms-cache-control'),
    contentDisposition: header(req, 'x-ms-content-disposition'),
    contentMD5: header(req, 'x-ms-content-md5'),
  };
  if (properties.contentMD5 !== undefined && Buffer.from(properties.contentMD5, 'base64').length !== 16) {
    throw invalidHeader('x-ms-content-md5', properties.contentMD5);
  }
  return Object.fromEntries(Object.entries(properties).filter(([, v]) => v !== undefined));
}

/** What Get File and Get File Properties say about the copy that wrote a file, if one did. */
function copyHeaders({ copy }: NodeState): Record<string, string | undefined> {
  if (!copy) return {};
  return {
    'x-ms-copy-id': copy.id,
    'x-ms-copy-source': copy.source,
    'x-ms-copy-status': 'success',
    'x-ms-copy-progress': copy.progress,
    'x-ms-copy-completion-time': rfc1123(new Date(copy.completedAt)),
  };
}

function propertyHeaders(node: NodeState): Record<string, string | undefined> {
  const p = node.properties;
  return {
    'content-type': p.contentType ?? 'application/octet-stream',
    'content-encoding': p.contentEncoding,
    'content-language': p.contentLanguage,
    'cache-control': p.cacheControl,
    'content-disposition': p.contentDisposition,
  };
}

/** Create File, Put Range, Get File, Get File Properties, Get/Set File Metadata, Set File Properties, List Ranges, Delete File. */
@Injectable()
export class FileOperations {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    private readonly authenticator: Authenticator,
  ) {}

  private write(req: WireRequest, write: FileWrite): Promise<NodeState | undefined> {
    return this.commands.execute(
      new WriteFileCommand(req.context, req.share!, req.path, guidHeader(req, 'x-ms-lease-id'), write),
    );
  }

  /** Create File, or Copy File when x-ms-copy-source is present (Azure routes both by PUT on the file). */
  @AzureOperation({ name: 'Create File', method: 'PUT', resource: 'file', sas: 'c' })
  async create(req: WireRequest): Promise<WireResponse> {
    if (header(req, 'x-ms-copy-source') !== undefined) return this.copy(req);
    const type = requiredHeader(req, 'x-ms-type');
    if (type.toLowerCase() !== 'file') throw invalidHeader('x-ms-type', type);
    const contentLength = integerHeader(req, 'x-ms-content-length', MAX_FILE_BYTES);
    if (contentLength === undefined) throw missingHeader('x-ms-content-length');
    // Create needs `c` (or `w`) of a SAS; replacing an existing file is a write and needs `w`.
    const mayReplace = req.sasPermissions === undefined || req.sasPermissions.includes('w');
    const node = await this.write(req, {
      kind: 'create',
      contentLength,
      properties: fileProperties(req),
      metadata: readMetadata(req.rawHeaders),
      mayReplace,
    });
    return { status: 201, headers: nodeResponseHeaders(node!) };
  }

  /**
   * Copy File within the account, completed before it answers. The source is authorized by a SAS on
   * its URL when it carries one, else by the request's Shared Key (same account); a request made
   * with a SAS must bring one for the source too.
   */
  private async copy(req: WireRequest): Promise<WireResponse> {
    const source = sourceLocation(req, 'x-ms-copy-source', 'x-ms-source-allow-trailing-dot');
    const url = header(req, 'x-ms-copy-source')!;
    if (source.url.query['sig'] !== undefined) {
      await this.authenticator.authorizeSourceSas(source.url, req.context.now, req.connection);
    } else if (req.context.authentication !== 'SharedKey') {
      throw new AzureError(
        403,
        'CannotVerifyCopySource',
        'This request is not authorized to read the copy source: give x-ms-copy-source a shared access signature.',
      );
    }
    const metadata = readMetadata(req.rawHeaders);
    const copyId = randomUUID();
    const node = await this.write(req, {
      kind: 'copy',
      source: { share: source.share, path: source.path, url },
      copyId,
      metadata: Object.keys(metadata).length > 0 ? metadata : undefined,
    });
    return {
      status: 202,
      headers: {
        etag: node!.etag,
        'last-modified': rfc1123(new Date(node!.lastModified)),
        'x-ms-copy-id': copyId,
        'x-ms-copy-status': 'success',
      },
    };
  }

  /** Every copy completes before Copy File answers, so there is never one to abort. */
  @AzureOperation({ name: 'Abort Copy File', method: 'PUT', comp: 'copy', resource: 'file', sas: 'w' })
  async abortCopy(req: WireRequest): Promise<WireResponse> {
    const action = requiredHeader(req, 'x-ms-copy-action');
    if (action.toLowerCase() !== 'abort') throw invalidHeader('x-ms-copy-action', action);
    const copyId = req.query['copyid'];
    if (copyId === undefined)
      throw new AzureError(
        400,
        'MissingRequiredQueryParameter',
        'A query parameter that is mandatory for this request is not specified.',
        { QueryParameterName: 'copyid' },
      );
    if (parseGuid(copyId) === undefined) throw invalidQuery('copyid', copyId);
    const { node } = await this.queries.execute(new NodeQuery(req.context, req.share!, req.path, 'file'));
    // Aborting needs the destination's lease as a write would; it writes nothing either way.
    gateAccess(node.lease, { kind: 'write', leaseId: guidHeader(req, 'x-ms-lease-id') });
    throw new DomainError('NoPendingCopyOperation');
  }

  /** Put Range and, with x-ms-copy-source, Put Range From URL (the same method, restype and comp). */
  @AzureOperation({ name: 'Put Range', method: 'PUT', comp: 'range', resource: 'file', sas: 'w' })
  async putRange(req: WireRequest): Promise<WireResponse> {
    // As Azure: the length is declared up front, not streamed in chunks.
    if (header(req, 'content-length') === undefined)
      throw new AzureError(411, 'MissingContentLengthHeader', 'Content-Length HTTP header is required.');
    const range = parseRange(requiredHeader(req, 'x-ms-range'), 'x-ms-range');
    if (range.end === undefined) throw invalidHeader('x-ms-range', header(req, 'x-ms-range')!);
    const mode = requiredHeader(req, 'x-ms-write').toLowerCase();
    const length = range.end - range.start + 1;
    const source = header(req, 'x-ms-copy-source');
    if (source !== undefined) return this.putRangeFromUrl(req, source, { start: range.start, length }, mode);
    if (mode === 'clear') {
      if (req.body.length !== 0) throw invalidHeader('Content-Length', String(req.body.length));
      const node = await this.write(req, { kind: 'clearRange', start: range.start, end: range.end });
      return { status: 201, headers: { etag: node!.etag, 'last-modified': rfc1123(new Date(node!.lastModified)) } };
    }
    if (mode !== 'update') throw invalidHeader('x-ms-write', mode);
    if (length > MAX_RANGE_BYTES)
      throw new AzureError(
        413,
        'RequestBodyTooLarge',
        'The request body is too large and exceeds the maximum permissible limit.',
      );
    if (req.body.length !== length)
      throw invalidHeader(
        'Content-Length',
        String(req.body.length),
        'The Content-Length does not match the length of x-ms-range.',
      );
    const md5 = createHash('md5').update(req.body).digest('base64');
    const sent = header(req, 'content-md5');
    if (sent !== undefined && sent !== md5)
      throw new AzureError(
        400,
        'Md5Mismatch',
        'The MD5 value specified in the request did not match with the MD5 value calculated by the server.',
      );
    const node = await this.write(req, { kind: 'putRange', start: range.start, data: req.body });
    return {
      status: 201,
      headers: { etag: node!.etag, 'last-modified': rfc1123(new Date(node!.lastModified)), 'content-md5': md5 },
    };
  }

  /**
   * Copies a range of a file of the same account, read under the SAS in the source URL, into this
   * file's range; the destination's lease gates it like any write, the source's does not.
   */
  private async putRangeFromUrl(
    req: WireRequest,
    source: string,
    range: { start: number; length: number },
    mode: string,
  ): Promise<WireResponse> {
    if (mode !== 'update') throw invalidHeader('x-ms-write', mode);
    if (req.body.length !== 0)
      throw invalidHeader('Content-Length', String(req.body.length), 'Put Range From URL carries no body.');
    if (header(req, 'x-ms-copy-source-authorization') !== undefined) {
      throw new AzureError(
        403,
        'CannotVerifyCopySource',
        'x-ms-copy-source-authorization takes a Microsoft Entra ID token, which Leasehold does not issue: put a SAS in the source URL.',
      );
    }
    const sourceRange = parseRange(requiredHeader(req, 'x-ms-source-range'), 'x-ms-source-range');
    if (sourceRange.end === undefined || sourceRange.end - sourceRange.start + 1 !== range.length) {
      throw invalidHeader(
        'x-ms-source-range',
        header(req, 'x-ms-source-range')!,
        'The source range must be as long as the destination range.',
      );
    }
    if (range.length > MAX_RANGE_BYTES)
      throw invalidHeader('x-ms-range', header(req, 'x-ms-range')!, 'At most 4 MiB can be written at once.');
    const { context } = req;
    const url = await this.authenticator.authorizeCopySource(source, context.tenant, context.now, req.connection);
    // A source that is not there is the source's refusal, said as Azure says it for a copy source.
    const { node: from } = await this.queries
      .execute(new NodeQuery(context, url.share!, url.path, 'file'))
      .catch((error) => {
        if (!(error instanceof DomainError)) throw error;
        const refusal = azureErrorOf(error);
        throw new AzureError(refusal.status, 'CannotVerifyCopySource', refusal.message);
      });
    if (sourceRange.end >= from.contentLength)
      throw new AzureError(416, 'InvalidRange', 'The range specified is invalid for the current size of the source.');
    // At most 4 MiB (checked above): read whole, not streamed.
    const data = (await this.queries.execute(
      new FileContentQuery(from.fileId, sourceRange.start, sourceRange.end + 1),
    )) as Buffer;
    const copiedFrom = { share: url.share!, path: url.path.join('/'), start: sourceRange.start };
    const node = await this.write(req, { kind: 'putRange', start: range.start, data, copiedFrom });
    return {
      status: 201,
      headers: {
        etag: node!.etag,
        'last-modified': rfc1123(new Date(node!.lastModified)),
        'x-ms-request-server-encrypted': 'false',
      },
    };
  }

  @AzureOperation({ name: 'Set File Metadata', method: 'PUT', comp: 'metadata', resource: 'file', sas: 'w' })
  async setMetadata(req: WireRequest): Promise<WireResponse> {
    const node = await this.write(req, { kind: 'setMetadata', metadata: readMetadata(req.rawHeaders) });
    return { status: 200, headers: { etag: node!.etag, 'last-modified': rfc1123(new Date(node!.lastModified)) } };
  }

  @AzureOperation({ name: 'Set File Properties', method: 'PUT', comp: 'properties', resource: 'file', sas: 'w' })
  async setProperties(req: WireRequest): Promise<WireResponse> {
    const contentLength = integerHeader(req, 'x-ms-content-length', MAX_FILE_BYTES);
    const node = await this.write(req, { kind: 'setProperties', properties: fileProperties(req), contentLength });
    return { status: 200, headers: nodeResponseHeaders(node!) };
  }

  @AzureOperation({ name: 'Delete File', method: 'DELETE', resource: 'file', sas: 'd' })
  async delete(req: WireRequest): Promise<WireResponse> {
    await this.write(req, { kind: 'delete' });
    return { status: 202 };
  }

  /**
   * The file, in the share snapshot named by sharesnapshot if any. Reads succeed without a lease
   * id; with one, they follow the first table of docs/lease-file.md (a file in a snapshot has no lease).
   */
  private async readable(req: WireRequest): Promise<Located & { node: NodeState }> {
    const located = await this.queries.execute(
      new NodeQuery(req.context, req.share!, req.path, 'file', req.query['sharesnapshot']),
    );
    gateAccess(located.node.lease, { kind: 'read', leaseId: guidHeader(req, 'x-ms-lease-id') });
    return located;
  }

  private describe(node: NodeState): Record<string, string | undefined> {
    return {
      ...nodeResponseHeaders(node),
      ...propertyHeaders(node),
      ...metadataResponseHeaders(node.metadata),
      ...leaseResponseHeaders(node.lease),
      ...copyHeaders(node),
      'x-ms-type': 'File',
      'accept-ranges': 'bytes',
    };
  }

  @AzureOperation({
    name: 'Get File Properties',
    method: 'HEAD',
    resource: 'file',
    sas: 'r',
    sasResponseOverrides: true,
    shareSnapshot: true,
  })
  async getProperties(req: WireRequest): Promise<WireResponse> {
    const { node } = await this.readable(req);
    return {
      status: 200,
      headers: {
        ...this.describe(node),
        'content-length': node.contentLength,
        'content-md5': node.properties.contentMD5,
      },
    };
  }

  @AzureOperation({
    name: 'Get File',
    method: 'GET',
    resource: 'file',
    sas: 'r',
    sasResponseOverrides: true,
    shareSnapshot: true,
  })
  async get(req: WireRequest): Promise<WireResponse> {
    const rangeHeader =
      header(req, 'x-ms-range') !== undefined ? 'x-ms-range' : header(req, 'range') !== undefined ? 'range' : undefined;
    const { node, snapshot } = await this.readable(req);
    const size = node.contentLength;
    if (!rangeHeader) {
      const body = await this.queries.execute(new FileContentQuery(node.fileId, 0, size, snapshot));
      return {
        status: 200,
        headers: { ...this.describe(node), 'content-length': size, 'content-md5': node.properties.contentMD5 },
        body,
      };
    }
    const range = parseRange(header(req, rangeHeader)!, rangeHeader);
    if (range.start >= size)
      throw new AzureError(
        416,
        'InvalidRange',
        'The range specified is invalid for the current size of the resource.',
        {},
        { 'content-range': `bytes */${size}` },
      );
    const end = Math.min(range.end ?? size - 1, size - 1);
    const wantMd5 = header(req, 'x-ms-range-get-content-md5')?.toLowerCase() === 'true';
    if (wantMd5 && end - range.start + 1 > MAX_RANGE_BYTES) {
      throw new AzureError(400, 'OutOfRangeInput', 'One of the request inputs is out of range.');
    }
    const body = await this.queries.execute(new FileContentQuery(node.fileId, range.start, end + 1, snapshot));
    return {
      status: 206,
      headers: {
        ...this.describe(node),
        'content-length': end - range.start + 1,
        'content-range': `bytes ${range.start}-${end}/${size}`,
        // Only asked for ranges of at most 4 MiB (checked above), which are read whole.
        'content-md5': wantMd5
          ? createHash('md5')
              .update(body as Buffer)
              .digest('base64')
          : undefined,
      },
      body,
    };
  }

  @AzureOperation({
    name: 'Get File Metadata',
    method: 'GET',
    comp: 'metadata',
    resource: 'file',
    sas: 'r',
    shareSnapshot: true,
  })
  async getMetadata(req: WireRequest): Promise<WireResponse> {
    const { node } = await this.readable(req);
    return {
      status: 200,
      headers: {
        etag: node.etag,
        'last-modified': rfc1123(new Date(node.lastModified)),
        ...metadataResponseHeaders(node.metadata),
      },
    };
  }

  @AzureOperation({
    name: 'Get File Metadata',
    method: 'HEAD',
    comp: 'metadata',
    resource: 'file',
    sas: 'r',
    shareSnapshot: true,
  })
  headMetadata(req: WireRequest): Promise<WireResponse> {
    return this.getMetadata(req);
  }

  /**
   * The written ranges (folded from the file's events: see evolveRanges), within x-ms-range when
   * given; with prevsharesnapshot, those changed and cleared since that snapshot (diffRanges).
   */
  @AzureOperation({
    name: 'List Ranges',
    method: 'GET',
    comp: 'rangelist',
    resource: 'file',
    sas: 'r',
    shareSnapshot: true,
  })
  async listRanges(req: WireRequest): Promise<WireResponse> {
    const rangeHeader =
      header(req, 'x-ms-range') !== undefined ? 'x-ms-range' : header(req, 'range') !== undefined ? 'range' : undefined;
    const window = rangeHeader ? parseRange(header(req, rangeHeader)!, rangeHeader) : undefined;
    const previous = req.query['prevsharesnapshot'];
    const snapshot = req.query['sharesnapshot'];
    // The previous snapshot must be the older of the two (names are ISO times, so they sort as times).
    if (previous !== undefined && (!isShareSnapshotName(previous) || (snapshot !== undefined && previous >= snapshot)))
      throw invalidQuery('prevsharesnapshot', previous);
    const { node } = await this.readable(req);
    const clip = (ranges: ByteRange[]) =>
      window ? clipRanges(ranges, window.start, window.end ?? Number.MAX_SAFE_INTEGER) : ranges;
    const xml = (tag: string, ranges: ByteRange[]) =>
      clip(ranges).map((r) => ({
        start: r.start,
        xml: `<${tag}>${element('Start', r.start)}${element('End', r.end)}</${tag}>`,
      }));
    let items: { start: number; xml: string }[];
    if (previous === undefined)
      items = xml('Range', await this.queries.execute(new FileRangesQuery(req.context, node)));
    else {
      const before = await this.queries.execute(new LocateQuery(req.context, req.share!, req.path, previous));
      const diff = await this.queries.execute(new FileRangeDiffQuery(req.context, node, before.node));
      // Ranges and cleared ranges in one list, by offset, as Azure lists them.
      items = [...xml('Range', diff.ranges), ...xml('ClearRange', diff.clearRanges)].sort((a, b) => a.start - b.start);
    }
    return xmlResponse(`<Ranges>${items.map((i) => i.xml).join('')}</Ranges>`, 200, {
      etag: node.etag,
      'last-modified': rfc1123(new Date(node.lastModified)),
      'x-ms-content-length': node.contentLength,
    });
  }
}
