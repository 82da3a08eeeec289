// The browser console (/_console) end to end: the bundle `npm run build` makes, served by the API,
// in Debian's headless Chromium driven by playwright-core; a worker (jobs, audit projector) in this
// process; a second client through the official SDK in Node. Every wait is on a locator's condition.
// The screenshots in docs/screenshots/ (README "The console") are taken here: with
// LEASEHOLD_SCREENSHOTS=docs they replace those, otherwise they go to a temporary directory, so a
// test run leaves the checkout as it was.
import { AccountSASPermissions, AccountSASResourceTypes, ShareClient } from '@azure/storage-file-share';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { buildConsole } from '../../apps/console/build';
import { DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY } from '../../libs/accounts/src';
import { loadConfig } from '../../libs/config/src';
import {
  closeAgent,
  createIsolatedDatabase,
  createTree,
  openHandle,
  removeQueue,
  Signer,
  uniqueQueuePrefix,
} from '../support/jobs';
import { startTestService, TestService, uniqueShare } from '../support/service';

const OWNER: Signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
/** Debian's chromium package; `.ci/run` installs it when missing. */
const CHROMIUM = process.env.LEASEHOLD_CHROMIUM ?? '/usr/bin/chromium';

let database: { url: string; drop(): Promise<void> };
let prefix: string;
let bundle: string;
let service: TestService;
let worker: INestApplicationContext;
let browser: Browser;
let page: Page;
let share: ShareClient;
const shareName = uniqueShare('console');

const shot = (name: string) =>
  page.screenshot({
    path: join(
      process.env.LEASEHOLD_SCREENSHOTS === 'docs' ? resolve(__dirname, '../../docs/screenshots') : bundle,
      `${name}.png`,
    ),
    fullPage: true,
  });

