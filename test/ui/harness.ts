// Drives the VS Code workbench served by code-server in Debian's Chromium (playwright-core), for the
// UI tests. Every helper waits on a locator or condition, never a fixed sleep.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

export const resultsDir = resolve(import.meta.dirname, '..', '..', 'test-results', 'ui');
const workbenchTimeoutMs = 60_000;

/** Headless Chromium that talks to nothing but the pages it is sent to. */
export async function launchBrowser(): Promise<Browser> {
  // Even with Playwright's throwaway profile, Chromium creates ~/.config/chromium/Crash Reports:
  // point its XDG folders at a temporary home, removed when the browser goes.
  const home = mkdtempSync(join(tmpdir(), 'snapdebug-chromium-'));
  const env: Record<string, string> = { XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') };
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !(key in env)) env[key] = value;
  try {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      env,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--no-first-run', '--disable-quic'],
    });
    browser.on('disconnected', () => rmSync(home, { recursive: true, force: true }));
    return browser;
  } catch (error) {
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

/** A page big enough for the workbench to show side bar, editor and panel in screenshots. */
export function newPage(browser: Browser): Promise<Page> {
  return browser.newPage({ viewport: { width: 1400, height: 900 } });
}

/** Loads the workbench and waits until its frame and activity bar are drawn. */
export async function openWorkbench(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: workbenchTimeoutMs });
  await page.locator('.activitybar').waitFor({ timeout: workbenchTimeoutMs });
}

/** The page's window, as seen by a page function (tsconfig has no DOM lib: this project runs in Node). */
type BrowserWindow = { getComputedStyle(element: unknown): { opacity: string } };

/** An exact, whole-text match for a string; a RegExp is used as it is. */
function exactly(text: string | RegExp): RegExp {
  return typeof text === 'string' ? new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) : text;
}

/** Opens the activity bar's view container titled `title` (e.g. "Explorer") unless it is open already. */
export async function openViewContainer(page: Page, title: string): Promise<void> {
  // The item's aria-label carries the keybinding too ("Explorer (Ctrl+Shift+E)"): match its start.
  // (Its badge repeats the aria-label, hence .action-label.)
  const label = `> .action-label[aria-label^="${title}"]`;
  const item = page.locator(`.activitybar .action-item:has(${label})`).first();
  await item.waitFor();
  // A second click on the checked item would close the side bar again.
  if ((await item.getAttribute('class'))?.split(' ').includes('checked') !== true) await item.locator(label).click();
  await page.locator(`.activitybar .action-item.checked:has(${label})`).waitFor();
  await page.locator('.part.sidebar').waitFor();
}

/** A tree or list row whose label is exactly `label` (or matches it), optionally inside `scope`. */
export function treeRow(page: Page, label: string | RegExp, scope?: Locator): Locator {
  const root = scope ?? page.locator('.monaco-workbench');
  return root.locator('.monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exactly(label) }) }).first();
}

/** Expands a collapsed tree row and waits until it reports itself expanded. */
export async function expandRow(row: Locator): Promise<void> {
  await row.waitFor();
  if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
  await row.and(row.page().locator('[aria-expanded="true"]')).waitFor();
}

/** Right-clicks `row` and runs `itemLabel` from its context menu. */
export async function contextMenu(page: Page, row: Locator, itemLabel: string | RegExp): Promise<void> {
  await row.click({ button: 'right' });
  const item = page.locator('.context-view .action-label').filter({ hasText: exactly(itemLabel) }).first();
  // A click on the item did not run the command in code-server; hovering to focus it and pressing Enter does.
  await item.hover();
  await item.locator('xpath=ancestor::*[contains(@class,"action-item")][1]').and(page.locator('.focused')).waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.context-view .monaco-menu').waitFor({ state: 'detached' });
}

const quickInput = (page: Page) => page.locator('.quick-input-widget');

const quickInputRow = (page: Page, label: string | RegExp) =>
  quickInput(page).locator('.monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exactly(label) }) }).first();

/**
 * Chooses `itemLabel` in the QuickPick that is open now. The list only renders the rows in view:
 * with `typeToFilter`, the label is typed into its filter first, for an item further down a long list.
 */
export async function quickPick(page: Page, itemLabel: string, options: { typeToFilter?: boolean } = {}): Promise<void> {
  if (options.typeToFilter) await quickInput(page).locator('input').fill(itemLabel);
  const row = quickInputRow(page, itemLabel);
  await row.click(); // clicking works here, unlike in context menus
  // Not "wait until the widget closes": a multi-step pick shows its next step in the same widget.
  await row.waitFor({ state: 'hidden' });
}

/** Runs a command by its palette title (e.g. "View: Toggle Terminal"): F1, type it, click its row. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = quickInput(page).locator('input');
  await input.waitFor();
  await input.fill(`>${title}`);
  // The palette filters as it is typed: choose the row with exactly this title, not whichever is first.
  const row = quickInputRow(page, title);
  await row.click();
  // Not "wait until the palette closes": a command may open a QuickPick of its own right away.
  await row.waitFor({ state: 'hidden' });
}

/** Waits for a notification toast containing `text`, fully faded in, and returns it. */
export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = 30_000): Promise<Locator> {
  const toast = page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
  await toast.waitFor({ timeout: timeoutMs });
  // A toast counts as visible from its first frame at opacity 0: a screenshot then would not show it.
  await page.waitForFunction((element) => (globalThis as unknown as BrowserWindow).getComputedStyle(element).opacity === '1', await toast.elementHandle(), { timeout: timeoutMs });
  return toast;
}

/**
 * Answers a modal dialog (VS Code's own, e.g. from showInformationMessage with modal: true) whose
 * message contains `text`, by its button `button`, and waits for it to close.
 */
export async function answerDialog(page: Page, text: string | RegExp, button: string | RegExp): Promise<void> {
  const dialog = page.locator('.monaco-dialog-box').filter({ hasText: text }).first();
  await dialog.locator('.dialog-buttons .monaco-button').filter({ hasText: exactly(button) }).first().click();
  await dialog.waitFor({ state: 'hidden' });
}

let screenshotCount = 0;

/**
 * Saves test-results/ui/NN-name.png; NN counts up through one test process so the files read as a
 * story. The first call of a process removes the previous run's screenshots, which would mislead.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (screenshotCount === 0) {
    mkdirSync(resultsDir, { recursive: true });
    for (const file of readdirSync(resultsDir)) if (/^\d+-.*\.png$/.test(file)) rmSync(join(resultsDir, file));
  }
  screenshotCount += 1;
  const file = join(resultsDir, `${String(screenshotCount).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file });
  return file;
}
