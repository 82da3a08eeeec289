// The README's JavaScript example (Watch: waiting for a lease without polling), run as it stands there.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { WatchFeed } from '../../libs/watch/src';
import { connectionString, startTestService, TestService, uniqueShare } from '../support/service';

const ROOT = join(__dirname, '../..');

/** The first ```js block after a line of README.md that starts with `lead`. */
function readmeExample(lead: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.search(new RegExp(`^${lead}`, 'm'));
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  if (at === -1 || !block) throw new Error(`no js example after "${lead}" in README.md`);
  return block[1];
}

describe('README: waiting for a lease with a watch', () => {
  let service: TestService;
  let dir: string;
  let script: string;

  beforeAll(async () => {
    service = await startTestService();
    dir = mkdtempSync(join(tmpdir(), 'leasehold-readme-'));
    script = join(dir, 'wait-for-lease.js');
    writeFileSync(script, readmeExample('Waiting for a lease without polling'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await service.stop();
  });

  /** `node wait-for-lease.js <share> <path>` with the account's connection string. */
  function run(share: string, path: string) {
    const child = spawn(process.execPath, [script, share, path], {
      env: {
        ...process.env,
        NODE_PATH: join(ROOT, 'node_modules'),
        LEASEHOLD_CONNECTION_STRING: connectionString(service.accountUrl(), DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk) => (out.stdout += chunk));
    child.stderr.on('data', (chunk) => (out.stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { child, out, exited };
  }

  async function leasedFile() {
    const share = service.serviceClient().getShareClient(uniqueShare('readme'));
    await share.create();
    await share.getDirectoryClient('q').create();
    const file = share.rootDirectoryClient.getFileClient('q/q3.csv');
    await file.create(8);
    return { share: share.name, file };
  }

  it('takes a free lease at once', async () => {
    const { share, file } = await leasedFile();
    const example = run(share, 'q/q3.csv');
    expect(await example.exited).toBe(0);
    const [, leaseId] = /^leased (\S+)\n$/.exec(example.out.stdout)!;
    expect((await file.getProperties()).leaseState).toBe('leased');
    await file.getShareLeaseClient(leaseId).releaseLease();
  });

  it('waits on a watch while another client holds the lease, and takes it after the release', async () => {
    const { share, file } = await leasedFile();
    const holder = await file.getShareLeaseClient().acquireLease();
    const feed = service.api.app.get(WatchFeed);
    const example = run(share, 'q/q3.csv');
    // It holds a watch (and has been refused the lease, or is about to be): the release comes now.
    for (let i = 0; i < 400 && feed.size === 0 && example.child.exitCode === null; i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect([feed.size, example.child.exitCode, example.out]).toEqual([1, null, { stdout: '', stderr: '' }]);
    await file.getShareLeaseClient(holder.leaseId).releaseLease();

    expect(await example.exited).toBe(0);
    const [, leaseId] = /^leased (\S+)\n$/.exec(example.out.stdout)!;
    expect(leaseId).not.toBe(holder.leaseId);
    expect((await file.getProperties()).leaseState).toBe('leased');
    await file.getShareLeaseClient(leaseId).releaseLease();
  });
});
