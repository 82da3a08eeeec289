import { createHmac, timingSafeEqual } from 'node:crypto';
import { AzureError, authenticationFailed, invalidQuery, permissionMismatch } from '../errors';
import type { ClientConnection, WireResponse } from '../request';
import type { OperationSpec } from '../routing';
import { OVERRIDES, SasToken, ServiceSas } from './sas-token';

export type { AccountSas, SasToken, ServiceSas } from './sas-token';

/** Where the request goes, as the gateway parsed its URL (path components decoded, trailing dots kept). */
export interface SasTarget {
  account: string;
  share?: string;
  path: string[];
}

/** The first version with `sip` and `spr` in the string-to-sign; File SAS before it (2015-02-21) signs differently. */
const OLDEST_VERSION = '2015-04-05';
/** From this version the account SAS signs the encryption scope (`ses`) on a line of its own. */
const ACCOUNT_SCOPE_VERSION = '2020-12-06';
const VERSION = /^\d{4}-\d{2}-\d{2}$/;
/** User delegation SAS (signed with an Entra key, not the account key) fields: not supported here. */
const USER_DELEGATION = ['skoid', 'sktid', 'skt', 'ske', 'sks', 'skv', 'skdutid', 'sduoid'];
/** What Node accepts in a header value; an override outside it could not be sent back. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const malformed = (detail: string) => authenticationFailed(`Signature fields not well formed: ${detail}`);

/** True when the request carries a shared access signature (and no Authorization header decides otherwise). */
export const hasSas = (query: Record<string, string>): boolean => query['sig'] !== undefined;

/** Letters from `alphabet`, each at most once, at least one; in the alphabet's order when `ordered`. */
function letters(value: string | undefined, alphabet: string, ordered: boolean): boolean {
  if (!value) return false;
  let last = -1;
  const seen = new Set<string>();
  for (const letter of value) {
    const at = alphabet.indexOf(letter);
    if (at === -1 || seen.has(letter) || (ordered && at < last)) return false;
    seen.add(letter);
    last = at;
  }
  return true;
}

/**
 * Reads a SAS from the (lowercased, decoded) query. Throws 403 AuthenticationFailed for a SAS that is
 * not well formed or uses what this service does not support (user delegation), and 400 for an
 * override that cannot be a header value. A service SAS naming a stored access policy (`si`) may
 * leave its start, expiry and permissions to the policy: they are checked once it is applied.
 */
export function parseSas(query: Record<string, string>): SasToken {
  const q = (name: string) => (query[name] === '' ? undefined : query[name]);
  const version = q('sv');
  if (!version || !VERSION.test(version)) throw malformed('sv is mandatory and must be a version like 2026-04-06.');
  if (version < OLDEST_VERSION)
    throw malformed(`sv ${version} is older than ${OLDEST_VERSION}, the oldest SAS version this service verifies.`);
  if (USER_DELEGATION.some((name) => query[name] !== undefined)) {
    throw authenticationFailed('User delegation SAS is not supported: sign the SAS with an account key.');
  }
  const expiry = q('se');
  const identifier = q('si');
  // An account SAS has no stored access policies.
  if (identifier !== undefined && (query['ss'] !== undefined || query['srt'] !== undefined))
    throw malformed('si is for a service SAS only.');
  if (!expiry && identifier === undefined) throw malformed('se is mandatory.');
  const protocol = q('spr');
  // Azure never allows http alone.
  if (protocol !== undefined && protocol !== 'https' && protocol !== 'https,http')
    throw malformed("spr must be 'https' or 'https,http'.");
  const common = { version, start: q('st'), expiry: expiry ?? '', ip: q('sip'), protocol, signature: query['sig'] };
  for (const time of [common.start, expiry]) {
    if (time !== undefined && parseSasTime(time) === undefined)
      throw malformed(`'${time}' is not an ISO 8601 UTC time.`);
  }
  if (common.ip !== undefined && parseIpRange(common.ip) === undefined)
    throw malformed(`sip '${common.ip}' is not an IPv4 address or range.`);

  if (query['ss'] !== undefined || query['srt'] !== undefined) {
    const permissions = q('sp');
    const services = q('ss');
    const resourceTypes = q('srt');
    if (!letters(permissions, 'rwdxylacuptfi', false))
      throw malformed('sp must name account SAS permissions (r, w, d, l, c, …), each once.');
    if (!letters(services, 'bfqt', false)) throw malformed('ss must name services (b, f, q, t), each once.');
    if (!letters(resourceTypes, 'sco', false)) throw malformed('srt must name resource types (s, c, o), each once.');
    return {
      kind: 'account',
      ...common,
      permissions: permissions!,
      services: services!,
      resourceTypes: resourceTypes!,
      encryptionScope: query['ses'] ?? '',
    };
  }

  const resource = q('sr');
  if (resource !== 'f' && resource !== 's') throw malformed("sr is mandatory: 'f' for a file, 's' for a share.");
  const permissions = q('sp');
  if (permissions !== undefined || identifier === undefined) checkServicePermissions(resource, permissions);
  const overrides = {} as ServiceSas['overrides'];
  for (const [name] of OVERRIDES) {
    const value = query[name] ?? '';
    if (!HEADER_VALUE.test(value)) throw invalidQuery(name, value, 'The value cannot be sent as a response header.');
    overrides[name] = value;
  }
  return { kind: 'service', ...common, resource, permissions: permissions ?? '', identifier, overrides };
}

