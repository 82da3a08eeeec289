// The browser console (/_console) end to end: the bundle `npm run build` makes, served by the API,
// in Debian's headless Chromium driven by playwright-core, and one flow in Debian's Firefox ESR
// driven by puppeteer-core over WebDriver BiDi (playwright-core drives only its own patched
// Firefox); a worker (jobs, audit projector, share-lease expiries) in this process; a second client
// through the official SDK in Node. Every wait is on a condition of the page.
// The screenshots in docs/screenshots/ (README "The console") are taken here: with
// LEASEHOLD_SCREENSHOTS=docs they replace those, otherwise they go to a temporary directory, so a
// test run leaves the checkout as it was.
import { AccountSASPermissions, AccountSASResourceTypes, ShareClient } from '@azure/storage-file-share';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Browser, chromium, Page, Request } from 'playwright-core';
import { launch as launchPuppeteer } from 'puppeteer-core';
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
  sendSigned,
  Signer,
  uniqueQueuePrefix,
  wirePath,
} from '../support/jobs';
import { startTestService, TestService, uniqueShare } from '../support/service';

const OWNER: Signer = { account: DEVELOPMENT_ACCOUNT, key: DEVELOPMENT_KEY };
/** Debian's chromium package; `.ci/run` installs it when missing. */
const CHROMIUM = process.env.LEASEHOLD_CHROMIUM ?? '/usr/bin/chromium';
/** Debian's firefox-esr package; `.ci/run` installs it when missing. */
const FIREFOX = process.env.LEASEHOLD_FIREFOX ?? '/usr/bin/firefox-esr';

let database: { url: string; drop(): Promise<void> };
let prefix: string;
let bundle: string;
let service: TestService;
let worker: INestApplicationContext;
let browser: Browser;
let page: Page;
let share: ShareClient;
const shareName = uniqueShare('console');
/** A share whose 15 s lease (the shortest) runs out while the tests run: the worker records the expiry. */
const expiringShare = uniqueShare('console-expiring');
/** Every request of the main page, from sign-in on. */
const requests: Request[] = [];

/** One request as the browser sent it. */
interface SentRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Every request went to the service's own origin (a blob: URL's origin is the page's; a data: URL,
 * such as a font Firefox loads for itself, goes nowhere) and none carried the account key, as is
 * or percent-encoded, in its URL, headers or body.
 */
function expectOwnOriginWithoutKey(sent: SentRequest[]): void {
  const origin = new URL(service.url).origin;
  expect(sent.filter(({ url }) => url.startsWith(`${origin}/`)).length).toBeGreaterThan(0);
  for (const { url, headers, body } of sent) {
    if (!url.startsWith('data:')) expect([url, new URL(url).origin]).toEqual([url, origin]);
    const carried = [url, ...Object.entries(headers).flat(), body].join('\n');
    for (const form of [DEVELOPMENT_KEY, encodeURIComponent(DEVELOPMENT_KEY)])
      expect([url, carried.includes(form)]).toEqual([url, false]);
  }
}

/** What playwright saw go out, with the headers as sent (not only the page-set ones). */
const sentBy = (seen: Request[]): Promise<SentRequest[]> =>
  Promise.all(
    seen.map(async (r) => ({
      url: r.url(),
      headers: await r.allHeaders(),
      body: r.postDataBuffer()?.toString('latin1') ?? '',
    })),
  );

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
    ['reports', 'reports/q3', 'archive'],
    ['reports/q3/ledger.csv', 'reports/q3/summary.txt', 'reports/readme.md', 'archive/draft.txt'],
  );
  const expiring = service.serviceClient().getShareClient(expiringShare);
  await expiring.create();
  await expiring.getShareLeaseClient().acquireLease(15);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  reportProblems(page);
  page.on('request', (request) => requests.push(request));
}, 120_000);

