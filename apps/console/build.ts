import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root: the nearest ancestor with a package.json. This file runs both from its
 * source (the e2e tests) and compiled under dist/ (`npm run build`), so the sources are found by
 * walking up rather than by a fixed relative path.
 */
function repositoryRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** Where `npm run build` writes the console (dist/apps/console/public): the API serves it from there. */
export const CONSOLE_OUTPUT = join(__dirname, 'public');

/**
 * Bundles the browser console (apps/console/src) with esbuild: one script with the official
 * `@azure/storage-file-share` SDK in its browser build, the stylesheet and the page, into `outdir`.
 * Everything the page loads comes from there: it makes no request to any other host for assets.
 */
export async function buildConsole(outdir: string): Promise<void> {
  const source = join(repositoryRoot(__dirname), 'apps/console/src');
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [join(source, 'main.ts'), join(source, 'console.css')],
    outdir,
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120'],
    tsconfig: join(source, '../tsconfig.json'),
    legalComments: 'linked',
    logLevel: 'warning',
  });
  copyFileSync(join(source, 'index.html'), join(outdir, 'index.html'));
}

if (require.main === module) {
  buildConsole(CONSOLE_OUTPUT).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
