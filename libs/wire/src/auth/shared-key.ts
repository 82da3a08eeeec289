import { createHmac, timingSafeEqual } from 'node:crypto';
import { sortCanonicalHeaderNames } from './header-collation';

/**
 * What the verifier needs of an incoming HTTP request.
 * Header names are lowercase (as Node gives them).
 */
export interface SignableRequest {
  /** 'GET', 'PUT', ... */
  method: string;
  /** The URL path exactly as sent, still percent-encoded, no query. */
  rawPath: string;
  /** What follows '?', '' when none. */
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Parsed from the Authorization header. */
export interface SharedKeyCredentials {
  account: string;
  signature: string;
}

const AUTHORIZATION = /^(\S+)\s+(.*)$/;
const CREDENTIALS = /^([^\s:]+):([A-Za-z0-9+/]+={0,2})$/;

/**
 * Parses `SharedKey account:signature`; returns undefined when the header is absent; throws nothing.
 * Returns {error} for a malformed header.
 */
export function parseSharedKeyAuthorization(
  header: string | undefined,
): SharedKeyCredentials | { error: string } | undefined {
  if (header === undefined) return undefined;
  const parts = AUTHORIZATION.exec(header.trim());
  if (!parts) return { error: 'The Authorization header is not of the form "SharedKey account:signature".' };
  // Auth schemes are case-insensitive (RFC 9110); SharedKeyLite is a different scheme we do not accept.
  if (parts[1].toLowerCase() !== 'sharedkey') {
    return { error: `Authorization scheme '${parts[1]}' is not supported; use SharedKey.` };
  }
  const credentials = CREDENTIALS.exec(parts[2].trim());
  if (!credentials) {
    return { error: 'The SharedKey credentials are not of the form "account:base64-signature".' };
  }
  return { account: credentials[1], signature: credentials[2] };
}

function headerValue(headers: SignableRequest['headers'], name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

function canonicalizedHeaders(headers: SignableRequest['headers']): string {
  return sortCanonicalHeaderNames(
    Object.keys(headers).filter((name) => name.startsWith('x-ms-') && headers[name] !== undefined),
  )
    .map((name) => {
      // The docs ask for folded whitespace; only a line break (obsolete header folding) is folded,
      // because the SDK signs runs of spaces inside a value as they are.
      const value = headerValue(headers, name)
        .replace(/[ \t]*\r?\n[ \t]*/g, ' ')
        .trimStart();
      return `${name}:${value}\n`;
    })
    .join('');
}

/** A canonicalized query: the lines it adds to the string-to-sign, and the parameters it covers (names lowercase, values decoded). */
interface SignedQuery {
  lines: string;
  query: Record<string, string>;
}

/**
 * The documented rule: every parameter, names lowercased and URL-decoded, sorted by name; an empty
 * value signs as `name:`; a repeated name signs once with its values sorted and comma-joined (and
 * the service then uses that joined value). Throws URIError on malformed percent-encoding.
 */
function documentedQuery(rawQuery: string): SignedQuery {
  const values = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq)).toLowerCase();
    if (name === '') continue;
    const value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1));
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const query: Record<string, string> = {};
  let lines = '';
  for (const name of [...values.keys()].sort()) {
    query[name] = values.get(name)!.sort().join(',');
    lines += `\n${name}:${query[name]}`;
  }
  return { lines, query };
}

/**
 * What the JS SDK signs (its StorageSharedKeyCredentialPolicy): only pairs with exactly one '=' and
 * a non-empty name and value; a repeated spelling keeps its last value; names differing only in case
 * share the value of the last one, one line per spelling. `keepEmpty`: the same selection with empty
 * values signed too, as the Python SDK does (List Shares sends `include=`). The service then uses
 * exactly those parameters: the ones left unsigned are ignored. Throws URIError like documentedQuery.
 */
function sdkQuery(rawQuery: string, keepEmpty: boolean): SignedQuery {
  const byName = new Map<string, string>();
  for (const pair of rawQuery.split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && eq === pair.lastIndexOf('=') && (keepEmpty || eq < pair.length - 1))
      byName.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const byLowerName = new Map<string, string>();
  const lowerNames: string[] = [];
  for (const [name, value] of byName) {
    byLowerName.set(name.toLowerCase(), value);
    lowerNames.push(name.toLowerCase());
  }
  const query: Record<string, string> = {};
  let lines = '';
  for (const name of lowerNames.sort()) {
    const value = decodeURIComponent(byLowerName.get(name)!);
    query[decodeURIComponent(name)] = value;
    lines += `\n${name}:${value}`;
  }
  return { lines, query };
}

/** A string-to-sign and the query parameters it covers. */
interface Candidate {
  stringToSign: string;
  query: Record<string, string>;
}