/** Azure documents a fixed order: rcwd for a file, rcwdl for a share. */
export function checkServicePermissions(resource: 'f' | 's', permissions: string | undefined): void {
  const alphabet = resource === 'f' ? 'rcwd' : 'rcwdl';
  if (!letters(permissions, alphabet, true)) throw malformed(`sp must be permissions in the order ${alphabet}.`);
}

/** Checks that a SAS time field is one Azure accepts (a stored access policy's too). */
export const isSasTime = (value: string): boolean => parseSasTime(value) !== undefined;

/** `/file/{account}/{share}` for a share SAS, with `/{decoded path}` for a file SAS: what the SDK signs. */
function canonicalResource(token: ServiceSas, target: SasTarget): string {
  const share = `/file/${target.account}/${target.share ?? ''}`;
  return token.resource === 'f' && target.path.length > 0 ? `${share}/${target.path.join('/')}` : share;
}

/**
 * The string-to-sign for the SAS on this request, as the SDK builds it (docs/wire-format.md). The
 * resource is the URL's, so a SAS signed for one file, share or account does not verify on another.
 */
export function sasStringToSign(token: SasToken, target: SasTarget): string {
  if (token.kind === 'account') {
    const lines = [
      target.account,
      token.permissions,
      token.services,
      token.resourceTypes,
      token.start ?? '',
      token.expiry,
      token.ip ?? '',
      token.protocol ?? '',
      token.version,
    ];
    if (token.version >= ACCOUNT_SCOPE_VERSION) lines.push(token.encryptionScope);
    // The account SAS string ends with a newline.
    return [...lines, ''].join('\n');
  }
  const o = token.overrides;
  return [
    token.permissions,
    token.start ?? '',
    token.expiry,
    canonicalResource(token, target),
    token.identifier ?? '',
    token.ip ?? '',
    token.protocol ?? '',
    token.version,
    o.rscc,
    o.rscd,
    o.rsce,
    o.rscl,
    o.rsct,
  ].join('\n');
}

/** True when `signature` (base64) is HMAC-SHA256 of the string with any of the keys; constant time per key. */
export function sasSignatureMatches(stringToSign: string, signature: string, keys: Buffer[]): boolean {
  // Compared as text: Node's base64 decoder skips invalid characters, so decoded bytes could match an altered signature.
  const given = Buffer.from(signature, 'utf8');
  let matched = false;
  for (const key of keys) {
    const expected = Buffer.from(createHmac('sha256', key).update(stringToSign, 'utf8').digest('base64'), 'utf8');
    matched = (expected.length === given.length && timingSafeEqual(expected, given)) || matched;
  }
  return matched;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Milliseconds since the epoch for the ISO 8601 forms Azure accepts in st/se (date; minutes; seconds; up to 7 fraction digits; Z or ±hh:mm), else undefined. */
export function parseSasTime(value: string): number | undefined {
  const m = ISO_TIME.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m
    .slice(1, 7)
    .map((part) => (part === undefined ? 0 : Number(part)));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number(((m[7] ?? '') + '000').slice(0, 3)));
  // Out-of-range fields (month 13, 25:00) roll over; refuse them instead.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  const zone = m[8];
  if (zone === undefined || zone === 'Z') return date.getTime();
  const [zoneHours, zoneMinutes] = zone.slice(1).split(':').map(Number);
  if (zoneHours > 23 || zoneMinutes > 59) return undefined;
  return date.getTime() - (zone[0] === '+' ? 1 : -1) * (zoneHours * 60 + zoneMinutes) * 60_000;
}

