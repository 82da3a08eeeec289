import { checkPathComponents } from '@leasehold/domain';
import { AzureError, header, invalidHeader, ParsedUrl, parseUrl, requiredHeader, WireRequest } from '@leasehold/wire';

/** Where a source URL header (x-ms-file-rename-source, x-ms-copy-source) points, in the request's own account. */
export interface SourceLocation {
  share: string;
  /** Checked, trailing dots dropped as for the request's own path. */
  path: string[];
  /** The URL as sent (its query may be a SAS for the source). */
  url: ParsedUrl;
}

/**
 * Reads a source URL: absolute (`http://host/{account}/{share}/{path}`, as the SDKs send it) or a
 * path from the account on. It must name a file or directory in the request's account; its path is
 * checked and its trailing dots dropped as the request's own are (unless `trailingDotHeader` is true).
 */
export function sourceLocation(req: WireRequest, name: string, trailingDotHeader: string): SourceLocation {
  const value = requiredHeader(req, name);
  let url: URL;
  try {
    url = new URL(value, 'http://source.invalid');
  } catch {
    throw invalidHeader(name, value);
  }
  let parsed: ParsedUrl;
  try {
    parsed = parseUrl(`${url.pathname}${url.search}`);
  } catch {
    throw invalidHeader(name, value);
  }
  if (parsed.account !== req.context.tenant || parsed.share === undefined || parsed.path.length === 0) {
    throw new AzureError(400, 'InvalidHeaderValue', 'The source must name a file or directory in the same account.', {
      HeaderName: name,
      HeaderValue: value,
    });
  }
  const path =
    header(req, trailingDotHeader)?.toLowerCase() === 'true'
      ? parsed.path
      : parsed.path.map((c) => c.replace(/\.+$/, ''));
  if (checkPathComponents(path)) throw invalidHeader(name, value);
  return { share: parsed.share, path, url: parsed };
}
