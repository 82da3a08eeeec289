import { BaseRequestPolicy, Credential } from '@azure/storage-file-share';

type PolicyArgs = Parameters<Credential['create']>;
type WebResource = Parameters<BaseRequestPolicy['sendRequest']>[0];

/** The headers a signature reads, whichever request object carries them (the SDK's or fetch's). */
export interface SignableHeaders {
  get(name: string): string | null | undefined;
  set(name: string, value: string): void;
  names(): string[];
}

const base64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const bytesOf = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/**
 * Shared Key signing in the browser. The SDK's StorageSharedKeyCredential exists only in its Node
 * build (it signs with node:crypto); here the HMAC is WebCrypto's, and the string to sign is the
 * one the Authorize with Shared Key documentation gives (headers in its order, every query
 * parameter in the canonicalized resource), which the service verifies like Azure.
 */
export class SharedKeySigner {
  private readonly key: Promise<CryptoKey>;

  constructor(
    readonly account: string,
    accountKey: string,
  ) {
    // Browsers give WebCrypto to secure contexts only (https:, or http: on localhost and 127.0.0.1).
    if (!globalThis.isSecureContext)
      throw new Error('Signing with the account key needs HTTPS (or localhost): sign in with a SAS URL here.');
    this.key = crypto.subtle.importKey('raw', bytesOf(accountKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  }

  /** Checks that the key is well-formed base64 before anything is sent with it. */
  async ready(): Promise<void> {
    await this.key;
  }

  async sign(method: string, url: string, headers: SignableHeaders, contentLength: number): Promise<void> {
    headers.set('x-ms-date', new Date().toUTCString());
    const value = (name: string) => headers.get(name) ?? '';
    const canonicalHeaders = headers
      .names()
      .map((n) => n.toLowerCase())
      .filter((n, i, all) => n.startsWith('x-ms-') && all.indexOf(n) === i)
      .sort()
      .map((n) => `${n}:${value(n).trimStart()}\n`)
      .join('');
    const parsed = new URL(url);
    const query = new Map<string, string[]>();
    for (const [name, v] of parsed.searchParams)
      query.set(name.toLowerCase(), [...(query.get(name.toLowerCase()) ?? []), v]);
    const canonicalQuery = [...query.keys()]
      .sort()
      .map((name) => `\n${name}:${query.get(name)!.sort().join(',')}`)
      .join('');
    const stringToSign = [
      method.toUpperCase(),
      value('content-encoding'),
      value('content-language'),
      contentLength > 0 ? String(contentLength) : '',
      value('content-md5'),
      value('content-type'),
      '',
      value('if-modified-since'),
      value('if-match'),
      value('if-none-match'),
      value('if-unmodified-since'),
      value('range'),
      `${canonicalHeaders}/${this.account}${parsed.pathname}${canonicalQuery}`,
    ].join('\n');
    const signature = await crypto.subtle.sign('HMAC', await this.key, new TextEncoder().encode(stringToSign));
    headers.set('authorization', `SharedKey ${this.account}:${base64(signature)}`);
  }
}

/** The byte length of a request body the SDK sends as a string (XML), or of a binary body. */
function bodyLength(body: unknown): number {
  if (typeof body === 'string') return new TextEncoder().encode(body).length;
  if (body instanceof Blob) return body.size;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  return 0;
}

class SharedKeyPolicy extends BaseRequestPolicy {
  constructor(
    next: PolicyArgs[0],
    options: PolicyArgs[1],
    private readonly signer: SharedKeySigner,
  ) {
    super(next, options);
  }

  async sendRequest(request: WebResource) {
    const headers: SignableHeaders = {
      get: (name) => request.headers.get(name),
      set: (name, value) => request.headers.set(name, value),
      names: () => request.headers.headersArray().map((h) => h.name),
    };
    await this.signer.sign(request.method, request.url, headers, bodyLength(request.body));
    return this._nextPolicy.sendRequest(request);
  }
}

/**
 * A credential for the SDK's clients that signs each request with the account key (asynchronously,
 * with WebCrypto). Pass it in a `new Pipeline([credential])`: the SDK runs a request policy factory
 * it does not know as one of the pipeline's policies (given directly as a credential, it would be
 * taken for an anonymous one).
 */
export class BrowserSharedKeyCredential extends Credential {
  constructor(readonly signer: SharedKeySigner) {
    super();
  }

  override create(next: PolicyArgs[0], options: PolicyArgs[1]) {
    return new SharedKeyPolicy(next, options, this.signer);
  }
}