beforeAll(async () => {
  database = await createIsolatedDatabase('console');
  prefix = uniqueQueuePrefix('console');
  bundle = mkdtempSync(join(tmpdir(), 'leasehold-console-'));
  await buildConsole(bundle);
  service = await startTestService({ DATABASE_URL: database.url, QUEUE_PREFIX: prefix }, { consoleDir: bundle });
  // The worker runs the force-close jobs and projects the audit trail the timeline is read from.
  worker = await NestFactory.createApplicationContext(
    WorkerModule.forRoot(loadConfig({ DATABASE_URL: database.url, QUEUE_PREFIX: prefix, NODE_ENV: 'test' })),
    { logger: ['error'] },
  );
  await worker.init();
  share = service.serviceClient().getShareClient(shareName);
  await share.create();
  await createTree(
    share,
    ['reports', 'reports/q3'],
    ['reports/q3/ledger.csv', 'reports/q3/summary.txt', 'reports/readme.md'],
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  // What the page itself reports (a script error, a refused request) belongs in the test's output.
  page.on('pageerror', (error) => console.error(`page: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400)
      console.error(`page: ${response.request().method()} ${response.url()} ${response.status()}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await worker?.close();
  closeAgent();
  await service?.stop();
  await removeQueue(prefix);
  await database?.drop();
  rmSync(bundle, { recursive: true, force: true });
}, 60_000);

test('sign in, watch a lease taken elsewhere appear, break it, read its timeline, close handles with a job', async () => {
  // Sign in with the account key; the page signs its own requests.
  await page.goto(`${service.url}/_console`);
  await page.locator('#account').fill(DEVELOPMENT_ACCOUNT);
  await page.locator('#key').fill(DEVELOPMENT_KEY);
  await shot('sign-in');
  await page.locator('#key').press('Enter');
  await page.locator('#live[data-state="live"]').waitFor();

  // Browse to the file through the tree, with the keyboard where a person would use it.
  const file = share.rootDirectoryClient.getFileClient('reports/q3/ledger.csv');
  await openHandle(service.url, OWNER, shareName, 'reports/q3/ledger.csv');
  await page.locator(`details[data-share="${shareName}"] > summary`).click();
  await page.locator('details[data-path="reports"] > summary').focus();
  await page.keyboard.press('Enter');
  await page.locator('details[data-path="reports/q3"] > summary').click();
  const row = page.locator('li.file[data-path="reports/q3/ledger.csv"]');
  await row.locator('[data-lease="available"]').waitFor();
  await row.locator('[data-handles="1"]').waitFor();
  await shot('tree');
  await row.locator('a').click();
  await page.locator('#lease-state [data-lease="available"]').waitFor();

  // A second client takes the lease: the page shows it without a reload.
  const lease = file.getShareLeaseClient();
  await lease.acquireLease();
  await page.locator('#lease-state [data-lease="leased"]').waitFor();
  await page.locator('#lease-holder', { hasText: lease.leaseId }).waitFor();
  await page.locator('#timeline [data-action="acquired"]').first().waitFor();

  // Break it from the page; the timeline marks both.
  await page.locator('#break-lease').click();
  await page.locator('#lease-state [data-lease="broken"]').waitFor();
  await page.locator('#timeline g[data-action="broken"]').waitFor();
  await page.locator('#timeline g[data-action="acquired"]').waitFor();
  expect((await file.getProperties()).leaseState).toBe('broken');

  // Handles: close one from the page.
  await openHandle(service.url, OWNER, shareName, 'reports/q3/ledger.csv');
  await page.locator('#handle-count', { hasText: '2 open' }).waitFor();
  await shot('file');
  await page.locator('#handles button.close-handle').first().click();
  await page.locator('#handle-count', { hasText: '1 open' }).waitFor();

  // A force-close job over the directory: its bar reaches 100 %.
  for (const path of ['reports/q3/summary.txt', 'reports/readme.md', 'reports/readme.md'])
    await openHandle(service.url, OWNER, shareName, path);
  await page.locator('header a[data-route="jobs"]').click();
  await page.locator('#job-share').fill(shareName);
  await page.locator('#job-path').fill('reports');
  await page.locator('#submit-job').click();
  const job = page.locator('#jobs tr[data-job-id]').first();
  await job.locator('progress').waitFor();
  await page.locator('#jobs tr[data-state="completed"][data-percent="100"]').waitFor();
  expect(await job.textContent()).toContain('4 of 4 closed');
  await shot('jobs');

  // The share's lease, held for 60 s by another client, counting down.
  await share.getShareLeaseClient().acquireLease(60);
  await page.goto(`${service.url}/_console/#/share/${shareName}`);
  await page.locator('#share-lease-state [data-lease="leased"]').waitFor();
  await page.locator('#share-countdown [data-seconds]').waitFor();
  const seconds = Number(await page.locator('#share-countdown [data-seconds]').getAttribute('data-seconds'));
  expect(seconds).toBeGreaterThan(0);
  expect(seconds).toBeLessThanOrEqual(60);
  await shot('share-lease');

  // Audit: the break, found by its type.
  await page.locator('header a[data-route="audit"]').click();
  await page.locator('#audit-share').fill(shareName);
  await page.locator('#audit-recursive').check();
  await page.locator('#audit-type').fill('LeaseBroken');
  await page.locator('#audit-search').click();
  await page.locator('#audit-results tr[data-type="LeaseBroken"]').waitFor();
  const download = page.waitForEvent('download');
  await page.locator('#audit-export').click();
  expect((await download).suggestedFilename()).toBe('audit.ndjson');
  await shot('audit');
});

test('sign in with a SAS URL: the tree and lease states, and the owner-only views say they need the key', async () => {
  const sas = service
    .serviceClient()
    .generateAccountSasUrl(
      new Date(Date.now() + 3600_000),
      AccountSASPermissions.parse('rl'),
      AccountSASResourceTypes.parse('sco').toString(),
    );
  const context = await browser.newContext();
  const tab = await context.newPage();
  try {
    await tab.goto(`${service.url}/_console/`);
    await tab.locator('input[name="mode"][value="sas"]').check();
    await tab.locator('#sas').fill(sas);
    await tab.locator('#sas').press('Enter');
    await tab.locator('#live[data-state="live"]').waitFor();
    await tab.locator(`details[data-share="${shareName}"] > summary`).click();
    await tab.locator('details[data-path="reports"] > summary').click();
    await tab.locator('li.file[data-path="reports/readme.md"] [data-lease="available"]').waitFor();
    await tab.locator('header a[data-route="jobs"]').click();
    await tab.locator('main', { hasText: 'sign in with the account key' }).waitFor();
    // The key never reached the tab's storage: only the SAS URL did.
    expect(await tab.evaluate('JSON.stringify(sessionStorage)')).not.toContain(DEVELOPMENT_KEY);
  } finally {
    await context.close();
  }
});
