import { RestError, ShareDirectoryClient, ShareFileClient, ShareServiceClient } from '@azure/storage-file-share';
import { createHttpHeaders, createPipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import { parseXML } from '@azure/core-xml';

/** The x-ms-version the CLI speaks. */
const SERVICE_VERSION = '2026-04-06';

/** A failure the CLI reports as one line: the status and the Azure error code when the service gave one. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }

  static from(error: unknown): CliError {
    if (error instanceof CliError) return error;
    if (error instanceof RestError) {
      const code = error.code ?? error.response?.headers.get('x-ms-error-code');
      // The SDK's message for a HEAD (no body) is empty; the code says it all then.
      const first = error.message.split('\n')[0].trim();
      const message = first && first !== code ? first : '';
      return new CliError(message, error.statusCode, code);
    }
    const cause = (error as { cause?: { code?: string } })?.cause?.code;
    return new CliError(`${(error as Error)?.message ?? error}${cause ? ` (${cause})` : ''}`);
  }

  /** `409 LeaseAlreadyPresent: There is already a lease present.` */
  oneLine(): string {
    return [[this.status, this.code].filter((p) => p !== undefined).join(' '), this.message]
      .filter((p) => p !== '')
      .join(': ');
  }
}

/** `share/dir/file` → its parts; the share alone names the share root. */
export function splitPath(target: string): { share: string; path: string[] } {
  const [share, ...path] = target.split('/').filter((p) => p !== '');
  if (!share) throw new CliError(`no share in ${JSON.stringify(target)}: give share[/path]`);
  return { share, path };
}

/**
 * The service, as the SDK sees it: a connection string from the environment (the account and key
 * sign every request with Shared Key). Azure's own operations go through the SDK's clients; the
 * extension operations go through the same SDK pipeline (the same signing, retries, request ids).
 */
export class LeaseholdClient {
  readonly service: ShareServiceClient;

  constructor(connectionString: string) {
    try {
      this.service = ShareServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 3 } });
    } catch (error) {
      throw new CliError(`the connection string is not valid: ${(error as Error).message}`);
    }
  }

  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): LeaseholdClient {
    const connectionString = env.LEASEHOLD_CONNECTION_STRING ?? env.AZURE_STORAGE_CONNECTION_STRING;
    if (!connectionString)
      throw new CliError(
        'set LEASEHOLD_CONNECTION_STRING to the account\'s connection string (see README: "Pointing the Azure SDK at it")',
      );
    return new LeaseholdClient(connectionString);
  }

  file(target: string): ShareFileClient {
    const { share, path } = splitPath(target);
    if (path.length === 0) throw new CliError(`${target} is a share: give share/path/to/file`);
    return this.service
      .getShareClient(share)
      .getDirectoryClient(path.slice(0, -1).join('/'))
      .getFileClient(path[path.length - 1]);
  }

  directory(target: string): ShareDirectoryClient {
    const { share, path } = splitPath(target);
    return this.service.getShareClient(share).getDirectoryClient(path.join('/'));
  }

  /** The file or directory a path names, asking the service which it is. */
  async fileOrDirectory(target: string): Promise<ShareFileClient | ShareDirectoryClient> {
    const { path } = splitPath(target);
    if (path.length === 0) return this.directory(target);
    const directory = this.directory(target);
    if (await directory.exists()) return directory;
    return this.file(target);
  }

  /** URL of the account, a share or a path, with the query. */
  private url(target: string | undefined, query: Record<string, string | undefined>): string {
    const base = new URL(this.service.url);
    const { share, path } = target ? splitPath(target) : { share: undefined, path: [] };
    const segments = [share, ...path].filter((s): s is string => s !== undefined).map(encodeURIComponent);
    base.pathname = [base.pathname.replace(/\/$/, ''), ...segments].join('/');
    for (const [name, value] of Object.entries(query)) if (value !== undefined) base.searchParams.set(name, value);
    return base.toString();
  }

  /**
   * An extension operation, signed and sent by the SDK's own pipeline. With `stream`, a 200's body
   * is left unread as `readableStreamBody` (a Server-Sent Events watch); an error's is read as text.
   */
  async send(
    method: string,
    target: string | undefined,
    query: Record<string, string | undefined>,
    headers: Record<string, string | undefined> = {},
    options: { stream?: boolean } = {},
  ): Promise<PipelineResponse> {
    const url = this.url(target, query);
    const defined = Object.fromEntries(
      Object.entries({ 'x-ms-version': SERVICE_VERSION, ...headers }).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    const request = createPipelineRequest({
      url,
      method: method as 'GET',
      headers: createHttpHeaders(defined),
      allowInsecureConnection: url.startsWith('http:'),
      ...(options.stream ? { streamResponseStatusCodes: new Set([200]) } : {}),
    });
    // The SDK keeps its pipeline (credential policy included) in its client context.
    const context = (
      this.service as unknown as { storageClientContext: { sendRequest(r: typeof request): Promise<PipelineResponse> } }
    ).storageClientContext;
    let response: PipelineResponse;
    try {
      response = await context.sendRequest(request);
    } catch (error) {
      throw CliError.from(error);
    }
    if (response.status >= 400) {
      const code = response.headers.get('x-ms-error-code');
      const error = (await parseXML(response.bodyAsText ?? '').catch(() => undefined)) as
        { Message?: string } | undefined;
      const message = error?.Message ?? response.bodyAsText ?? '';
      throw new CliError(String(message).split('\n')[0], response.status, code);
    }
    return response;
  }

  /** `T` names the parsed XML the caller expects (the SDK's parser gives it untyped). */
  async sendXml<T>(
    method: string,
    target: string | undefined,
    query: Record<string, string | undefined>,
    headers?: Record<string, string | undefined>,
  ): Promise<T> {
    const response = await this.send(method, target, query, headers);
    return (await parseXML(response.bodyAsText ?? '')) as T;
  }

  /** `T` names the JSON the caller expects. */
  async sendJson<T>(method: string, target: string | undefined, query: Record<string, string | undefined>): Promise<T> {
    const response = await this.send(method, target, query);
    return JSON.parse(response.bodyAsText ?? 'null') as T;
  }
}