/**
 * The accepted strings-to-sign, most likely first: the documented query canonicalization, then the
 * JS and Python SDKs' where they differ, each with the SDK's and then the documented order of
 * Content-Language and Content-Encoding. Lazy, so that a request the first one verifies builds no
 * other. None when the query cannot be decoded (documentedQuery decodes every part the others do).
 */
function* candidates(req: SignableRequest, signingAccount: string): Generator<Candidate> {
  const h = (name: string) => headerValue(req.headers, name);
  const contentLength = h('content-length') === '0' ? '' : h('content-length');
  const date = req.headers['x-ms-date'] === undefined ? h('date') : '';
  const tail = [
    contentLength,
    h('content-md5'),
    h('content-type'),
    date,
    h('if-modified-since'),
    h('if-match'),
    h('if-none-match'),
    h('if-unmodified-since'),
    h('range'),
  ];
  const prefix = canonicalizedHeaders(req.headers) + `/${signingAccount}${req.rawPath || '/'}`;
  const build = (first: string, second: string) =>
    [req.method.toUpperCase(), first, second, ...tail].map((line) => line + '\n').join('') + prefix;
  const [language, encoding] = [h('content-language'), h('content-encoding')];
  const sdkOrder = build(language, encoding);
  const documentedOrder = language === encoding ? undefined : build(encoding, language);
  const seen = new Set<string>();
  for (const canonicalize of [
    documentedQuery,
    (raw: string) => sdkQuery(raw, false),
    (raw: string) => sdkQuery(raw, true),
  ]) {
    let signed: SignedQuery;
    try {
      signed = canonicalize(req.rawQuery);
    } catch {
      // A malformed percent-encoding in the query: no string-to-sign can match it.
      return;
    }
    if (seen.has(signed.lines)) continue;
    seen.add(signed.lines);
    yield { stringToSign: sdkOrder + signed.lines, query: signed.query };
    if (documentedOrder !== undefined) yield { stringToSign: documentedOrder + signed.lines, query: signed.query };
  }
}

/** The strings-to-sign the service accepts for this request, in the order it tries them (candidates). */
export function sharedKeyStringsToSign(req: SignableRequest, signingAccount: string): string[] {
  return Array.from(candidates(req, signingAccount), (c) => c.stringToSign);
}

/**
 * When `signature` (base64) equals HMAC-SHA256(key, stringToSign) for any key and any accepted
 * string-to-sign (constant-time comparison): the query parameters that signature covers, which are
 * the only ones the service may act on. Undefined when none matches. `keys` are the decoded account
 * keys. Never throws. Only a signature that matches ends the search early, and whoever made it
 * holds the key, so the time taken tells nobody else anything; a request signed with the first key
 * as the SDKs sign costs one HMAC instead of one per key and variant.
 */
export function verifySharedKeySignature(
  req: SignableRequest,
  credentials: SharedKeyCredentials,
  keys: Buffer[],
): Record<string, string> | undefined {
  // Compare the base64 text, not decoded bytes: Node's base64 decoder skips invalid characters,
  // which would let altered signatures match.
  const given = Buffer.from(credentials.signature, 'utf8');
  for (const { stringToSign, query } of candidates(req, credentials.account)) {
    for (const key of keys) {
      const expected = Buffer.from(createHmac('sha256', key).update(stringToSign, 'utf8').digest('base64'), 'utf8');
      if (expected.length === given.length && timingSafeEqual(expected, given)) return query;
    }
  }
  return undefined;
}

const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
// RFC 1123 / IMF-fixdate, what every SDK sends, e.g. `Fri, 20 Nov 2026 21:39:22 GMT`.
const HTTP_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Checks x-ms-date (or Date when x-ms-date is absent): returns undefined when within ±15 minutes of
 * now, else a human-readable AuthenticationErrorDetail string (also for missing/unparseable dates).
 */
export function checkRequestDate(headers: SignableRequest['headers'], now: Date): string | undefined {
  const name = headers['x-ms-date'] !== undefined ? 'x-ms-date' : 'date';
  if (headers[name] === undefined) {
    return 'Request date header not specified: send x-ms-date or Date.';
  }
  const value = headerValue(headers, name);
  const time = HTTP_DATE.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) {
    return `The ${name} header value '${value}' is not a valid RFC 1123 date like 'Fri, 20 Nov 2026 21:39:22 GMT'.`;
  }
  if (time < now.getTime() - MAX_CLOCK_SKEW_MS) return `Request date header too old: '${value}'.`;
  if (time > now.getTime() + MAX_CLOCK_SKEW_MS) {
    return `Request date header too far in the future: '${value}'.`;
  }
  return undefined;
}
