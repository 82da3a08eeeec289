import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { CommandContext, parseGuid } from '@leasehold/domain';
import type { SasToken } from './auth/sas-token';
import { AzureError, invalidHeader, invalidQuery, invalidUri } from './errors';

/** The connection a request came on: a SAS may restrict the source address (`sip`) and protocol (`spr`). */
export interface ClientConnection {
  /** The socket's remote address, as Node gives it (IPv4-mapped IPv6 included). */
  remoteAddress?: string;
  /** True when the request came over TLS. */
  encrypted?: boolean;
}

/** A request after URL parsing and authentication, as operations see it. */
export interface WireRequest {
  method: string;
  share?: string;
  /** Decoded path components below the share; [] is the share root. */
  path: string[];
  /** Decoded query parameters, names lowercased. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Header names and values as sent (metadata names are case-preserving). */
  rawHeaders: string[];
  body: Buffer;
  /** Who is asking and through which request; the tenant is the account named in the path and proven by the credentials. */
  context: CommandContext;
  /** The verified shared access signature, for operations that authorize it themselves (OperationSpec.sasByOperation). */
  sas?: SasToken;
  /** Where the request came from: a SAS checked on its behalf (a copy source's) is checked against it too. */
  connection: ClientConnection;
  /** Under a SAS, the permission letters it grants (an operation may need more than its route declares); undefined under Shared Key. */
  sasPermissions?: string;
}

export interface WireResponse {
  status: number;
  headers?: Record<string, string | number | undefined>;
  /** A stream for bodies too large to hold in memory (Get File); it must yield exactly Content-Length bytes. */
  body?: Buffer | string | Readable;
}

export interface ParsedUrl {
  rawPath: string;
  rawQuery: string;
  account: string;
  share?: string;
  /** Path components below the share, percent-decoded (`%2F` separates too) but otherwise as sent. */
  path: string[];
  query: Record<string, string>;
}

function decode(component: string, onError: () => AzureError): string {
  try {
    return decodeURIComponent(component);
  } catch {
    throw onError();
  }
}

/** Splits a path-style URL: /{account}/{share}/{directories…}/{file}?query. */
export function parseUrl(url: string): ParsedUrl {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  const segments = rawPath.split('/').slice(1);
  // A trailing slash names the same directory (Azure strips it).
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  if (segments.some((s, i) => s === '' && i > 0)) throw invalidUri();
  const decoded = segments.map((s) => decode(s, invalidUri));
  // As the documented Shared Key rule reads a query: a repeated name's values sorted and comma-joined.
  const values = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const name = decode(rawName, invalidUri).toLowerCase();
    if (name === '') continue;
    values.set(name, [...(values.get(name) ?? []), decode(rawValue, () => invalidQuery(name, rawValue))]);
  }
  const query: Record<string, string> = {};
  for (const [name, given] of values) query[name] = given.sort().join(',');
  const [account = '', share, ...below] = decoded;
  // An encoded slash separates components as a slash does: the Python SDK's directory clients send
  // `dir%2Fsub` (it quotes the whole directory path), and Azure takes it as `dir/sub`.
  const path = below.flatMap((component) => component.split('/'));
  return { rawPath, rawQuery, account, share: share === '' ? undefined : share, path, query };
}

/** One header's value; a repeated header arrives joined by Node. */
export function header(req: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function requiredHeader(req: { headers: IncomingHttpHeaders }, name: string): string {
  const value = header(req, name);
  if (value === undefined || value === '') {
    throw new AzureError(
      400,
      'MissingRequiredHeader',
      "An HTTP header that's mandatory for this request is not specified.",
      { HeaderName: name },
    );
  }
  return value;
}

/** `true`/`false` (case-insensitive); absent → undefined. */
export function booleanHeader(req: { headers: IncomingHttpHeaders }, name: string): boolean | undefined {
  const value = header(req, name);
  if (value === undefined) return undefined;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  throw invalidHeader(name, value);
}

/** A non-negative integer header within [0, max]; absent → undefined. */
export function integerHeader(
  req: { headers: IncomingHttpHeaders },
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const value = header(req, name);
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value) || Number(value) > max) throw invalidHeader(name, value);
  return Number(value);
}

/** A GUID header in any format .NET accepts, canonicalised; absent → undefined; malformed → 400. */
export function guidHeader(req: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const raw = header(req, name);
  if (raw === undefined) return undefined;
  const guid = parseGuid(raw);
  if (!guid) throw invalidHeader(name, raw);
  return guid;
}

/** RFC 1123, as Azure writes dates in headers and listings. */
export const rfc1123 = (date: Date): string => date.toUTCString();

/**
 * A listing's page size from `maxresults`: absent → `fallback`; above `max` → `max` (Azure
 * returns at most its maximum rather than failing); zero, negative or not a number → 400.
 */
export function pageSize(query: Record<string, string>, max: number, fallback = max): number {
  const raw = query['maxresults'];
  if (raw === undefined) return fallback;
  if (!/^-?\d{1,10}$/.test(raw) || Number(raw) <= 0) throw invalidQuery('maxresults', raw);
  return Math.min(Number(raw), max);
}
