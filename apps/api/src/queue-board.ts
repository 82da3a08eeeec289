import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { LeaseholdConfig } from '@leasehold/config';
import { closeQueue, FORCE_CLOSE_QUEUE, queueOptions } from '@leasehold/jobs';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';

const BASE_PATH = '/_admin/queues';

/** The admin token, as a bearer token (scripts) or as the password of HTTP Basic (a browser asks for it). */
function authorized(authorization: string | undefined, token: string): boolean {
  const [scheme, value = ''] = (authorization ?? '').split(' ', 2);
  const given =
    scheme === 'Bearer'
      ? value
      : scheme === 'Basic'
        ? Buffer.from(value, 'base64')
            .toString('utf8')
            .replace(/^[^:]*:/, '')
        : '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * bull-board at /_admin/queues over the force-close queue (an entry per run of a job's chunks),
 * behind the admin token; without an ADMIN_TOKEN (the production default) it does not exist, like
 * the admin API.
 */
export async function mountQueueBoard(fastify: FastifyInstance, config: LeaseholdConfig): Promise<void> {
  const token = config.adminToken;
  if (!token) return;
  const queue = new Queue(FORCE_CLOSE_QUEUE, queueOptions(config));
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BASE_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: false })], serverAdapter });
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (authorized(request.headers.authorization, token)) return;
      await reply
        .code(401)
        .header('www-authenticate', 'Basic realm="leasehold admin"')
        .send({ message: 'the admin token is required' });
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
    scope.addHook('onClose', async () => closeQueue(queue));
  });
}
