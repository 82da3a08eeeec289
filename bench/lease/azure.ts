import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';

/**
 * A minimal Azure Files client: Shared Key signing by the documented rules, written independently
 * of the service's verifier so a mistake on either side shows up as 403s, and cheap enough that
 * the load process measures the server rather than itself.
 */

export const SERVICE_VERSION = '2026-04-06';

export interface Signer {
  account: string;
  /** The decoded account key. */
  key: Buffer;
}

export interface AzureResponse {
  status: number;
  errorCode?: string;
}

let cachedSecond = 0;
let cachedDate = '';
/** x-ms-date has one-second resolution: format it once per second, not per request. */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(second * 1000).toUTCString();
  }
  return cachedDate;
}

/**
 * Signs a body-less request. Headers must be lowercase; every x-ms-* header is canonicalized. Our
 * header names are lowercase letters and '-' with distinct letter sequences, for which the SDK's
 * collation and plain ordinal order agree.
 */
export function sign(
  signer: Signer,
  method: string,
  path: string,
  query: Record<string, string>,
  headers: Record<string, string>,
): string {
  const canonicalHeaders = Object.keys(headers)
    .filter((name) => name.startsWith('x-ms-'))
    .sort()
    .map((name) => `${name}:${headers[name]}\n`)
    .join('');
  const canonicalQuery = Object.keys(query)
    .map((name) => name.toLowerCase())
    .sort()
    .map((name) => `\n${name}:${query[name]}`)
    .join('');
  const contentLength = headers['content-length'] === '0' ? '' : (headers['content-length'] ?? '');
  const stringToSign =
    // VERB, Content-Encoding, Content-Language, Content-Length, Content-MD5, Content-Type, Date,
    // If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range: all empty but the length.
    `${method}\n\n\n${contentLength}\n\n${headers['content-type'] ?? ''}\n\n\n\n\n\n\n` +
    canonicalHeaders +
    `/${signer.account}${path}${canonicalQuery}`;
  return createHmac('sha256', signer.key).update(stringToSign, 'utf8').digest('base64');
}

/** One signed request; the response body is drained (an error body only yields its x-ms-error-code). */
export function azureRequest(
  baseUrl: URL,
  agent: Agent,
  signer: Signer,
  method: string,
  path: string,
  query: Record<string, string>,
  extraHeaders: Record<string, string>,
): Promise<AzureResponse> {
  const headers: Record<string, string> = {
    'x-ms-date': httpDate(),
    'x-ms-version': SERVICE_VERSION,
    'content-length': '0',
    ...extraHeaders,
  };
  headers['authorization'] = `SharedKey ${signer.account}:${sign(signer, method, path, query, headers)}`;
  const search = Object.entries(query)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: baseUrl.hostname, port: baseUrl.port, method, path: search ? `${path}?${search}` : path, headers, agent },
      (res) => {
        res.on('error', reject);
        res.on('end', () => {
          const code = res.headers['x-ms-error-code'];
          resolve({ status: res.statusCode ?? 0, errorCode: Array.isArray(code) ? code[0] : code });
        });
        res.resume();
      },
    );
    req.on('error', reject);
    req.end();
  });
}
