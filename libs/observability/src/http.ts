import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { flatLineLogger } from './logging';
import { httpRequestDuration, httpRequests, leaseActions, registry } from './metrics';

/** What the Azure gateway learnt about a request, for its access line and its metrics. */
export interface RequestTrace {
  requestId: string;
  clientRequestId?: string;
  /** Set once the request is authenticated: an unproven account name is not logged as one. */
  account?: string;
  /** The Azure operation's name, once routed. */
  operation?: string;
  errorCode?: string;
}

const traces = new WeakMap<IncomingMessage, RequestTrace>();

export const traceRequest = (req: IncomingMessage, trace: RequestTrace) => void traces.set(req, trace);

const LEASE_ACTIONS = new Set(['acquire', 'change', 'release', 'break']);
const MAX_CLIENT_REQUEST_ID = 256;

/**
 * One access line and the request metrics for every answer, whichever route gave it: the Azure
 * gateway's (which traced it) or a service endpoint's (/_health, /_metrics, /_docs, /_admin).
 */
export function observeHttp(fastify: FastifyInstance, logger: Logger): void {
  const access = flatLineLogger(logger);
  fastify.addHook('onResponse', async (request, reply) => {
    const trace = traces.get(request.raw);
    const seconds = reply.elapsedTime / 1000;
    // Service endpoints are labelled by their route pattern (bounded); an unrouted path by none.
    const operation = trace ? (trace.operation ?? '(unrouted)') : (request.routeOptions.url ?? '(unrouted)');
    const status = reply.statusCode;
    httpRequests.inc({ operation, status: String(status) });
    httpRequestDuration.observe({ operation }, seconds);
    if (trace?.operation === 'Lease File') {
      const action = String(request.headers['x-ms-lease-action'] ?? '').toLowerCase();
      if (LEASE_ACTIONS.has(action)) leaseActions.inc({ action, outcome: trace.errorCode ?? 'success' });
    }
    const clientRequestId = trace?.clientRequestId ?? request.headers['x-ms-client-request-id'];
    access.info(
      {
        requestId: trace?.requestId ?? request.id,
        clientRequestId:
          typeof clientRequestId === 'string' ? clientRequestId.slice(0, MAX_CLIENT_REQUEST_ID) : undefined,
        account: trace?.account,
        operation,
        method: request.method,
        status,
        errorCode: trace?.errorCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
}

/** `/_metrics` in Prometheus' text format. */
export function mountMetrics(fastify: FastifyInstance): void {
  fastify.get('/_metrics', async (_request, reply) => {
    void reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}
