// Smoke test of the UI-test machinery itself (no extension involved): code-server installs and
// serves a folder, Chromium drives the workbench through every harness helper, and stopping
// code-server leaves none of its processes behind. Not named *.test.ts: `npm test` does not run it.
// Run: npx mocha --import=tsx --timeout 10000 test/ui/codeServer.smoke.ts
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';
import { ensureCodeServer, freePort, installExtension, processGroup, processTree, startCodeServer, stillRunning, type CodeServer, type ProcInfo } from '../../scripts/codeServer';
import { answerDialog, contextMenu, expandRow, launchBrowser, newPage, openViewContainer, openWorkbench, quickPick, runCommand, screenshot, treeRow, waitForNotification } from './harness';

const installTimeoutMs = 5 * 60_000;
const stepTimeoutMs = 60_000;
const vsce = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'vsce');

/** Packages a ten-line extension whose one command shows a notification; returns the .vsix path. */
async function packageSmokeExtension(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const manifest = {
    name: 'snapdebug-smoke', publisher: 'snapdebug', version: '0.0.1', license: 'MIT', engines: { vscode: '^1.100.0' },
    main: './extension.js', activationEvents: [],
    contributes: { commands: [{ command: 'snapdebugSmoke.hello', title: 'Say Hello', category: 'Snapdebug Smoke' }] },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, 'extension.js'), `const vscode = require('vscode');
exports.activate = (context) => context.subscriptions.push(
  vscode.commands.registerCommand('snapdebugSmoke.hello', () => vscode.window.showInformationMessage('Hello from the smoke extension')));
`);
  const vsix = join(dir, 'smoke.vsix');
  await execa(vsce, ['package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', vsix], { cwd: dir });
  return vsix;
}

describe('code-server in Chromium (UI harness smoke test)', function () {
  this.timeout(stepTimeoutMs);
  let home: string;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let seen: ProcInfo[] = [];
  let baseline: ProcInfo[] = [];

  before(async function () {
    this.timeout(installTimeoutMs);
    baseline = processTree(process.pid); // this process and helpers it had already (tsx's esbuild)
    const { entry } = await ensureCodeServer((line) => console.log(`      ${line}`));
    home = mkdtempSync(join(tmpdir(), 'snapdebug-ui-smoke-'));
    const folder = join(home, 'workspace');
    mkdirSync(join(folder, 'src'), { recursive: true });
    writeFileSync(join(folder, 'hello.txt'), 'hello from the smoke test\n');
    writeFileSync(join(folder, 'src', 'inner.txt'), 'inside a folder\n');
    await installExtension(entry, await packageSmokeExtension(join(home, 'smoke-extension')), join(home, 'extensions'));
    server = await startCodeServer({
      entry,
      port: await freePort(),
      extensionsDir: join(home, 'extensions'),
      userDataDir: join(home, 'user-data'),
      folder,
      settings: { 'workbench.colorTheme': 'Default Dark Modern' },
    });
    browser = await launchBrowser();
    page = await newPage(browser);
  });

  after(async function () {
    this.timeout(stepTimeoutMs);
    try {
      // Everything this test started: Chromium's processes, code-server's, and the terminal's shell.
      seen = [...seen, ...processTree(process.pid).filter((p) => !baseline.some((b) => b.pid === p.pid))];
      await browser?.close();
      await server?.stop();
      const show = (procs: ProcInfo[]) => procs.map((p) => `${p.pid} ${p.command}`);
      assert.ok(seen.some((p) => p.command.includes('chromium')) && seen.some((p) => p.command.includes('code-server')));
      assert.deepEqual(show(stillRunning(seen)), []);
      if (server) assert.deepEqual(show(processGroup(server.pid)), []);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  afterEach(async function () {
    // What the window showed when a step failed is the first thing to look at.
    if (this.currentTest?.state === 'failed' && page) await screenshot(page, `failed-${this.currentTest.title}`);
  });

  it('loads the workbench', async () => {
    await openWorkbench(page, server!.url);
    await screenshot(page, 'workbench');
  });

  it('shows the folder in the Explorer and expands a subfolder', async () => {
    await openViewContainer(page, 'Explorer');
    await treeRow(page, 'hello.txt').waitFor();
    const src = treeRow(page, 'src');
    await expandRow(src);
    await treeRow(page, 'inner.txt').waitFor();
    await screenshot(page, 'explorer');
  });

  it('runs a context menu item on a tree row', async () => {
    await contextMenu(page, treeRow(page, 'hello.txt'), 'Open to the Side');
    await page.locator('.editor-group-container .tab', { hasText: 'hello.txt' }).first().waitFor();
    await page.locator('.view-lines', { hasText: 'hello from the smoke test' }).first().waitFor();
    await screenshot(page, 'opened-to-the-side');
  });

  it('runs a command from the palette: a terminal opens', async () => {
    await runCommand(page, 'View: Toggle Terminal');
    const terminal = page.locator('.part.panel .xterm').first();
    await terminal.waitFor();
    // A command typed there runs in a shell behind node-pty: its answer shows the native modules work.
    await terminal.click();
    await page.keyboard.type('echo snapdebug-$((6*7))');
    await page.keyboard.press('Enter');
    await terminal.locator('.xterm-rows', { hasText: 'snapdebug-42' }).waitFor();
    await screenshot(page, 'terminal');
    seen = processTree(server!.pid); // now including the terminal's shell, in a session of its own
    assert.ok(seen.some((p) => /^\S*\b(ba|da)?sh\b/.test(p.command)), `no shell among ${seen.map((p) => p.command).join('; ')}`);
  });

  it('chooses an item in a QuickPick', async () => {
    await runCommand(page, 'Preferences: Color Theme');
    await quickPick(page, 'Light Modern', { typeToFilter: true });
    await page.locator('.monaco-workbench.vs').waitFor();
    await screenshot(page, 'light-theme');
  });

  it('runs a command of an installed .vsix: its notification shows', async () => {
    await runCommand(page, 'Snapdebug Smoke: Say Hello');
    await waitForNotification(page, 'Hello from the smoke extension');
    await screenshot(page, 'notification');
  });

  it('answers a modal dialog', async () => {
    // Formatting a plain-text file needs a formatter nobody installed: VS Code asks in a modal dialog.
    await runCommand(page, 'Format Document');
    await page.locator('.monaco-dialog-box', { hasText: 'no formatter' }).waitFor();
    await screenshot(page, 'dialog');
    await answerDialog(page, 'no formatter', 'Cancel');
  });
});
