import type { FastifyInstance } from 'fastify';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

/** Where `npm run build` writes the console bundle, seen from this file compiled (dist/apps/api/src). */
export const BUILT_CONSOLE = join(__dirname, '../../console/public');

/**
 * What the page may load and call: its own script, stylesheet and images only (no other host
 * serves it anything), and requests to the storage endpoint the user signs in to, which is this
 * service unless a SAS URL names another one (whose CORS rules then decide).
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * `/_console`: the browser console (apps/console), served by the API itself. It holds no
 * credentials: the page signs its own requests in the browser, like any other Azure SDK client.
 * The bundle is a handful of files, read once: a request can name only one of them, so no path
 * from a URL ever reaches the file system. Without a build (`npm run build`) the path says so.
 */
export function mountConsole(fastify: FastifyInstance, dir = BUILT_CONSOLE): void {
  const files = new Map<string, { type: string; body: Buffer }>();
  if (existsSync(join(dir, 'index.html')))
    for (const name of readdirSync(dir))
      if (TYPES[extname(name)]) files.set(name, { type: TYPES[extname(name)], body: readFileSync(join(dir, name)) });
  fastify.get('/_console', (_request, reply) => reply.redirect('/_console/'));
  fastify.get<{ Params: { file: string } }>('/_console/:file', (request, reply) => {
    const file = files.get(request.params.file || 'index.html');
    if (!file)
      return reply
        .code(404)
        .type('text/plain')
        .send(files.size ? 'Not found.\n' : 'The console is not built: run `npm run build`.\n');
    return reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .type(file.type)
      .send(file.body);
  });
}