/** What the page itself reports (a script error, a refused request) belongs in the test's output. */
function reportProblems(tab: Page): void {
  tab.on('pageerror', (error) => console.error(`page: ${error.message}`));
  tab.on('response', (response) => {
    if (response.status() >= 400)
      console.error(`page: ${response.request().method()} ${response.url()} ${response.status()}`);
  });
}

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

  // Handles: close one from the page, then all that are left.
  await openHandle(service.url, OWNER, shareName, 'reports/q3/ledger.csv');
  await openHandle(service.url, OWNER, shareName, 'reports/q3/ledger.csv');
  await page.locator('#handle-count', { hasText: '3 open' }).waitFor();
  await shot('file');
  await page.locator('#handles button.close-handle').first().click();
  await page.locator('#handle-count', { hasText: '2 open' }).waitFor();
  await page.locator('#close-all').click();
  await page.locator('#handle-count', { hasText: /^0 open$/ }).waitFor();
  expect(await page.locator('#close-all').count()).toBe(0);
  const left: unknown[] = [];
  for await (const handle of file.listHandles()) left.push(handle);
  expect(left).toEqual([]);

  // A force-close job over the directory: its bar reaches 100 %.
  for (const path of ['reports/q3/ledger.csv', 'reports/q3/summary.txt', 'reports/readme.md', 'reports/readme.md'])
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
  await page.locator('#share-timeline g[data-action="acquired"]').waitFor();
  await shot('share-lease');

  // A share lease that ran out: its timeline marks the expiry the worker recorded, after the acquire.
  await page.goto(`${service.url}/_console/#/share/${expiringShare}`);
  await page.locator('#share-timeline g[data-action="expired"]').waitFor({ timeout: 45_000 });
  await page.locator('#share-lease-state [data-lease="expired"]').waitFor();
  expect(
    await page
      .locator('#share-timeline g[data-action]')
      .evaluateAll((marks) => marks.map((m) => m.getAttribute('data-action'))),
  ).toEqual(['acquired', 'expired']);
  expect(await page.locator('#break-share-lease').count()).toBe(0);

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

  // Everything the page asked for, from its own HTML on, came from the service, and the key stayed in the browser.
  expect(requests.some((r) => r.url().endsWith('/_console'))).toBe(true);
  expectOwnOriginWithoutKey(await sentBy(requests));
}, 120_000);

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

/** Presses Tab until the element `selector` names (one compound selector) has the focus, at most `most` times. */
async function tabTo(tab: Page, selector: string, most = 40): Promise<void> {
  for (let presses = 0; presses < most; presses++) {
    if ((await tab.locator(`${selector}:focus`).count()) > 0) return;
    await tab.keyboard.press('Tab');
  }
  throw new Error(`${most} presses of Tab never reached ${selector}`);
}

