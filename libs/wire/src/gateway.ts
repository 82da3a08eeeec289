import { Inject, Injectable, Logger } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { checkPathComponents, DomainError, isValidShareName } from '@leasehold/domain';
import { rateLimitRefusals, RequestTrace, TenantLabels } from '@leasehold/observability';
import { ConcurrencyError, isUnavailable, OutageLog } from '@leasehold/event-store';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Authenticator } from './auth/authenticator';
import { applySasResponseOverrides, authorizeSas } from './auth/sas';
import { azureErrorOf } from './domain-errors';
import { CorsPolicy } from './cors';
import { AzureError, invalidHeader, invalidQuery, missingHeader } from './errors';
import { header, parseUrl, WireResponse } from './request';
import { RateLimiter } from './rate-limit';
import { isShareSnapshotName, OperationRouter } from './routing';
import { errorBody } from './xml';

export const DEFAULT_SERVICE_VERSION = '2026-04-06';

export interface RawRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  /** The socket's remote address: a SAS may restrict it (`sip`). */
  remoteAddress?: string;
  /** True over TLS: a SAS may require it (`spr=https`). */
  encrypted?: boolean;
}

export interface FinalResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string | Readable;
  /** For the access line and the metrics. */
  trace: RequestTrace;
}

/** x-ms-client-request-id is echoed only when it is at most 1,024 visible ASCII characters. */
const MAX_CLIENT_REQUEST_ID = 1024;
const ECHOABLE = /^[\x20-\x7e]{1,1024}$/;
const SERVICE_VERSION = /^\d{4}-\d{2}-\d{2}$/;

/** A URL fit for a log: a SAS signature is a credential, so the query's values stay out. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const names = url
    .slice(q + 1)
    .split('&')
    .map((pair) => pair.split('=')[0] + (pair.includes('=') ? '=…' : ''));
  return `${url.slice(0, q)}?${names.join('&')}`;
}

/** The headers every response carries, errors included. */
export function commonResponseHeaders(
  requestHeaders: IncomingHttpHeaders,
  requestId: string,
  now: Date,
): Record<string, string> {
  const version = header({ headers: requestHeaders }, 'x-ms-version');
  const clientRequestId = header({ headers: requestHeaders }, 'x-ms-client-request-id');
  const headers: Record<string, string> = {
    'x-ms-request-id': requestId,
    'x-ms-version': version && SERVICE_VERSION.test(version) ? version : DEFAULT_SERVICE_VERSION,
    date: now.toUTCString(),
    server: 'Leasehold',
  };
  if (clientRequestId !== undefined && ECHOABLE.test(clientRequestId))
    headers['x-ms-client-request-id'] = clientRequestId;
  return headers;
}

/**
 * Everything every request goes through, in Azure's order: URL, credentials, version, operation,
 * names; then the operation; then the headers every response carries. No input reaches the
 * client as anything but an Azure-style answer.
 */
@Injectable()
export class WireGateway {
  private readonly logger = new Logger('WireGateway');
  private readonly tenantLabels: TenantLabels;
  private readonly database = new OutageLog(this.logger, 'PostgreSQL', 'answering 503 ServerBusy until it is back');

  constructor(
    private readonly router: OperationRouter,
    private readonly authenticator: Authenticator,
    private readonly limiter: RateLimiter,
    private readonly cors: CorsPolicy,
    @Inject(LEASEHOLD_CONFIG) config: LeaseholdConfig,
  ) {
    this.tenantLabels = new TenantLabels(config.metricsTenantLabels);
  }

  async handle(raw: RawRequest): Promise<FinalResponse> {
    const requestId = randomUUID();
    const now = new Date();
    const clientRequestId = header(raw, 'x-ms-client-request-id');
    const version = header(raw, 'x-ms-version');
    const trace: RequestTrace = { requestId, clientRequestId };
    const origin = header(raw, 'origin');
    let response: WireResponse;
    try {
      // A browser's preflight carries no credentials: the account's CORS rules alone answer it.
      response =
        raw.method === 'OPTIONS'
          ? { status: 200, headers: await this.cors.preflight(parseUrl(raw.url).account, raw.headers) }
          : await this.dispatch(raw, requestId, now, clientRequestId, version, trace);
      this.database.succeeded(now.getTime());
    } catch (error) {
      response = this.errorResponse(error, requestId, now, raw);
    }
    const headers = commonResponseHeaders(raw.headers, requestId, now);
    for (const [name, value] of Object.entries(response.headers ?? {})) {
      if (value !== undefined) headers[name] = String(value);
    }
    if (origin !== undefined && raw.method !== 'OPTIONS')
      Object.assign(headers, await this.corsHeaders(raw, origin, Object.keys(headers)));
    const body = raw.method === 'HEAD' ? '' : (response.body ?? '');
    trace.errorCode ??= headers['x-ms-error-code'];
    return { status: response.status, headers, body, trace };
  }

