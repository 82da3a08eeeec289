import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKER_NODE_ARGS } from './node-args';

const ROOT = join(__dirname, '../../..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

// `npm start` takes the flags from WORKER_NODE_ARGS; the other ways to start the worker spell them out.
describe('the worker is started with its node flags everywhere', () => {
  it('by npm run start:worker', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    expect(scripts['start:worker']).toBe(['node', ...WORKER_NODE_ARGS, 'dist/apps/worker/src/main.js'].join(' '));
  });

  it('by docker-compose.yml', () => {
    const command = ['node', ...WORKER_NODE_ARGS, 'dist/apps/worker/src/main.js'].map((a) => `'${a}'`).join(', ');
    expect(read('docker-compose.yml')).toContain(`command: [${command}]`);
  });
});
