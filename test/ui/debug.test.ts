// Snapshot & Debug in a real VS Code (code-server in Chromium) against the lab (issue 5): with a
// breakpoint in lab/demo-api/server.js, Snapshot & Debug on prod's demo-api restores a copy on
// debug and attaches js-debug to it; a request to the copy stops at the breakpoint while prod's
// demo-api keeps answering; continuing lets the request finish; the Copies view shows the copy
// fenced, and it is discarded after.
// Needs the lab (npm run lab:up) and snapdebug.vsix (npm run package): `node scripts/test.mjs ui`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../../lab/paths';
import { demoFolder } from '../../scripts/startProduct';
import { containerIp, demoState, labSsh } from '../lab/helpers';
import { answerDialog, openViewContainer, openWorkbench, quickPick, runCommand, screenshot, waitForNotification } from './harness';
import { childRow, installTimeoutMs, removeCopiesOf, rowMenu, startProduct, storedSnapshotIds, stepsBuildOnEachOther, until, viewTree, type Product } from './product';

const stepTimeoutMs = 90_000;
const breakpointText = "if (req.url === '/state') {";
const breakpointLine = readFileSync(join(demoFolder, 'server.js'), 'utf8').split('\n').findIndex((line) => line.includes(breakpointText)) + 1;

describe('Snapshot & Debug in VS Code (issue 5)', function () {
  this.timeout(stepTimeoutMs);
  let product: Product | undefined;
  let page: Page;
  let copy = '';
  let request: Promise<string> | undefined;

  before(async function () {
    this.timeout(installTimeoutMs);
    assert.ok(breakpointLine > 0, `no line "${breakpointText}" in server.js`);
    product = await startProduct('debug', {
      // The cached code-server lacks its built-in TypeScript (lib/vscode/extensions is never npm-installed):
      // opening server.js would pop "tsserver was deleted" over the screenshots. Lend it the project's.
      'typescript.tsdk': join(repoRoot, 'node_modules', 'typescript', 'lib'),
    });
    page = product.page;
  });

  after(async function () {
    this.timeout(stepTimeoutMs);
    try {
      if (product) {
        const removed = await removeCopiesOf(product.storeDir);
        if (removed.length > 0) console.log(`      removed the copies this test left: ${removed.join(', ')}`);
      }
      await request?.catch(() => undefined); // its copy is gone now, or --max-time ends it
    } finally {
      await product?.stop();
    }
  });

  stepsBuildOnEachOther(() => ({ page, product }));

  it(`sets a breakpoint in server.js on line ${breakpointLine}`, async () => {
    await openWorkbench(page, product!.server.url);
    await runCommand(page, 'Go to File...');
    await quickPick(page, 'server.js', { typeToFilter: true });
    const editor = page.locator('.editor-group-container .editor-instance').first();
    await page.locator('.editor-group-container .tab.active', { hasText: 'server.js' }).waitFor();
    await editor.locator('.view-lines', { hasText: 'demo-api' }).waitFor();
    await runCommand(page, 'Go to Line/Column...');
    await page.keyboard.type(String(breakpointLine));
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await page.keyboard.press('F9');
    // The glyph margin draws one breakpoint, next to the line number of that line.
    const breakpoint = editor.locator('.margin .codicon-debug-breakpoint');
    await breakpoint.waitFor();
    assert.equal(await breakpoint.count(), 1);
    const lineNumber = editor.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${breakpointLine}$`) });
    const [glyphBox, numberBox] = [await breakpoint.boundingBox(), await lineNumber.boundingBox()];
    assert.ok(glyphBox && numberBox && Math.abs(glyphBox.y - numberBox.y) < numberBox.height / 2, 'the breakpoint is not on the /state line');
    await screenshot(page, 'breakpoint-set');
  });

  it('runs Snapshot & Debug on prod/demo-api: a copy on debug with the debugger attached', async function () {
    this.timeout(2 * stepTimeoutMs);
    await openViewContainer(page, 'Snapshot Debugger');
    await rowMenu(page, async () => (await childRow(page, viewTree(page, 'Hosts'), 'prod', 'demo-api')).row, 'Snapshot & Debug');
    // defaultDebugHost is debug: no host question, straight to the progress notification.
    await waitForNotification(page, 'Snapshot & Debug prod/demo-api');
    await screenshot(page, 'snapshot-and-debug-progress');

    // The debug toolbar, or the error notification of a failed Snapshot & Debug (no need to wait a minute then).
    const failure = page.locator('.notifications-toasts .notification-toast').filter({ has: page.locator('.codicon-error') });
    await page.locator('.debug-toolbar').or(failure).first().waitFor({ timeout: 60_000 });
    if (await failure.count()) throw new Error(`Snapshot & Debug failed: ${await failure.first().locator('.notification-list-item-message').textContent()}`);
    await openViewContainer(page, 'Run and Debug');
    // js-debug shows its attach session by its child's name: "Remote Process [0] « demo-api-snap-HHMMSS-RANDOM on debug".
    const sessionName = /(demo-api-snap-\d{6}-[0-9a-f]{6}) on debug/;
    const session = page.locator('.debug-call-stack .monaco-list-row', { hasText: sessionName }).first();
    await session.waitFor({ timeout: 30_000 });
    copy = sessionName.exec((await session.textContent()) ?? '')![1]!;
    const onDebug = (await labSsh('debug', "podman ps --format '{{.Names}}'")).split('\n').map((n) => n.trim());
    assert.ok(onDebug.includes(copy), `${copy} is not running on debug (${onDebug.join(', ')})`);
    await screenshot(page, 'debugger-attached');
    // The archive went host to host (prod → debug); the store receives the snapshot afterwards,
    // from prod, while the debugger is attached: the copy's snapshot appears there, verified.
    const snapshotId = (await labSsh('debug', `podman inspect --format '{{index .Config.Labels "snapdebug.origin"}}' ${copy}`)).trim();
    await until(`${snapshotId} in the store`, async () => (storedSnapshotIds(product!.storeDir).includes(snapshotId) ? true : undefined), 60_000);
    const stored = JSON.parse(readFileSync(join(product!.storeDir, `${snapshotId}.json`), 'utf8')) as { source: { host: string; container: string }; sha256: string };
    assert.deepEqual([stored.source.host, stored.source.container], ['prod', 'demo-api']);
    assert.match(stored.sha256, /^[0-9a-f]{64}$/);
  });

  it("stops at the breakpoint on a request to the copy, while prod's demo-api keeps answering", async function () {
    this.timeout(2 * stepTimeoutMs);
    const ip = await containerIp('debug', copy);
    // Hangs while the copy is paused: not awaited here.
    request = labSsh('debug', `curl -s --max-time 60 http://${ip}:8080/state`, { timeoutMs: 90_000 });
    request.catch(() => undefined);

    const paused = page.locator('.debug-call-stack .state.label', { hasText: /paused on breakpoint/i }).first();
    await paused.waitFor({ timeout: 30_000 });
    const editor = page.locator('.editor-group-container .editor-instance').first();
    await page.locator('.editor-group-container .tab.active', { hasText: 'server.js' }).waitFor();
    // The paused line: the top stack frame's decoration, on the breakpoint's line.
    const frame = editor.locator('.margin .codicon-debug-breakpoint-stackframe, .margin .codicon-debug-stackframe').first();
    await frame.waitFor();
    const lineNumber = editor.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${breakpointLine}$`) });
    const [frameBox, numberBox] = [await frame.boundingBox(), await lineNumber.boundingBox()];
    assert.ok(frameBox && numberBox && Math.abs(frameBox.y - numberBox.y) < numberBox.height / 2, 'paused elsewhere than the /state line');
    await screenshot(page, 'paused-on-breakpoint');

    // Production never paused: its demo-api answers while the copy sits at the breakpoint.
    const prod = await demoState('prod', 'demo-api');
    assert.ok(prod.requestCount > 0);
    assert.equal(await paused.count(), 1, 'the copy resumed before production was asked');
  });

  it('continues (F5): the request to the copy completes', async () => {
    await page.locator('.editor-group-container .editor-instance').first().click({ position: { x: 400, y: 10 } });
    await page.keyboard.press('F5');
    const state = JSON.parse(await request!) as { requestCount: number; recentRequests: Record<string, { path: string }> };
    assert.ok(Object.values(state.recentRequests).some((r) => r.path === '/state'));
    await page.locator('.debug-call-stack .state.label', { hasText: /paused/i }).waitFor({ state: 'detached' });
    await screenshot(page, 'continued');
  });

  it('stops debugging (Shift+F5) and discards the copy', async () => {
    await page.keyboard.press('Shift+F5');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
    await screenshot(page, 'debugging-stopped');

    await openViewContainer(page, 'Snapshot Debugger');
    // Snapshot & Debug fenced the copy: its row says so.
    const { info } = await childRow(page, viewTree(page, 'Copies'), 'debug', copy);
    assert.match(info.description, /^running · fenced · from demo-api-\d{8}-\d{6}-[0-9a-f]{4} · restored .+$/);
    await rowMenu(page, async () => (await childRow(page, viewTree(page, 'Copies'), 'debug', copy)).row, 'Discard Copy');
    await page.locator('.monaco-dialog-box', { hasText: `Discard copy ${copy} on debug?` }).waitFor();
    await screenshot(page, 'discard-copy');
    await answerDialog(page, `Discard copy ${copy} on debug?`, 'Discard');
    await until(`${copy} gone from debug`, async () => {
      const names = (await labSsh('debug', "podman ps -a --format '{{.Names}}'")).split('\n').map((n) => n.trim());
      return names.includes(copy) ? undefined : true;
    });
    await screenshot(page, 'copy-discarded');
  });
});
