// The runtime commands in a real VS Code (code-server in Chromium) against the lab (issue 17): a
// Node.js copy's menu in the Copies view offers Save Heap Snapshot and Record CPU Profile…, a
// Java copy's offers the thread and heap dumps instead; Save Heap Snapshot saves the file beside
// the snapshot and opens it in VS Code's heap snapshot viewer, and the Snapshots view lists it.
// Needs the lab (npm run lab:up) and snapdebug.vsix (npm run package): `node scripts/test.mjs ui`.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { snapshotAndDebug } from '../../src/core/debug/session';
import { labCore } from '../lab/helpers';
import { expandRow, openViewContainer, openWorkbench, screenshot, treeRow, waitForNotification } from './harness';
import { childRow, installTimeoutMs, removeCopiesOf, rowMenu, startProduct, stepsBuildOnEachOther, topRow, until, viewTree, type Product } from './product';

const stepTimeoutMs = 90_000;

/** The labels of a row's context menu (opened with a right-click, closed with Escape). */
async function menuLabels(page: Page, findRow: () => Promise<Locator>): Promise<string[]> {
  return until('a context menu', async () => {
    await (await findRow()).click({ button: 'right' });
    const menu = page.locator('.context-view .monaco-menu');
    try {
      await menu.waitFor({ timeout: 5_000 });
    } catch {
      await page.keyboard.press('Escape');
      return undefined;
    }
    const labels = (await page.locator('.context-view .action-label').allTextContents()).map((l) => l.trim()).filter(Boolean);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    return labels;
  });
}

describe('Go, Java and Node.js commands in VS Code (issue 17)', function () {
  this.timeout(stepTimeoutMs);
  let product: Product | undefined;
  let page: Page;
  const copies: { node: string; java: string; snapshot: string } = { node: '', java: '', snapshot: '' };

  before(async function () {
    this.timeout(installTimeoutMs);
    product = await startProduct('runtimes');
    page = product.page;
    // The copies are made through the core, on the product's own store: this suite is about the
    // commands on them, Snapshot & Debug itself has its own UI test.
    const core = labCore({ storeDir: product.storeDir });
    try {
      const node = await snapshotAndDebug(core, { host: 'prod', container: 'demo-api', to: 'debug', copyOnly: true });
      await node.close();
      const java = await snapshotAndDebug(core, { host: 'prod', container: 'demo-java-noagent', to: 'debug', copyOnly: true });
      await java.close();
      Object.assign(copies, { node: node.copy.name, java: java.copy.name, snapshot: node.snapshot.id });
    } finally {
      core.cleanup();
    }
  });

  after(async function () {
    this.timeout(stepTimeoutMs);
    try {
      if (product) await removeCopiesOf(product.storeDir);
    } finally {
      await product?.stop();
    }
  });

  stepsBuildOnEachOther(() => ({ page, product }));

  it('offers Save Heap Snapshot and Record CPU Profile… on a Node.js copy, the dumps on a Java copy', async () => {
    await openWorkbench(page, product!.server.url);
    await openViewContainer(page, 'Snapshot Debugger');
    const copiesTree = viewTree(page, 'Copies');
    const nodeMenu = await menuLabels(page, async () => (await childRow(page, copiesTree, 'debug', copies.node)).row);
    for (const label of ['Attach Debugger', 'Save Heap Snapshot', 'Record CPU Profile…']) assert.ok(nodeMenu.includes(label), `${label} in ${nodeMenu.join(', ')}`);
    for (const label of ['Save Thread Dump', 'Save Heap Dump']) assert.ok(!nodeMenu.includes(label), `no ${label} on a Node.js copy`);
    const javaMenu = await menuLabels(page, async () => (await childRow(page, copiesTree, 'debug', copies.java)).row);
    for (const label of ['Save Thread Dump', 'Save Heap Dump']) assert.ok(javaMenu.includes(label), `${label} in ${javaMenu.join(', ')}`);
    for (const label of ['Save Heap Snapshot', 'Record CPU Profile…']) assert.ok(!javaMenu.includes(label), `no ${label} on a Java copy`);
    await screenshot(page, 'runtime-commands');
  });

  it('Save Heap Snapshot saves the file beside the snapshot and opens it in the heap snapshot viewer', async function () {
    this.timeout(2 * stepTimeoutMs);
    await rowMenu(page, async () => (await childRow(page, viewTree(page, 'Copies'), 'debug', copies.node)).row, 'Save Heap Snapshot');
    await waitForNotification(page, `Heap snapshot of debug/${copies.node}`).catch(() => undefined); // may be done before it shows
    const tab = page.locator('.editor-group-container .tab.active', { hasText: /\.heapsnapshot$/ });
    await tab.waitFor({ timeout: 60_000 });
    const saved = readdirSync(join(product!.storeDir, `${copies.snapshot}.d`)).filter((f) => f.endsWith('.heapsnapshot'));
    assert.equal(saved.length, 1);
    assert.equal((await tab.textContent())?.trim(), saved[0]);
    // The js-profile-table viewer (a custom editor: a webview, in frames of its own) rather than text.
    await until('the heap snapshot viewer', async () => {
      for (const frame of page.frames()) if ((await frame.getByText('Retained Size').count().catch(() => 0)) > 0) return true;
      return undefined;
    });
    assert.equal(await page.locator('.editor-group-container .editor-instance .monaco-editor').count(), 0, 'not opened as text');
    await screenshot(page, 'heap-snapshot-opened');

    const snapshotRow = await topRow(page, viewTree(page, 'Snapshots'), 'demo-api');
    await expandRow(snapshotRow);
    // The tree draws only the rows in view: focus a row of the snapshot, then End brings its last
    // child (the file just saved, after the metadata) into view.
    const detail = treeRow(page, 'taken', viewTree(page, 'Snapshots'));
    await detail.click();
    await page.keyboard.press('End');
    const listed = treeRow(page, 'heap snapshot', viewTree(page, 'Snapshots'));
    await listed.waitFor();
    assert.match((await listed.locator('.label-description').textContent()) ?? '', new RegExp(`^${copies.node} · `));
    await screenshot(page, 'heap-snapshot-in-tree');
  });
});
