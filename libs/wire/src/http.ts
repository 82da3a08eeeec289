import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import { FinalResponse, WireGateway } from './gateway';
import { errorBody } from './xml';

/** Put Range carries at most 4 MiB; a little more lets us answer a too-large body ourselves. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Framework-level failures (unparseable URL, body too large, bad Content-Length) still get Azure-style answers. */
function frameworkError(reply: FastifyReply, status: number, code: string, message: string): void {
  const requestId = randomUUID();
  void reply
    .code(status)
    .header('x-ms-request-id', requestId)
    .header('x-ms-error-code', code)
    .header('content-type', 'application/xml')
    .send(errorBody(code, message, {}, requestId, new Date()));
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
  frameworkErrors: (error, _req, reply) => {
    const [status, code, message] = classify(error as { code?: string });
    frameworkError(reply, status, code, message);
  },
};

function send(reply: FastifyReply, response: FinalResponse): void {
  void reply.code(response.status).headers(response.headers).send(response.body);
}

/**
 * Every method on every path goes to the gateway, which routes by method, restype and comp. The
 * routes live in their own plugin scope, with raw-body parsing and Azure-style framework errors.
 */
export function mountWireGateway(fastify: FastifyInstance, gateway: WireGateway): void {
  void fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((error, _req, reply) => {
      const [status, code, message] = classify(error as { code?: string });
      frameworkError(reply, status, code, message);
    });
    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const response = await gateway.handle({
        method: req.method,
        url: req.raw.url ?? '/',
        headers: req.headers,
        rawHeaders: req.raw.rawHeaders,
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      });
      send(reply, response);
    };
    const method = ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS'];
    scope.route({ method, url: '/', handler });
    scope.route({ method, url: '/*', handler });
  });
}
