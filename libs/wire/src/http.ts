import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import { METHODS } from 'node:http';
import { traceRequest } from '@leasehold/observability';
import { commonResponseHeaders, FinalResponse, WireGateway } from './gateway';
import { errorBody } from './xml';

/** Put Range carries at most 4 MiB; a little more lets us answer a too-large body ourselves. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Framework-level failures (unparseable URL, body too large, bad Content-Length) still get Azure-style
 * answers, with the headers every response carries (as the gateway adds them).
 */
function frameworkError(req: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string): void {
  const requestId = randomUUID();
  const now = new Date();
  void reply
    .code(status)
    .headers(commonResponseHeaders(req.headers, requestId, now))
    .header('x-ms-error-code', code)
    .header('content-type', 'application/xml')
    .send(Buffer.from(errorBody(code, message, {}, requestId, now)));
}

function classify(error: { code?: string; statusCode?: number }): [number, string, string] {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return [413, 'RequestBodyTooLarge', 'The request body is too large and exceeds the maximum permissible limit.'];
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return [400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.'];
    default:
      return [400, 'InvalidUri', 'The requested URI does not represent any resource on the server.'];
  }
}

/** Fastify options for the Azure surface: raw bodies, no JSON, framework errors in Azure's format. */
export const wireFastifyOptions: FastifyServerOptions = {
  bodyLimit: MAX_BODY_BYTES,
  exposeHeadRoutes: false,
  routerOptions: { maxParamLength: 16 * 1024 },
  keepAliveTimeout: 65_000,
  // Slow clients cannot hold a connection for ever.
  requestTimeout: 120_000,
  frameworkErrors: (error, req, reply) => {
    const [status, code, message] = classify(error);
    frameworkError(req, reply, status, code, message);
  },
  // Malformed HTTP, or headers beyond Node's 16 KiB limit, fail before any request exists: answer
  // on the socket itself, still in Azure's format.
  clientErrorHandler: (error, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = (error as { code?: string }).code === 'HPE_HEADER_OVERFLOW';
    const [status, code, text] = tooLarge
      ? [431, 'RequestHeaderFieldsTooLarge', 'The request headers are too large.']
      : [400, 'InvalidInput', 'The request could not be parsed.'];
    const requestId = randomUUID();
    const now = new Date();
    const body = errorBody(code, text, {}, requestId, now);
    // No request was parsed, so no headers of its own to echo; the ones every answer carries still go out.
    const common = Object.entries(commonResponseHeaders({}, requestId, now))
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n${common}x-ms-error-code: ${code}\r\n` +
        `content-type: application/xml\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  },
};

function send(reply: FastifyReply, response: FinalResponse): void {
  // Fastify rewrites the Content-Type of a string body (it appends a charset to JSON types) and
  // invents one for an empty body; a file's stored Content-Type (also on HEAD, whose body is
  // empty) must go out unchanged, so send bytes, or nothing.
  const body = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
  void reply
    .code(response.status)
    .headers(response.headers)
    .send(!Buffer.isBuffer(body) || body.length > 0 ? body : undefined);
}

/**
 * Every method on every path goes to the gateway, which routes by method, restype and comp. The
 * routes live in their own plugin scope, with raw-body parsing and Azure-style framework errors.
 */
export function mountWireGateway(fastify: FastifyInstance, gateway: WireGateway): void {
  // Every method Node's parser accepts (PROPFIND, MKCOL, …) reaches the gateway, which answers it
  // the Azure way, instead of Nest's JSON 404. CONNECT never reaches a route.
  for (const name of METHODS) {
    if (name !== 'CONNECT' && !fastify.supportedMethods.includes(name)) fastify.addHttpMethod(name, { hasBody: true });
  }
  void fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((error, req, reply) => {
      const [status, code, message] = classify(error as { code?: string });
      frameworkError(req, reply, status, code, message);
    });
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const response = await gateway.handle({
        method: req.method,
        url: req.raw.url ?? '/',
        headers: req.headers,
        rawHeaders: req.raw.rawHeaders,
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        remoteAddress: req.raw.socket?.remoteAddress,
        encrypted: Boolean((req.raw.socket as { encrypted?: boolean } | undefined)?.encrypted),
      });
      traceRequest(req.raw, response.trace);
      send(reply, response);
      // Tells Fastify the reply is under way: otherwise, when sending takes a tick (a stream), it
      // answers the resolved handler with an empty reply of its own.
      return reply;
    };
    const method = [...fastify.supportedMethods];
    scope.route({ method, url: '/', handler });
    scope.route({ method, url: '/*', handler });
  });
}
