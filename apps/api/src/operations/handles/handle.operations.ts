import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { LocateQuery, requireNode } from '@leasehold/filesystem';
import {
  AccessRight,
  CloseHandleCommand,
  ForceCloseHandlesCommand,
  HandlePosition,
  HandleRow,
  HandleScope,
  HandleScopeQuery,
  isHandlePosition,
  ListHandlesQuery,
  OpenHandleCommand,
} from '@leasehold/handles';
import {
  AzureOperation,
  booleanHeader,
  element,
  escapeXml,
  guidHeader,
  header,
  invalidHeader,
  invalidQuery,
  markerBinding,
  MarkerCodec,
  pageSize,
  requiredHeader,
  rfc1123,
  WireRequest,
  WireResponse,
  xmlResponse,
} from '@leasehold/wire';
import { requireAccountOwner } from '../account-owner';

const MAX_LIST_RESULTS = 5000;
const ACCESS_RIGHTS: AccessRight[] = ['Read', 'Write', 'Delete'];
/** Ids are uint64 on the wire and bigint (signed 64-bit) in PostgreSQL; larger ones cannot name anything here. */
export const isHandleId = (value: string) => /^\d{1,19}$/.test(value) && BigInt(value) <= 2n ** 63n - 1n;

/** Extension headers of the handle registry (the project prefix, never x-ms-). */
export const HANDLE_HEADERS = {
  handleId: 'x-leasehold-handle-id',
  fileId: 'x-leasehold-file-id',
  sessionId: 'x-leasehold-session-id',
  clientName: 'x-leasehold-client-name',
  clientIp: 'x-leasehold-client-ip',
  access: 'x-leasehold-access',
} as const;

function handleXml(h: HandleRow): string {
  // Names with U+FFFE/U+FFFF cannot travel in XML: Azure percent-encodes them and says so.
  const path = /[\uFFFE\uFFFF]/.test(h.path)
    ? `<Path Encoded="true">${encodeURIComponent(h.path)}</Path>`
    : `<Path>${escapeXml(h.path)}</Path>`;
  return (
    `<Handle>${element('HandleId', h.handleId)}${path}${element('FileId', h.fileId)}${element('ParentId', h.parentId)}` +
    `${element('SessionId', h.sessionId)}${element('ClientIp', h.clientIp)}${element('ClientName', h.clientName)}` +
    `${element('OpenTime', rfc1123(h.openTime))}` +
    `<AccessRightList>${h.access.map((a) => element('AccessRight', a)).join('')}</AccessRightList></Handle>`
  );
}

