// The packaged extension in a code-server of its own, for the UI tests: a temporary home with a
// fresh user-data and extensions folder, snapdebug.vsix installed, the lab's settings with an
// empty snapshot store, lab/demo-api as the workspace, and Chromium on it. Plus the helpers the
// tests share for reading the Snapshot Debugger views.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { ensureCodeServer, freePort, installExtension, startCodeServer, type CodeServer } from '../../scripts/codeServer';
import { demoFolder, labSettings, vsixPath } from '../../scripts/startProduct';
import { discardCopy, listCopies } from '../../src/core';
import { labCore } from '../lab/helpers';
import { launchBrowser, newPage, openViewContainer, openWorkbench, screenshot } from './harness';

export const installTimeoutMs = 5 * 60_000;
/** Half a view per wheel step: enough for hundreds of rows. */
const maxWheelSteps = 200;
/** How long a context menu may take to open before the right-click is tried again. */
const menuTimeoutMs = 5_000;
/** Lines of the extension's log a failure prints. */
const logTailLines = 40;

export interface Product {
  home: string;
  userDataDir: string;
  storeDir: string;
  server: CodeServer;
  browser: Browser;
  page: Page;
  stop(): Promise<void>;
}

/** Installs snapdebug.vsix (built by `npm run package`) into a fresh code-server and opens it in Chromium. */
export async function startProduct(name: string, settings: Record<string, unknown> = {}, folder = demoFolder): Promise<Product> {
  const { entry } = await ensureCodeServer((line) => console.log(`      ${line}`));
  const home = mkdtempSync(join(tmpdir(), `snapdebug-ui-${name}-`));
  const storeDir = join(home, 'snapshots');
  const extensionsDir = join(home, 'extensions');
  const userDataDir = join(home, 'user-data');
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    try {
      await browser?.close();
    } finally {
      try {
        await server?.stop();
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  };
  try {
    await installExtension(entry, vsixPath, extensionsDir);
    server = await startCodeServer({
      entry,
      port: await freePort(),
      extensionsDir,
      userDataDir,
      folder,
      settings: { ...labSettings(), 'snapdebug.snapshotDirectory': storeDir, ...settings },
    });
    browser = await launchBrowser();
    const page = await newPage(browser);
    return { home, userDataDir, storeDir, server, browser, page, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Opens the workbench and the Snapshot Debugger view container. */
export async function openSnapshotDebugger(page: Page, url: string): Promise<void> {
  await openWorkbench(page, url);
  await openViewContainer(page, 'Snapshot Debugger');
}

/** The tree of view `title` ("Hosts", "Snapshots", "Copies") in the open view container. */
export function viewTree(page: Page, title: string): Locator {
  return page.locator(`.part.sidebar .monaco-list[role="tree"][aria-label="${title}"]`);
}

export interface RowInfo {
  index: number;
  level: number;
  label: string;
  description: string;
  expanded: string | null;
}

/** The rows the tree renders now (only those in view: the list is virtual), in order. */
export async function renderedRows(tree: Locator): Promise<RowInfo[]> {
  const found = await tree.locator('.monaco-list-row').evaluateAll((elements) =>
    elements.map((element) => ({
      index: Number(element.getAttribute('data-index')),
      level: Number(element.getAttribute('aria-level')),
      label: element.querySelector('.label-name')?.textContent?.trim() ?? '',
      description: element.querySelector('.label-description')?.textContent?.trim() ?? '',
      expanded: element.getAttribute('aria-expanded'),
    })),
  );
  return found.sort((a, b) => a.index - b.index);
}

/** The children (one level down) of the first row labelled `parent` among `all`. */
export function childrenIn(all: RowInfo[], parent: string): RowInfo[] {
  const at = all.findIndex((r) => r.label === parent);
  if (at < 0) return [];
  const level = all[at]!.level;
  const children: RowInfo[] = [];
  for (const row of all.slice(at + 1)) {
    if (row.level <= level) break;
    if (row.level === level + 1) children.push(row);
  }
  return children;
}

/** Polls `probe` until it returns something other than undefined; no fixed sleeps, a deadline. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

/** Two animation frames: what a scroll needs to be drawn. */
function nextFrames(page: Page): Promise<void> {
  type Raf = { requestAnimationFrame(callback: () => void): void };
  return page.evaluate(() => new Promise<void>((done) => (globalThis as unknown as Raf).requestAnimationFrame(() => (globalThis as unknown as Raf).requestAnimationFrame(() => done()))));
}

/** A whole-text match for `text`. */
function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

/** The wheel needs the mouse over the list; a row's hover would then cover others in screenshots. */
async function moveMouseAway(page: Page): Promise<void> {
  const size = page.viewportSize();
  if (size) await page.mouse.move(size.width - 5, size.height / 2);
}

/** A rendered row, by its place in the list and its label (a refresh that moved it makes this match nothing). */
function rowLocator(page: Page, tree: Locator, row: RowInfo): Locator {
  return tree
    .locator(`.monaco-list-row[data-index="${row.index}"][aria-level="${row.level}"]`)
    .filter({ has: page.locator('.label-name', { hasText: exactly(row.label) }) });
}

/**
 * Scrolls the list to its top with the mouse wheel, until the first row is drawn. Chromium turns
 * one wheel event into a few rows whatever its delta, and a view still settling eats some: one
 * big wheel is not enough once a long list is scrolled down.
 */
async function wheelToTop(page: Page, tree: Locator, box: { x: number; y: number; width: number; height: number }): Promise<boolean> {
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let step = 0; step < maxWheelSteps; step++) {
    if ((await renderedRows(tree)).some((r) => r.index === 0)) return true;
    await page.mouse.wheel(0, -box.height * 4);
    await nextFrames(page);
  }
  return false;
}

/** Every row of the tree (the list is virtual: read while wheeling from its top to its end). */
export async function allRows(page: Page, tree: Locator): Promise<RowInfo[] | undefined> {
  await tree.waitFor();
  const box = await tree.boundingBox();
  if (!box || !(await wheelToTop(page, tree, box))) return undefined;
  const seen = new Map<number, RowInfo>();
  let still = 0;
  // The end is where two wheels in a row draw nothing new (one may be eaten).
  for (let step = 0; step < maxWheelSteps && still < 2; step++) {
    const before = seen.size;
    for (const row of await renderedRows(tree)) seen.set(row.index, row);
    still = seen.size === before ? still + 1 : 0;
    await page.mouse.wheel(0, box.height / 2);
    await nextFrames(page);
  }
  await moveMouseAway(page);
  return [...seen.values()].sort((a, b) => a.index - b.index);
}

/**
 * The row directly under the row labelled `parent` that `match` accepts, scrolled into view. The
 * views list every container and copy of a host (another test's too), more than fit: the list is
 * scrolled from its top with the mouse wheel until the row is drawn, retried until the deadline
 * while the tree loads or refreshes.
 */
export async function childRow(page: Page, tree: Locator, parent: string, match: string | ((row: RowInfo) => boolean), timeoutMs = 30_000): Promise<{ row: Locator; info: RowInfo }> {
  const accept = typeof match === 'string' ? (r: RowInfo) => r.label === match : match;
  const found = await until(`a row ${typeof match === 'string' ? match : 'matching'} under ${parent}`, async () => {
    await tree.waitFor();
    const box = await tree.boundingBox();
    if (!box) return undefined;
    if (!(await wheelToTop(page, tree, box))) return undefined;
    const seen = new Map<number, RowInfo>();
    let still = 0;
    for (let step = 0; step < maxWheelSteps; step++) {
      const now = await renderedRows(tree);
      for (const row of now) seen.set(row.index, row);
      const all = [...seen.values()].sort((a, b) => a.index - b.index);
      const hit = childrenIn(all, parent).find(accept);
      if (hit && now.some((r) => r.index === hit.index)) {
        const row = rowLocator(page, tree, hit);
        const rowBox = await row.boundingBox();
        // Drawn rows include one just below the view: wheel on until it is inside.
        if (rowBox && rowBox.y >= box.y - 1 && rowBox.y + rowBox.height <= box.y + box.height + 1) {
          await moveMouseAway(page);
          return { row, info: hit };
        }
      }
      const before = Math.max(...seen.keys());
      await page.mouse.wheel(0, box.height / 2);
      await nextFrames(page);
      const after = Math.max(...(await renderedRows(tree)).map((r) => r.index), before);
      still = after === before && !(hit && now.some((r) => r.index === hit.index)) ? still + 1 : 0;
      if (still === 2) return undefined; // the end (two wheels drew nothing new: one may be eaten), not found
    }
    return undefined;
  }, timeoutMs);
  return found;
}

/** The first-level row labelled `label` (a host), scrolled into view. */
export async function topRow(page: Page, tree: Locator, label: string, timeoutMs = 30_000): Promise<Locator> {
  return until(`a top-level row ${label}`, async () => {
    const box = await tree.boundingBox();
    if (!box) return undefined;
    if (!(await wheelToTop(page, tree, box))) return undefined;
    let still = 0;
    for (let step = 0; step < maxWheelSteps && still < 2; step++) {
      const now = await renderedRows(tree);
      const hit = now.find((r) => r.level === 1 && r.label === label);
      if (hit) {
        await moveMouseAway(page);
        return rowLocator(page, tree, hit);
      }
      const before = Math.max(-1, ...now.map((r) => r.index));
      await page.mouse.wheel(0, box.height / 2);
      await nextFrames(page);
      // The end is where two wheels in a row draw nothing new (one may be eaten).
      still = Math.max(-1, ...(await renderedRows(tree)).map((r) => r.index)) === before ? still + 1 : 0;
    }
    return undefined;
  }, timeoutMs);
}

/** The ids of the snapshots in a test's own store (each test starts with an empty one). */
export function storedSnapshotIds(storeDir: string): string[] {
  return existsSync(storeDir) ? readdirSync(storeDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)) : [];
}

/**
 * Removes the copies restored from this test's snapshots: containers on the lab hosts whose
 * snapdebug.origin label names a snapshot of the test's private store, so never another test's
 * copy nor production. They go the way the product discards a copy (discardCopy: the container,
 * its own volumes, the folder kept for its CRIU options), so nothing of them stays on a host.
 * Returns the names removed.
 */
export async function removeCopiesOf(storeDir: string, hosts: string[] = ['debug', 'prod']): Promise<string[]> {
  const ids = new Set(storedSnapshotIds(storeDir));
  const removed: string[] = [];
  const core = labCore();
  try {
    for (const host of hosts) {
      for (const copy of await listCopies(core, host)) {
        if (!ids.has(copy.snapshot)) continue;
        await discardCopy(core, host, copy.name);
        removed.push(`${host}/${copy.name}`);
      }
    }
  } finally {
    core.cleanup();
  }
  return removed;
}

/**
 * Right-clicks the row `findRow` returns and runs `itemLabel` from its context menu (hover, then
 * Enter: clicking a menu item does not run it in code-server). A periodic refresh can redraw the
 * row under the click and no menu opens: the row is found again and right-clicked anew.
 */
export async function rowMenu(page: Page, findRow: () => Promise<Locator>, itemLabel: string, timeoutMs = 30_000): Promise<void> {
  const item = page.locator('.context-view .action-label').filter({ hasText: exactly(itemLabel) }).first();
  await until(`"${itemLabel}" in a context menu`, async () => {
    const row = await findRow();
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ timeout: menuTimeoutMs });
    } catch {
      console.log(`      no "${itemLabel}" ${menuTimeoutMs} ms after the right-click: right-clicking again`);
      await page.keyboard.press('Escape');
      return undefined;
    }
    // The menu acts on the row that was under the pointer, which VS Code focuses. A refresh can
    // move rows between finding one and clicking it: then the menu belongs to another row. (The
    // row is not looked for again: the open menu takes the wheel a search would scroll with.)
    if (await row.evaluate((element) => element.classList.contains('focused'), undefined, { timeout: 1_000 }).catch(() => false)) return true;
    console.log(`      the context menu opened on another row (the tree moved): right-clicking again`);
    await page.keyboard.press('Escape');
    return undefined;
  }, timeoutMs, 0);
  await item.hover();
  await item.locator('xpath=ancestor::*[contains(@class,"action-item")][1]').and(page.locator('.focused')).waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.context-view .monaco-menu').waitFor({ state: 'detached' });
}

