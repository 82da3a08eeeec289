import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { sharedKeyStringsToSign } from '../../libs/wire/src/auth/shared-key';

export interface RawRequestOptions {
  method: string;
  /** The URL path exactly as it goes on the wire (already percent-encoded), starting with /{account}. */
  path: string;
  /** The query exactly as it goes on the wire, without '?'. */
  query?: string;
  /** Header names in lowercase. x-ms-date, x-ms-version and x-ms-client-request-id are added unless given (undefined removes one). */
  headers?: Record<string, string | undefined>;
  body?: Buffer | string;
  /** Who signs: omit for an unsigned request. */
  signer?: { account: string; key: string };
  /** Runs after signing: the place to break one thing in an otherwise valid request. */
  afterSigning?: (headers: Record<string, string>) => void;
  /** A keep-alive agent for many requests; by default each request has a connection of its own. */
  agent?: Agent;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  header(name: string): string | undefined;
  body: string;
}

/** The Shared Key signature of a request, computed with the service's own string-to-sign rules (the SDK's order). */
export function sharedKeySignature(
  req: { method: string; rawPath: string; rawQuery: string; headers: Record<string, string> },
  account: string,
  key: string,
): string {
  // A query that is not valid percent-encoding has no string-to-sign; sign the empty string so
  // that the request still goes out (the service must refuse it before checking the signature).
  const [stringToSign = ''] = sharedKeyStringsToSign(req, account);
  return createHmac('sha256', Buffer.from(key, 'base64')).update(stringToSign, 'utf8').digest('base64');
}

/**
 * Sends one HTTP request with node:http, which (unlike the SDK or fetch) lets a test send a
 * malformed path, leave out a mandatory header or break a signature.
 */
export function sendRaw(baseUrl: string, options: RawRequestOptions): Promise<RawResponse> {
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  const headers: Record<string, string> = {};
  const given: Record<string, string | undefined> = {
    'x-ms-date': new Date().toUTCString(),
    'x-ms-version': '2026-04-06',
    'x-ms-client-request-id': randomUUID(),
    // Node sends Content-Length: 0 on a body-less PUT too; the signature must see what goes out.
    ...(options.method === 'PUT' || body.length > 0 ? { 'content-length': String(body.length) } : {}),
    ...options.headers,
  };
  for (const [name, value] of Object.entries(given)) if (value !== undefined) headers[name] = value;
  const query = options.query ?? '';
  if (options.signer) {
    const signature = sharedKeySignature(
      { method: options.method, rawPath: options.path, rawQuery: query, headers },
      options.signer.account,
      options.signer.key,
    );
    headers['authorization'] = `SharedKey ${options.signer.account}:${signature}`;
  }
  options.afterSigning?.(headers);
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: query ? `${options.path}?${query}` : options.path,
        headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            header: (name) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(',') : value;
            },
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    // The server may answer (e.g. 413) before it has read the whole body and close the connection.
    req.on('error', reject);
    req.end(body);
  });
}