/** List Handles, Force Close Handles, and the registry's own open and close. */
@Injectable()
export class HandleOperations {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    private readonly markers: MarkerCodec,
  ) {}

  /** The handles the request is about, and where its marker says to continue. */
  private async scope(
    req: WireRequest,
    handleId: string | undefined,
    operation: string,
  ): Promise<{ scope: HandleScope; after?: HandlePosition; binding: string }> {
    const recursive = booleanHeader(req, 'x-ms-recursive') ?? false;
    const scope = await this.queries.execute(
      new HandleScopeQuery(req.context, req.share!, req.path, recursive, handleId),
    );
    const binding = markerBinding(
      operation,
      req.context.tenant,
      scope.shareId,
      scope.nodeKey,
      recursive,
      handleId ?? '*',
    );
    const marker = req.query['marker'];
    if (marker === undefined || marker === '') return { scope, binding };
    const after = this.markers.decode(binding, marker, isHandlePosition);
    if (!after)
      throw invalidQuery(
        'marker',
        marker,
        'The marker is not one this service issued for this account, path and query.',
      );
    return { scope, after, binding };
  }

  /**
   * With sharesnapshot: handles are registered on live files, directories and share roots only, so
   * none is ever open in a share snapshot. The path must still be there in the snapshot.
   */
  private async inSnapshot(req: WireRequest): Promise<boolean> {
    const snapshot = req.query['sharesnapshot'];
    if (snapshot === undefined) return false;
    const located = await this.queries.execute(new LocateQuery(req.context, req.share!, req.path, snapshot));
    if (req.path.length > 0) requireNode(located, located.node?.kind ?? 'file');
    return true;
  }

  @AzureOperation({
    name: 'List Handles',
    method: 'GET',
    comp: 'listhandles',
    resource: 'file-or-directory',
    sas: 'owner',
    shareSnapshot: true,
  })
  async list(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const limit = pageSize(req.query, MAX_LIST_RESULTS);
    const maxResults = req.query['maxresults'] !== undefined ? element('MaxResults', req.query['maxresults']) : '';
    const listing = (entries: string, next: string) =>
      xmlResponse(
        `<EnumerationResults>${maxResults}<Entries>${entries}</Entries>${element('NextMarker', next)}</EnumerationResults>`,
      );
    // A snapshot never has open handles.
    if (await this.inSnapshot(req)) return listing('', '');
    const { scope, after, binding } = await this.scope(req, undefined, 'list');
    const { handles, more } = await this.queries.execute(new ListHandlesQuery(scope, after, limit));
    const last = handles[handles.length - 1];
    const next = more && last ? this.markers.encode(binding, { nodeKey: last.nodeKey, handleId: last.handleId }) : '';
    return listing(handles.map(handleXml).join(''), next);
  }

  @AzureOperation({
    name: 'Force Close Handles',
    method: 'PUT',
    comp: 'forceclosehandles',
    resource: 'file-or-directory',
    sas: 'owner',
    shareSnapshot: true,
  })
  async forceClose(req: WireRequest): Promise<WireResponse> {
    requireAccountOwner(req);
    const id = requiredHeader(req, 'x-ms-handle-id');
    // A handle id is a uint64: anything else is malformed; a uint64 beyond bigint names no handle here.
    if (id !== '*' && !(/^\d{1,20}$/.test(id) && BigInt(id) <= 2n ** 64n - 1n))
      throw invalidHeader('x-ms-handle-id', id);
    // An id no handle can have (beyond bigint) is simply an unknown handle: 200 with nothing closed.
    if ((id !== '*' && !isHandleId(id)) || (await this.inSnapshot(req)))
      return { status: 200, headers: { 'x-ms-number-of-handles-closed': 0, 'x-ms-number-of-handles-failed': 0 } };
    const { scope, after } = await this.scope(req, id === '*' ? undefined : id, 'close');
    const chunk = await this.commands.execute(new ForceCloseHandlesCommand(req.context, scope, after));
    const binding = markerBinding('close', req.context.tenant, scope.shareId, scope.nodeKey, scope.recursive, id);
    return {
      status: 200,
      headers: {
        'x-ms-marker': chunk.next ? this.markers.encode(binding, chunk.next) : undefined,
        'x-ms-number-of-handles-closed': chunk.closed,
        'x-ms-number-of-handles-failed': 0,
      },
    };
  }

  /** Extension: a client registers a handle it holds open on a file, a directory or the share root. */
  @AzureOperation({
    name: 'Open Handle (extension)',
    method: 'PUT',
    comp: 'openhandle',
    resource: 'file-or-directory',
    sas: 'w',
  })
  async open(req: WireRequest): Promise<WireResponse> {
    const access = (header(req, HANDLE_HEADERS.access) ?? 'Read').split(',').map((a) => a.trim());
    const rights = ACCESS_RIGHTS.filter((r) => access.some((a) => a.toLowerCase() === r.toLowerCase()));
    if (rights.length !== access.length || rights.length === 0)
      throw invalidHeader(HANDLE_HEADERS.access, access.join(','));
    const clientIp = requiredHeader(req, HANDLE_HEADERS.clientIp);
    if (clientIp.length > 64 || !/^[0-9A-Fa-f:.[\]]+$/.test(clientIp))
      throw invalidHeader(HANDLE_HEADERS.clientIp, clientIp);
    const clientName = header(req, HANDLE_HEADERS.clientName) ?? '';
    if (clientName.length > 256) throw invalidHeader(HANDLE_HEADERS.clientName, clientName.slice(0, 64));
    const sessionId = header(req, HANDLE_HEADERS.sessionId);
    if (sessionId !== undefined && !isHandleId(sessionId)) throw invalidHeader(HANDLE_HEADERS.sessionId, sessionId);
    const opened = await this.commands.execute(
      new OpenHandleCommand(
        req.context,
        req.share!,
        req.path,
        rights,
        guidHeader(req, 'x-ms-lease-id'),
        clientName,
        clientIp,
        sessionId,
      ),
    );
    return {
      status: 201,
      headers: {
        [HANDLE_HEADERS.handleId]: opened.handleId,
        [HANDLE_HEADERS.fileId]: opened.fileId,
        [HANDLE_HEADERS.sessionId]: opened.sessionId,
      },
    };
  }

  /** Extension: the holder closes its own handle (handle id + session id). */
  @AzureOperation({
    name: 'Close Handle (extension)',
    method: 'PUT',
    comp: 'closehandle',
    resource: 'file-or-directory',
    sas: 'w',
  })
  async close(req: WireRequest): Promise<WireResponse> {
    const handleId = requiredHeader(req, HANDLE_HEADERS.handleId);
    const sessionId = requiredHeader(req, HANDLE_HEADERS.sessionId);
    if (!isHandleId(handleId)) throw invalidHeader(HANDLE_HEADERS.handleId, handleId);
    if (!isHandleId(sessionId)) throw invalidHeader(HANDLE_HEADERS.sessionId, sessionId);
    await this.commands.execute(new CloseHandleCommand(req.context, req.share!, req.path, handleId, sessionId));
    return { status: 200 };
  }
}
