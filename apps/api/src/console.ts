import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where `npm run build` writes the console bundle, seen from this file compiled (dist/apps/api/src). */
export const BUILT_CONSOLE = join(__dirname, '../../console/public');

/**
 * What the page may load and call: its own script, stylesheet and images only (no other host
 * serves it anything), and requests to the storage endpoint the user signs in to, which is this
 * service unless a SAS URL names another one (whose CORS rules then decide).
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * `/_console`: the browser console (apps/console), static files served by the API itself. It holds
 * no credentials: the page signs its own requests in the browser, like any other Azure SDK client.
 * Without a build (`npm run build`) the path says so instead.
 */
export async function mountConsole(fastify: FastifyInstance, dir = BUILT_CONSOLE): Promise<void> {
  if (!existsSync(join(dir, 'index.html'))) {
    fastify.get('/_console', (_request, reply) =>
      reply.code(404).type('text/plain').send('The console is not built: run `npm run build`.\n'),
    );
    return;
  }
  await fastify.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
    });
    await scope.register(fastifyStatic, { root: dir, prefix: '/_console/', redirect: true });
  });
}