test('keyboard only: sign in, Tab and Enter to a renamed leased file, break it; the timeline marks acquire, rename, break', async () => {
  // Another client leases archive/draft.txt and renames it, lease and all (Rename File signed by
  // hand: the JS SDK's rename() names no account on path-style URLs; README "Metadata, ranges, rename and copy").
  const lease = share.rootDirectoryClient.getFileClient('archive/draft.txt').getShareLeaseClient();
  await lease.acquireLease();
  const renamed = await sendSigned(service.url, OWNER, {
    method: 'PUT',
    path: wirePath(DEVELOPMENT_ACCOUNT, shareName, 'archive/final.txt'),
    query: 'comp=rename',
    headers: {
      'x-ms-file-rename-source': `${service.url}${wirePath(DEVELOPMENT_ACCOUNT, shareName, 'archive/draft.txt')}`,
      'x-ms-source-lease-id': lease.leaseId,
    },
  });
  expect(renamed.status).toBe(200);

  const context = await browser.newContext();
  const tab = await context.newPage();
  reportProblems(tab);
  const seen: Request[] = [];
  tab.on('request', (request) => seen.push(request));
  try {
    // Each element is on the page before Tab goes looking for it; only the keyboard moves and acts.
    await tab.goto(`${service.url}/_console`);
    await tab.locator('#account:focus').waitFor();
    await tab.keyboard.type(DEVELOPMENT_ACCOUNT);
    await tabTo(tab, '#key');
    await tab.keyboard.type(DEVELOPMENT_KEY);
    await tab.keyboard.press('Enter');
    await tab.locator('#live[data-state="live"]').waitFor();
    const shareSummary = `details[data-share="${shareName}"] > summary`;
    await tab.locator(shareSummary).waitFor();
    await tabTo(tab, shareSummary);
    await tab.keyboard.press('Enter');
    await tab.locator('details[data-path="archive"] > summary').waitFor();
    await tabTo(tab, 'details[data-path="archive"] > summary');
    await tab.keyboard.press('Enter');
    const row = tab.locator('li.file[data-path="archive/final.txt"]');
    await row.locator('[data-lease="leased"]').waitFor();
    await tabTo(tab, 'li.file[data-path="archive/final.txt"] a');
    await tab.keyboard.press('Enter');
    await tab.locator('#lease-state [data-lease="leased"]').waitFor();
    await tab.locator('#lease-holder', { hasText: lease.leaseId }).waitFor();
    await tabTo(tab, '#break-lease');
    await tab.keyboard.press('Enter');
    await tab.locator('#lease-state [data-lease="broken"]').waitFor();

    // The rename is marked where the first lease entry under the new path is: before the break.
    await tab.locator('#timeline g[data-action="broken"]').waitFor();
    expect(
      await tab.locator('#timeline g[data-action]').evaluateAll((marks) => marks.map((m) => m.dataset.action)),
    ).toEqual(['acquired', 'renamed', 'broken']);
    expect(await tab.locator('#timeline g[data-action="renamed"] title').textContent()).toContain(
      'renamed to archive/final.txt',
    );
    expect((await share.rootDirectoryClient.getFileClient('archive/final.txt').getProperties()).leaseState).toBe(
      'broken',
    );
    // The key was typed into this page: it stayed there.
    expectOwnOriginWithoutKey(await sentBy(seen));
  } finally {
    await context.close();
  }
});

test('Firefox: sign in, browse to a file, see a lease taken elsewhere appear live, break it from the page', async () => {
  const firefox = await launchPuppeteer({ browser: 'firefox', executablePath: FIREFOX, headless: true });
  try {
    const tab = await firefox.newPage();
    await tab.setViewport({ width: 1100, height: 720 });
    tab.on('pageerror', (error) => console.error(`firefox page: ${(error as Error).message}`));
    const seen: SentRequest[] = [];
    // puppeteer's WebDriver BiDi requests give no body (postData() is unsupported there); this
    // flow's requests carry none, and the Chromium tests check bodies.
    tab.on('request', (r) => seen.push({ url: r.url(), headers: r.headers(), body: '' }));

    await tab.goto(`${service.url}/_console`);
    await tab.locator('#account').fill(DEVELOPMENT_ACCOUNT);
    await tab.locator('#key').fill(DEVELOPMENT_KEY);
    await tab.locator('#sign-in button[type="submit"]').click();
    await tab.waitForSelector('#live[data-state="live"]');

    await tab.locator(`details[data-share="${shareName}"] > summary`).click();
    await tab.locator('details[data-path="reports"] > summary').click();
    await tab.locator('details[data-path="reports/q3"] > summary').click();
    await tab.waitForSelector('li.file[data-path="reports/q3/summary.txt"] [data-lease="available"]');
    await tab.locator('li.file[data-path="reports/q3/summary.txt"] a').click();
    await tab.waitForSelector('#lease-state [data-lease="available"]');

    // Another client takes the lease: the page shows it without a reload.
    const file = share.rootDirectoryClient.getFileClient('reports/q3/summary.txt');
    const lease = file.getShareLeaseClient();
    await lease.acquireLease();
    await tab.waitForSelector('#lease-state [data-lease="leased"]');
    await tab.waitForSelector(`#lease-holder ::-p-text(${lease.leaseId})`);

    await tab.locator('#break-lease').click();
    await tab.waitForSelector('#lease-state [data-lease="broken"]');
    await tab.waitForSelector('#timeline g[data-action="broken"]');
    expect((await file.getProperties()).leaseState).toBe('broken');
    expectOwnOriginWithoutKey(seen);
  } finally {
    await firefox.close();
  }
});
