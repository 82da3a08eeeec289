import { isValidMetadataName, LeaseState, NodeState } from '@leasehold/domain';
import { AzureError, rfc1123 } from '@leasehold/wire';

/** The project's prefix for headers that go beyond Azure (never x-ms-). */
export const EXTENSION_HEADER_PREFIX = 'x-leasehold-';
/** Fencing token: the lease's monotonic epoch, for holders to prove to downstream systems that their lease is current. */
export const LEASE_EPOCH_HEADER = `${EXTENSION_HEADER_PREFIX}lease-epoch`;

const MAX_METADATA_BYTES = 8 * 1024;

/** Azure writes SMB times with seven fractional digits. */
const smbTime = (iso: string) => iso.replace(/\.(\d{3})Z$/, '.$10000Z');

export function metadataResponseHeaders(metadata: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) headers[`x-ms-meta-${name}`] = value;
  return headers;
}

export function leaseResponseHeaders(lease: LeaseState): Record<string, string> {
  return {
    'x-ms-lease-state': lease.status,
    'x-ms-lease-status': lease.status === 'leased' ? 'locked' : 'unlocked',
    ...(lease.status === 'leased' ? { 'x-ms-lease-duration': 'infinite' } : {}),
    [LEASE_EPOCH_HEADER]: String(lease.epoch),
  };
}

/** The headers Azure returns about a directory or file (Get Properties and after writes). */
export function nodeResponseHeaders(node: NodeState): Record<string, string> {
  return {
    etag: node.etag,
    'last-modified': rfc1123(new Date(node.lastModified)),
    'x-ms-file-id': node.fileId,
    'x-ms-file-parent-id': node.parentId,
    'x-ms-file-attributes': node.kind === 'directory' ? 'Directory' : 'Archive',
    'x-ms-file-creation-time': smbTime(node.createdAt),
    'x-ms-file-last-write-time': smbTime(node.lastModified),
    'x-ms-file-change-time': smbTime(node.lastModified),
    'x-ms-file-permission-key': '0',
    'x-ms-request-server-encrypted': 'false',
  };
}

const invalidMetadata = (message: string) => new AzureError(400, 'InvalidMetadata', message);

/** `x-ms-meta-*` request headers, validated as Azure does: C# identifiers, no duplicates, at most 8 KiB. */
export function readMetadata(rawHeaders: string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  const seen = new Set<string>();
  let bytes = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const header = rawHeaders[i];
    // A bare `x-ms-meta` header is not an entry: the Python SDK 12.x sends its metadata both as
    // x-ms-meta-* headers and, serialized, as `x-ms-meta: {...}`, which Azure ignores.
    if (header.length < 10 || header.slice(0, 10).toLowerCase() !== 'x-ms-meta-') continue;
    const name = header.slice(10);
    if (name === '')
      throw new AzureError(400, 'EmptyMetadataKey', 'The key for one of the metadata key-value pairs is empty.');
    if (!isValidMetadataName(name)) throw invalidMetadata(`The metadata name '${name}' is not a valid C# identifier.`);
    if (seen.has(name.toLowerCase())) throw invalidMetadata(`The metadata name '${name}' is given more than once.`);
    seen.add(name.toLowerCase());
    const value = rawHeaders[i + 1];
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
    metadata[name] = value;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new AzureError(
      400,
      'MetadataTooLarge',
      'The size of the specified metadata exceeds the maximum size permitted.',
    );
  }
  return metadata;
}