function ipv4(value: string): number | undefined {
  const parts = value.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** `a.b.c.d` or the inclusive range `a.b.c.d-e.f.g.h` (start not above end), else undefined. */
export function parseIpRange(value: string): { from: number; to: number } | undefined {
  const [first, second, ...rest] = value.split('-');
  if (rest.length > 0) return undefined;
  const from = ipv4(first);
  const to = second === undefined ? from : ipv4(second);
  return from === undefined || to === undefined || from > to ? undefined : { from, to };
}

/** The client's IPv4 address (an IPv4-mapped IPv6 address is unwrapped), undefined for IPv6 or unknown. */
function clientIpv4(remoteAddress: string | undefined): number | undefined {
  if (remoteAddress === undefined) return undefined;
  return ipv4(remoteAddress.replace(/^::ffff:/i, ''));
}

const azureTime = (ms: number) => new Date(ms).toUTCString();

/**
 * What a verified SAS still requires of the request: its time window (no clock skew: as in Azure,
 * `st` is exact), the source address, the protocol, and for an account SAS the file service.
 */
export function checkSasConditions(token: SasToken, now: Date, connection: ClientConnection): void {
  const start = token.start === undefined ? undefined : parseSasTime(token.start)!;
  const expiry = parseSasTime(token.expiry)!;
  if ((start !== undefined && now.getTime() < start) || now.getTime() > expiry) {
    throw authenticationFailed(
      `Signature not valid in the specified time frame: Start [${start === undefined ? '' : azureTime(start)}] - Expiry [${azureTime(expiry)}] - Current [${azureTime(now.getTime())}]`,
    );
  }
  if (token.ip !== undefined) {
    const range = parseIpRange(token.ip)!;
    const client = clientIpv4(connection.remoteAddress);
    if (client === undefined || client < range.from || client > range.to) {
      throw new AzureError(
        403,
        'AuthorizationSourceIPMismatch',
        `This request is not authorized to perform this operation using this source IP ${connection.remoteAddress ?? ''}.`,
      );
    }
  }
  if (token.protocol === 'https' && !connection.encrypted) {
    throw new AzureError(
      403,
      'AuthorizationProtocolMismatch',
      'This request is not authorized to perform this operation using this protocol.',
    );
  }
  if (token.kind === 'account' && !token.services.includes('f')) {
    throw new AzureError(
      403,
      'AuthorizationServiceMismatch',
      'This request is not authorized to perform this operation using this service.',
    );
  }
}

const notAuthorized = () =>
  new AzureError(403, 'AuthorizationFailure', 'This request is not authorized to perform this operation.');
const resourceTypeMismatch = () =>
  new AzureError(
    403,
    'AuthorizationResourceTypeMismatch',
    'This request is not authorized to perform this operation using this resource type.',
  );

/**
 * Throws unless the SAS grants the operation on this path: account-owner operations → AuthorizationFailure
 * (also share-level operations for a service SAS, which Azure reserves to the account SAS); an operation
 * outside the SAS's resource (a file SAS on a directory operation, an account SAS without the
 * operation's `srt`) → AuthorizationResourceTypeMismatch; a missing permission → AuthorizationPermissionMismatch.
 */
export function authorizeSas(token: SasToken, spec: Pick<OperationSpec, 'sas' | 'resource'>, path: string[]): void {
  // Fail closed: an operation that does not say what a SAS needs is for the account owner.
  const need = spec.sas ?? 'owner';
  if (need === 'owner') throw notAuthorized();
  if (token.kind === 'service') {
    if (spec.resource === 'share' || spec.resource === 'account') throw notAuthorized();
    // A file SAS covers one file: operations on files (or handles) at its path, never the share root.
    if (
      token.resource === 'f' &&
      (path.length === 0 || (spec.resource !== 'file' && spec.resource !== 'file-or-directory'))
    )
      throw resourceTypeMismatch();
  } else {
    // Service level: the account; container: a share, and listing it (List is valid for s and c only); object: directories and files.
    const level = spec.resource === 'account' ? 's' : spec.resource === 'share' || need === 'l' ? 'c' : 'o';
    if (!token.resourceTypes.includes(level)) throw resourceTypeMismatch();
  }
  const granted =
    need === 'c'
      ? token.permissions.includes('c') || token.permissions.includes('w')
      : token.permissions.includes(need);
  if (!granted) {
    throw permissionMismatch();
  }
}

/** For Get File (and its HEAD) under a service SAS: the signed rscc…rsct replace the stored headers. */
export function applySasResponseOverrides(
  token: SasToken,
  spec: Pick<OperationSpec, 'sasResponseOverrides'>,
  response: WireResponse,
): WireResponse {
  if (token.kind !== 'service' || !spec.sasResponseOverrides || response.status >= 300) return response;
  const headers = { ...response.headers };
  for (const [param, name] of OVERRIDES) {
    if (token.overrides[param] !== '') headers[name] = token.overrides[param];
  }
  return { ...response, headers };
}
