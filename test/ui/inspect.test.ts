// Looking inside a snapshot in a real VS Code (code-server in Chromium), issue 16: a snapshot in the
// Snapshots view expands to its processes, a process to Environment, Open files, Sockets and Memory
// maps; Search Memory… from the snapshot's menu shows the hits in a read-only document; Snapshot
// Report opens a webview drawing the process tree. The store holds a real lab archive
// (test/fixtures), so this suite needs no host; it needs snapdebug.vsix (npm run package).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { fixture } from '../unit/helpers';
import { expandRow, screenshot } from './harness';
import { childRow, installTimeoutMs, openSnapshotDebugger, rowMenu, startProduct, stepsBuildOnEachOther, topRow, until, viewTree, type Product } from './product';

const stepTimeoutMs = 90_000;
const snapshotId = 'demo-sleeper-20261130-083519-8ed8';

/** Puts the demo-sleeper archive of the lab in the product's store, as a checkpoint would. */
function storeFixture(storeDir: string): void {
  mkdirSync(storeDir, { recursive: true, mode: 0o700 });
  const archive = `${snapshotId}.tar.zst`;
  copyFileSync(fixture('demo-sleeper-checkpoint.tar.zst'), join(storeDir, archive));
  const meta = {
    id: snapshotId, kind: 'checkpoint', createdAt: '2026-11-30T08:35:19.000Z', source: { host: 'prod', container: 'demo-sleeper', image: 'localhost/snapdebug/node:20' },
    podmanVersion: '5.4.2', criuVersion: '4.2.1', options: { leaveRunning: true }, compression: 'zstd', archive, size: statSync(join(storeDir, archive)).size,
    sha256: '', criu: { freezingTimeUs: 100940, frozenTimeUs: 78544, memdumpTimeUs: 1840, memwriteTimeUs: 277, pagesScanned: 126, pagesSkippedParent: 0, pagesWritten: 94 },
    sourceLeftRunning: true, timings: { checkpointMs: 259, totalMs: 1015 },
  };
  writeFileSync(join(storeDir, `${snapshotId}.json`), JSON.stringify(meta, null, 2), { mode: 0o600 });
}

/** The text of the active editor as drawn now. */
async function editorText(page: Page): Promise<string> {
  const text = await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().textContent();
  return (text ?? '').replace(/\u00a0/g, ' ');
}

describe('Looking inside a snapshot in VS Code (issue 16)', function () {
  this.timeout(stepTimeoutMs);
  let product: Product | undefined;
  let page: Page;

  before(async function () {
    this.timeout(installTimeoutMs);
    product = await startProduct('inspect');
    storeFixture(product.storeDir);
    page = product.page;
  });

  after(async function () {
    this.timeout(stepTimeoutMs);
    await product?.stop();
  });

  stepsBuildOnEachOther(() => ({ page, product }));

  it('expands the snapshot to its processes, and a process to Environment, Open files, Sockets and Memory maps', async () => {
    await openSnapshotDebugger(page, product!.server.url);
    const snapshots = viewTree(page, 'Snapshots');
    await expandRow(await topRow(page, snapshots, 'demo-sleeper'));
    const { row: bashRow, info: bash } = await childRow(page, snapshots, 'demo-sleeper', '[1] bash');
    assert.match(bash.description, /^bash -c trap "exit 0" TERM; while :; do sleep 600 & wait \$!; done · 264\.0 KiB$/);
    await screenshot(page, 'snapshot-processes');
    await expandRow(bashRow);
    for (const group of ['Environment', 'Open files', 'Sockets', 'Memory maps', '[6] sleep']) await childRow(page, snapshots, '[1] bash', group);
    const { row: environmentRow, info: environment } = await childRow(page, snapshots, '[1] bash', 'Environment');
    assert.equal(environment.description, '4 variables, values hidden');
    await expandRow(environmentRow);
    const { info: hostname } = await childRow(page, snapshots, 'Environment', 'HOSTNAME');
    assert.equal(hostname.description, '••••••', 'the value stays hidden');
    await screenshot(page, 'process-environment-hidden');
  });

  it('Search Memory… shows the hits, hex and text, in a read-only document', async () => {
    await rowMenu(page, () => topRow(page, viewTree(page, 'Snapshots'), 'demo-sleeper'), 'Search Memory…');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor();
    await input.fill('sleep 600');
    await screenshot(page, 'search-memory-input');
    await page.keyboard.press('Enter');
    const text = await until('the hits document', async () => {
      const shown = await editorText(page).catch(() => '');
      return /hits? for "sleep 600"/.test(shown) ? shown : undefined;
    });
    // bash keeps its script in its heap and its argv on its stack ("sleep" has "sleep\0600").
    assert.match(text, /^# 5 hits for "sleep 600"/);
    assert.match(text, /process 1 at 0x[0-9a-f]+ in \[heap\]/);
    assert.match(text, /\|sleep 600 & wait\|/, 'the text column shows the match');
    assert.equal(await page.locator('.tabs-container .tab.active').getAttribute('aria-label').then((l) => /memory-demo-sleeper/.test(l ?? '')), true);
    await screenshot(page, 'search-memory-hits');
  });

  it('Snapshot Report opens a webview drawing the process tree, memory per process and CRIU\'s phases', async () => {
    await rowMenu(page, () => topRow(page, viewTree(page, 'Snapshots'), 'demo-sleeper'), 'Snapshot Report');
    await page.locator('.tabs-container .tab.active', { hasText: 'Report: demo-sleeper' }).waitFor();
    const report = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await report.locator('svg[aria-label="process tree"]').waitFor();
    assert.match((await report.locator('svg[aria-label="process tree"]').textContent()) ?? '', /\[6\] sleep 600/);
    assert.match((await report.locator('svg[aria-label="memory per process"]').textContent()) ?? '', /264\.0 KiB/);
    assert.match((await report.locator('svg[aria-label="CRIU phases"]').textContent()) ?? '', /frozen for 79 ms/);
    await screenshot(page, 'snapshot-report');
  });
});