  private async dispatch(
    raw: RawRequest,
    requestId: string,
    now: Date,
    clientRequestId: string | undefined,
    version: string | undefined,
    trace: RequestTrace,
  ): Promise<WireResponse> {
    const url = parseUrl(raw.url);
    const connection = { remoteAddress: raw.remoteAddress, encrypted: raw.encrypted };
    const { sas, signedQuery, ...principal } = await this.authenticator.authenticate(
      url,
      { method: raw.method, rawPath: url.rawPath, rawQuery: url.rawQuery, headers: raw.headers },
      now,
      connection,
    );
    trace.account = url.account;
    // After authentication, so that only a proven tenant's requests count against its limit.
    if (!(await this.limiter.admit(url.account))) {
      rateLimitRefusals.inc({ tenant: this.tenantLabels.label(url.account) });
      throw new AzureError(
        503,
        'ServerBusy',
        'Operations per second is over the account limit.',
        {},
        { 'retry-after': '1' },
      );
    }
    // Shared Key: act only on what the signature covers. A SAS signs its own fields; the rest of its query is the caller's, as in Azure.
    const query = signedQuery ?? url.query;
    // Azure's limit: 1 KiB. It goes into every event the request causes, so a longer one is refused, not stored.
    if (clientRequestId !== undefined && clientRequestId.length > MAX_CLIENT_REQUEST_ID)
      throw invalidHeader('x-ms-client-request-id', clientRequestId.slice(0, 64) + '…');
    if (version === undefined) throw missingHeader('x-ms-version');
    if (!SERVICE_VERSION.test(version)) throw invalidHeader('x-ms-version', version);
    const timeout = query['timeout'];
    if (timeout !== undefined && !/^\d{1,9}$/.test(timeout)) throw invalidQuery('timeout', timeout);
    // No Azure name or value holds a NUL, and PostgreSQL text cannot: refused here, not a 500 at the database.
    for (const [name, value] of Object.entries(query))
      if (value.includes('\0')) throw invalidQuery(name, value.replaceAll('\0', '%00'));

    const route = this.router.resolve(raw.method, query, url.share, url.path);
    trace.operation = route.spec.name;
    const shareSnapshot = query['sharesnapshot'];
    if (shareSnapshot !== undefined) {
      if (!route.spec.shareSnapshot)
        throw new AzureError(
          400,
          'ShareSnapshotOperationNotSupported',
          'The operation is not supported on a share snapshot: a share snapshot is read-only.',
        );
      if (!isShareSnapshotName(shareSnapshot)) throw invalidQuery('sharesnapshot', shareSnapshot);
    }
    // A SAS authorizes only what it grants, which depends on the operation.
    if (sas && !route.spec.sasByOperation) authorizeSas(sas, route.spec, url.path);
    if (url.share !== undefined && !isValidShareName(url.share)) {
      throw new AzureError(400, 'InvalidResourceName', 'The specifed resource name contains invalid characters.');
    }
    const path =
      header(raw, 'x-ms-allow-trailing-dot')?.toLowerCase() === 'true'
        ? url.path
        : url.path.map((c) => c.replace(/\.+$/, ''));
    const problem = checkPathComponents(path);
    if (problem === 'InvalidFileOrDirectoryPathName') {
      throw new AzureError(400, problem, 'The specified path is too long or has too many directory levels.');
    }
    if (problem) throw new AzureError(400, problem, 'The specifed resource name contains invalid characters.');

    const response = await route.handle({
      method: raw.method,
      share: url.share,
      path,
      query,
      headers: raw.headers,
      rawHeaders: raw.rawHeaders,
      body: raw.body,
      connection,
      context: { tenant: url.account, requestId, clientRequestId, now, ...principal },
      ...(sas && route.spec.sasByOperation ? { sas } : {}),
      sasPermissions: sas?.permissions,
    });
    return sas ? applySasResponseOverrides(sas, route.spec, response) : response;
  }

  /** Errors answers get them too, so that a page can read why it was refused; a failed lookup costs only the headers. */
  private async corsHeaders(
    raw: RawRequest,
    origin: string,
    responseHeaderNames: string[],
  ): Promise<Record<string, string>> {
    try {
      return await this.cors.responseHeaders(parseUrl(raw.url).account, raw.method, origin, responseHeaderNames);
    } catch {
      return {};
    }
  }

  private errorResponse(error: unknown, requestId: string, now: Date, raw: RawRequest): WireResponse {
    let azure: AzureError;
    if (error instanceof AzureError) {
      azure = error;
    } else if (error instanceof DomainError) {
      azure = azureErrorOf(error);
    } else if (error instanceof ConcurrencyError || isUnavailable(error)) {
      // Still contended after every retry, or PostgreSQL away: the client's retry policy retries a 503.
      if (!(error instanceof ConcurrencyError)) this.database.failed(error);
      azure = new AzureError(
        503,
        'ServerBusy',
        'The server is currently unable to receive requests. Please retry your request.',
        {},
        { 'retry-after': '1' },
      );
    } else {
      // A bug, not bad input: log it with the request id, and still answer the way Azure does.
      this.logger.error(
        `${raw.method} ${redactQuery(raw.url)} failed (request ${requestId}): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      azure = new AzureError(
        500,
        'InternalError',
        'The server encountered an internal error. Please retry the request.',
      );
    }
    return {
      status: azure.status,
      headers: { ...azure.headers, 'x-ms-error-code': azure.code, 'content-type': 'application/xml' },
      body: errorBody(azure.code, azure.message, azure.details, requestId, now),
    };
  }
}
