// `npm start` end to end (issue 6), through the very functions it runs: prepare() packages the
// extension, checks the lab is up (bringing it up if not), installs code-server and the .vsix into
// .lab/vscode; serve() serves lab/demo-api with the lab's settings. Chromium then finds the
// workbench with the Snapshot Debugger's Hosts view listing prod (with demo-api) and debug, and
// prod-sudo (reached as dev, through sudo) with demo-api.
// Needs root and the lab's prerequisites, like npm start: `node scripts/test.mjs ui`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { freePort, type CodeServer } from '../../scripts/codeServer';
import { prepare, serve } from '../../scripts/startProduct';
import { launchBrowser, newPage, openViewContainer, screenshot } from './harness';
import { childRow, installTimeoutMs, recordFailure, topRow, viewTree } from './product';

const stepTimeoutMs = 90_000;

describe('npm start: the product in one command (issue 6)', function () {
  this.timeout(stepTimeoutMs);
  let home: string | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async function () {
    this.timeout(installTimeoutMs);
    const prepared = await prepare();
    // npm start's own user-data folder (.lab/vscode/user-data) may belong to an `npm start` running
    // now: this test keeps its window state apart. Everything else is exactly what npm start serves.
    home = mkdtempSync(join(tmpdir(), 'snapdebug-ui-start-'));
    server = await serve(await freePort(), { ...prepared, userDataDir: join(home, 'user-data') });
    browser = await launchBrowser();
    page = await newPage(browser);
  });

  after(async function () {
    this.timeout(stepTimeoutMs);
    try {
      await browser?.close();
      await server?.stop();
    } finally {
      if (home) rmSync(home, { recursive: true, force: true });
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) await recordFailure(page, this.currentTest.title, home && join(home, 'user-data'));
  });

  it('serves VS Code with lab/demo-api open', async () => {
    await page.goto(server!.url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    assert.match(await page.title(), /demo-api/);
    await screenshot(page, 'start-workbench');
  });

  it('lists prod (with demo-api) and debug under Hosts', async () => {
    await openViewContainer(page, 'Snapshot Debugger');
    const hosts = viewTree(page, 'Hosts');
    await topRow(page, hosts, 'prod');
    await topRow(page, hosts, 'debug');
    await childRow(page, hosts, 'prod', 'demo-api');
    await screenshot(page, 'start-hosts');
  });

  it('lists demo-api under prod-sudo too: the lab logs in there as dev, and npm start sets sudo for it', async () => {
    const hosts = viewTree(page, 'Hosts');
    await childRow(page, hosts, 'prod-sudo', 'demo-api');
  });
});
