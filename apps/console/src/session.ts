import { AnonymousCredential, Pipeline, ShareClient, ShareServiceClient } from '@azure/storage-file-share';
import { BrowserSharedKeyCredential, SharedKeySigner } from './shared-key';

/** What the user signed in with. Kept in sessionStorage only: gone when the tab closes, never sent to the server as such. */
export type Credentials =
  { kind: 'key'; endpoint: string; account: string; key: string } | { kind: 'sas'; url: string };

const STORAGE_KEY = 'leasehold-console';
/** The version of the REST dialect the extension requests speak (the SDK sends its own). */
const VERSION = '2026-04-06';

export const savedCredentials = (): Credentials | undefined => {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  return raw ? (JSON.parse(raw) as Credentials) : undefined;
};
export const forget = () => sessionStorage.removeItem(STORAGE_KEY);

/**
 * A signed-in console: the SDK's clients for the Azure operations, and `send` for the extension
 * operations (watch, lease history, jobs, audit), signed the same way: Shared Key with the account
 * key, or the SAS appended to the URL.
 */
export class Session {
  readonly account: string;
  readonly endpoint: string;
  /** The share a share SAS is limited to. */
  readonly onlyShare?: string;
  private readonly sas?: string;
  private readonly signer?: SharedKeySigner;
  private readonly service?: ShareServiceClient;

  private constructor(readonly credentials: Credentials) {
    if (credentials.kind === 'key') {
      this.endpoint = credentials.endpoint.replace(/\/+$/, '');
      this.account = credentials.account;
      this.signer = new SharedKeySigner(credentials.account, credentials.key);
      this.service = new ShareServiceClient(
        `${this.endpoint}/${this.account}`,
        new Pipeline([new BrowserSharedKeyCredential(this.signer)]),
      );
    } else {
      const url = new URL(credentials.url);
      const [account, share] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (!account || !url.searchParams.has('sig'))
        throw new Error('A SAS URL names the account and carries a signature (sig=…).');
      this.endpoint = url.origin;
      this.account = account;
      this.sas = url.search.slice(1);
      this.onlyShare = share;
      if (!share)
        this.service = new ShareServiceClient(`${this.endpoint}/${account}?${this.sas}`, new AnonymousCredential());
    }
  }

  /** Signs in: checks the credentials with one request before keeping them. */
  static async open(credentials: Credentials): Promise<Session> {
    const session = new Session(credentials);
    await session.signer?.ready();
    if (session.service) await session.service.listShares().byPage({ maxPageSize: 1 }).next();
    else await session.share(session.onlyShare!).getProperties();
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
    return session;
  }

  /** Only the account owner may list handles, run jobs and read the audit trail. */
  get isOwner(): boolean {
    return this.credentials.kind === 'key';
  }

  async shareNames(): Promise<string[]> {
    if (!this.service) return [this.onlyShare!];
    const names: string[] = [];
    for await (const share of this.service.listShares()) names.push(share.name);
    return names;
  }

  share(name: string): ShareClient {
    if (this.service) return this.service.getShareClient(name);
    return new ShareClient(
      `${this.endpoint}/${this.account}/${encodeURIComponent(name)}?${this.sas}`,
      new AnonymousCredential(),
    );
  }

  /** The URL of a place: the account, a share, or a path in it. */
  url(share?: string, path = '', query: Record<string, string | undefined> = {}): string {
    const segments = [this.account, share, ...path.split('/')].filter((s): s is string => !!s).map(encodeURIComponent);
    const url = new URL(`${this.endpoint}/${segments.join('/')}`);
    for (const [name, value] of Object.entries(query))
      if (value !== undefined && value !== '') url.searchParams.set(name, value);
    return this.sas ? `${url.toString()}${url.search ? '&' : '?'}${this.sas}` : url.toString();
  }

  /** An extension request, signed like the SDK's; throws the service's error code on a failure. */
  async send(
    method: string,
    url: string,
    options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers = new Headers({ 'x-ms-version': VERSION, ...options.headers });
    // The audit trail records it; crypto.randomUUID, like WebCrypto, exists in secure contexts only.
    if (globalThis.isSecureContext) headers.set('x-ms-client-request-id', crypto.randomUUID());
    if (this.signer)
      await this.signer.sign(
        method,
        url,
        { get: (n) => headers.get(n), set: (n, v) => headers.set(n, v), names: () => [...headers.keys()] },
        0,
      );
    const response = await fetch(url, { method, headers, signal: options.signal, cache: 'no-store' });
    if (!response.ok) {
      const error = new Error(`${response.status} ${response.headers.get('x-ms-error-code') ?? response.statusText}`);
      Object.assign(error, { statusCode: response.status, code: response.headers.get('x-ms-error-code') ?? undefined });
      throw error;
    }
    return response;
  }

  async json<T>(url: string): Promise<T> {
    return (await (await this.send('GET', url)).json()) as T;
  }

  async xml(method: string, url: string, headers?: Record<string, string>): Promise<Document> {
    const text = await (await this.send(method, url, { headers })).text();
    return new DOMParser().parseFromString(text, 'application/xml');
  }
}