/**
 * For a suite whose steps build on each other: after a failure the rest would only fail for that
 * reason, so they are skipped (the failure already fails the run), and the failure is recorded.
 */
export function stepsBuildOnEachOther(current: () => { page: Page | undefined; product: Product | undefined }): void {
  let failed = false;
  beforeEach(function () {
    if (failed) this.skip();
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    failed = true;
    const { page, product } = current();
    if (page && product) await recordFailure(page, this.currentTest.title, product.userDataDir);
  });
}

/** What a failed step leaves for the reader: a screenshot, and the notifications' text in the test output. */
export async function recordFailure(page: Page, title: string, userDataDir?: string): Promise<void> {
  await screenshot(page, `failed-${title}`);
  const messages = await page.locator('.notifications-toasts .notification-list-item-message').allTextContents().catch(() => []);
  for (const message of messages) console.log(`      notification: ${message}`);
  // The extension's log channel, as VS Code writes it to disk: the podman commands and the error's detail.
  const logs = userDataDir && existsSync(join(userDataDir, 'logs')) ? readdirSync(join(userDataDir, 'logs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('Snapshot Debugger.log')) : [];
  for (const log of logs) {
    const lines = readFileSync(join(userDataDir!, 'logs', log), 'utf8').trimEnd().split('\n');
    console.log(`      last lines of ${log}:\n${lines.slice(-logTailLines).map((l) => `        ${l}`).join('\n')}`);
  }
}
