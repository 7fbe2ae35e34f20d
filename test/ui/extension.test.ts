// The extension's views and commands in a real VS Code (code-server in Chromium) against the lab
// (issue 4): Hosts lists the lab's hosts and containers; Checkpoint… from a container's context
// menu shows a progress notification and puts a snapshot in the store; Restore on Host… turns it
// into a running copy on debug; the log shows every podman command with its host and exit code; a
// cancel from the progress notification is reported as cancelled, not as a failure; Checkpoint to
// Another Host… keeps the archive on debug (fetched host to host) with the store's sha256.
// Needs the lab (npm run lab:up) and snapdebug.vsix (npm run package): `node scripts/test.mjs ui`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { containerIp, labSsh, uniqueName } from '../lab/helpers';
import { quickPick, runCommand, screenshot, waitForNotification } from './harness';
import { childRow, installTimeoutMs, openSnapshotDebugger, removeCopiesOf, rowMenu, startProduct, stepsBuildOnEachOther, storedSnapshotIds, topRow, until, viewTree, type Product } from './product';

const stepTimeoutMs = 90_000;
const ballastMb = 300;

const quickInput = (page: Page) => page.locator('.quick-input-widget');
const toasts = (page: Page) => page.locator('.notifications-toasts .notification-toast');

/** Waits for the open QuickPick/InputBox titled `title` and accepts what it offers with Enter. */
async function acceptQuickInput(page: Page, title: string | RegExp, shot: string): Promise<string> {
  const widget = quickInput(page);
  await widget.locator('.quick-input-title', { hasText: title }).waitFor();
  await screenshot(page, shot);
  const value = await widget.locator('.quick-input-box input').inputValue();
  await page.keyboard.press('Enter');
  return value;
}

/** The text of the Output panel's editor as drawn now, with spaces made plain. */
async function outputText(page: Page): Promise<string> {
  const text = await page.locator('.part.panel .output-view .view-lines').first().textContent();
  return (text ?? '').replace(/\u00a0/g, ' ');
}

describe('Snapshot Debugger views and commands in VS Code (issue 4)', function () {
  this.timeout(stepTimeoutMs);
  let product: Product | undefined;
  let page: Page;
  let snapshotId = '';
  let copyName = '';
  let ballast: string | undefined;

  before(async function () {
    this.timeout(installTimeoutMs);
    product = await startProduct('extension');
    page = product.page;
  });

  after(async function () {
    this.timeout(stepTimeoutMs);
    try {
      if (product) {
        const removed = await removeCopiesOf(product.storeDir);
        if (removed.length > 0) console.log(`      removed the copy this test restored: ${removed.join(', ')}`);
      }
      if (ballast) await labSsh('prod', `podman rm -f -t 0 ${ballast} >/dev/null`);
    } finally {
      await product?.stop();
    }
  });

  stepsBuildOnEachOther(() => ({ page, product }));

  it('lists prod and debug under Hosts, with demo-api under prod', async () => {
    await openSnapshotDebugger(page, product!.server.url);
    const hosts = viewTree(page, 'Hosts');
    await topRow(page, hosts, 'prod');
    await topRow(page, hosts, 'debug');
    const { info } = await childRow(page, hosts, 'prod', 'demo-api');
    assert.match(info.description, /demo-api/);
    await screenshot(page, 'hosts');
  });

  it('checkpoints demo-api from its context menu, with a progress notification', async () => {
    await rowMenu(page, async () => (await childRow(page, viewTree(page, 'Hosts'), 'prod', 'demo-api')).row, 'Checkpoint… (leave running)');
    await acceptQuickInput(page, 'Checkpoint (the container keeps running)', 'checkpoint-options');
    // withProgress keeps its notification up for at least 800 ms: long enough to see it even for a small container.
    const progress = await waitForNotification(page, 'Checkpoint prod/demo-api');
    assert.equal(await progress.locator('.monaco-button', { hasText: 'Cancel' }).count(), 1);
    await screenshot(page, 'checkpoint-progress');
    const done = await waitForNotification(page, /Snapshot demo-api-\S+: .* kept running/);
    snapshotId = /^Snapshot (\S+):/.exec((await done.locator('.notification-list-item-message').textContent()) ?? '')![1]!;
    assert.deepEqual(storedSnapshotIds(product!.storeDir), [snapshotId]);
    await screenshot(page, 'checkpoint-done');
  });

  it('shows the snapshot under Snapshots, with the frozen time among its details', async () => {
    const snapshots = viewTree(page, 'Snapshots');
    const row = await topRow(page, snapshots, 'demo-api');
    assert.match((await row.textContent()) ?? '', /prod/);
    await row.locator('.monaco-tl-twistie').click();
    const { info } = await childRow(page, snapshots, 'demo-api', 'frozen time');
    assert.match(info.description, /\d/);
    await screenshot(page, 'snapshot-details');
  });

  it('restores the snapshot on debug: a running copy under Copies and under debug', async () => {
    await rowMenu(page, () => topRow(page, viewTree(page, 'Snapshots'), 'demo-api'), 'Restore on Host…');
    await quickPick(page, 'debug');
    await acceptQuickInput(page, 'Restore on debug', 'restore-options');
    // The same widget turns into the name box; its default is demo-api, or demo-api-copyN when taken.
    await quickInput(page).locator('.quick-input-message', { hasText: 'Name of the copy' }).waitFor();
    copyName = await acceptQuickInput(page, 'Restore on debug', 'restore-name');
    assert.match(copyName, /^demo-api(-copy\d+)?$/);
    await waitForNotification(page, 'Restore demo-api on debug');
    await screenshot(page, 'restore-progress');
    await waitForNotification(page, `${copyName} runs on debug (restored from ${snapshotId})`);

    const inCopies = await childRow(page, viewTree(page, 'Copies'), 'debug', copyName);
    assert.match(inCopies.info.description, new RegExp(`^running · not fenced · from ${snapshotId} · restored .+ ago$`));
    const inHosts = await childRow(page, viewTree(page, 'Hosts'), 'debug', copyName);
    assert.match(inHosts.info.description, new RegExp(` · up .* · copy of ${snapshotId}$`));
    await screenshot(page, 'restored-copy');

    const [status, origin] = (await labSsh('debug', `podman inspect --format '{{.State.Status}} {{index .Config.Labels "snapdebug.origin"}}' ${copyName}`)).trim().split(' ');
    assert.equal(status, 'running');
    assert.equal(origin, snapshotId);
  });

  it('shows the podman commands it ran, with host and exit code, in its log', async () => {
    await runCommand(page, 'Snapshot Debugger: Show Log');
    const filter = page.locator('.part.panel .viewpane-filter input').first();
    await filter.waitFor();
    // The Output view can still be switching to our channel, which empties the filter: type it again until it holds.
    const filtered = async (text: string, line: RegExp) => {
      if ((await filter.inputValue()) !== text) await filter.fill(text);
      return line.test(await outputText(page)) ? true : undefined;
    };
    // podman's environment variable goes through the one quoting function: `env 'PODMAN_…=1' podman`.
    const checkpointLine = /\[prod\] env '?PODMAN_IGNORE_CGROUPSV1_WARNING=1'? podman container checkpoint .*\(\d+ ms, exit 0\)/;
    await until('the checkpoint command in the Output panel', () => filtered('podman container checkpoint', checkpointLine));
    await screenshot(page, 'log-checkpoint');
    const restoreLine = new RegExp(`\\[debug\\] env '?PODMAN_IGNORE_CGROUPSV1_WARNING=1'? podman container restore .*--name '?${copyName}'? .*\\(\\d+ ms, exit 0\\)`);
    await until('the restore command in the Output panel', () => filtered('podman container restore', restoreLine));
    await screenshot(page, 'log-restore');
  });

  it('reports a checkpoint cancelled from its progress notification as cancelled, not failed', async function () {
    this.timeout(3 * stepTimeoutMs);
    // Named to sort first under prod (a host's containers are sorted by name): no scrolling past the demos.
    ballast = uniqueName('a-ui-ballast');
    await labSsh('prod', `podman run -d --name ${ballast} -e BALLAST_MB=${ballastMb} localhost/snapdebug/demo-api:latest >/dev/null`);
    const ip = await containerIp('prod', ballast);
    await until(`${ballast} holding ${ballastMb} MB`, async () => {
      const state = JSON.parse(await labSsh('prod', `curl -sf --max-time 5 http://${ip}:8080/state`)) as { ballastMb: number };
      return state.ballastMb === ballastMb ? true : undefined;
    }, 60_000, 500);

    await runCommand(page, 'Snapshot Debugger: Refresh');
    await rowMenu(page, async () => (await childRow(page, viewTree(page, 'Hosts'), 'prod', ballast!)).row, 'Checkpoint… (leave running)');
    await acceptQuickInput(page, 'Checkpoint (the container keeps running)', 'ballast-checkpoint-options');
    const progress = await waitForNotification(page, `Checkpoint prod/${ballast}`);
    await screenshot(page, 'ballast-checkpoint-progress');
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();

    const cancelled = await waitForNotification(page, `Checkpoint prod/${ballast}: cancelled`);
    assert.match((await cancelled.textContent()) ?? '', /Nothing was left behind/);
    await screenshot(page, 'ballast-checkpoint-cancelled');
    assert.equal(await toasts(page).filter({ has: page.locator('.codicon-error') }).count(), 0, 'an error notification next to the cancel');
    assert.equal(await toasts(page).filter({ hasText: new RegExp(`Snapshot ${ballast}-`) }).count(), 0, 'the checkpoint finished after all');
    assert.deepEqual(storedSnapshotIds(product!.storeDir), [snapshotId]);
    assert.deepEqual(readdirSync(product!.storeDir).filter((file) => file.includes(ballast!)), [], 'a partial archive in the store');
    assert.equal((await labSsh('prod', `podman inspect --format '{{.State.Status}}' ${ballast}`)).trim(), 'running');
  });

  it('Checkpoint to Another Host… keeps demo-api\'s archive on debug, fetched host to host, and the store has the snapshot', async function () {
    this.timeout(2 * stepTimeoutMs);
    await rowMenu(page, async () => (await childRow(page, viewTree(page, 'Hosts'), 'prod', 'demo-api')).row, 'Checkpoint to Another Host…');
    await quickPick(page, 'debug');
    await acceptQuickInput(page, 'Checkpoint (the container keeps running)', 'to-host-options');
    await waitForNotification(page, 'Checkpoint prod/demo-api to debug');
    const done = await waitForNotification(page, /is in the store and on debug at \S+ \(fetched from prod host to host, sha256 verified\)/, 60_000);
    const message = (await done.locator('.notification-list-item-message').textContent()) ?? '';
    await screenshot(page, 'to-host-done');
    const [, id, path] = /^(\S+) is in the store and on debug at (\/var\/tmp\/snapdebug-k\.\w{10}\/\S+\.tar\.zst) /.exec(message) ?? [];
    assert.ok(id && path, message);
    try {
      assert.ok(storedSnapshotIds(product!.storeDir).includes(id));
      const stored = JSON.parse(readFileSync(join(product!.storeDir, `${id}.json`), 'utf8')) as { sha256: string };
      assert.equal((await labSsh('debug', `sha256sum ${path} | cut -d' ' -f1`)).trim(), stored.sha256);
    } finally {
      await labSsh('debug', `rm -rf ${path.slice(0, path.lastIndexOf('/'))}`);
    }
  });

  it("words a failure's fix as the setting to change, and Open Setting opens it (no CLI flag)", async function () {
    this.timeout(3 * stepTimeoutMs);
    // A process with an established TCP connection (to itself): CRIU refuses it unless the
    // checkpoint includes TCP connections, a fix whose option has a setting.
    const holder = uniqueName('ui-tcp-holder');
    const script = "const net=require('net');net.createServer(()=>{}).listen(7000,'127.0.0.1',()=>{globalThis.c=net.connect(7000,'127.0.0.1')});setInterval(()=>{},1000)";
    await labSsh('prod', `podman run -d --name ${holder} localhost/snapdebug/node:20 node -e "${script}" >/dev/null`);
    try {
      await until('the established connection', async () => ((await labSsh('prod', `podman exec ${holder} cat /proc/net/tcp`)).includes(' 01 ') ? true : undefined), 20_000, 250);
      await runCommand(page, 'Snapshot Debugger: Refresh');
      await rowMenu(page, async () => (await childRow(page, viewTree(page, 'Hosts'), 'prod', holder)).row, 'Checkpoint… (leave running)');
      await acceptQuickInput(page, 'Checkpoint (the container keeps running)', 'tcp-holder-checkpoint-options');
      const failed = await waitForNotification(page, new RegExp(`Checkpoint prod/${holder}: CRIU failed`), 60_000);
      const message = (await failed.locator('.notification-list-item-message').textContent()) ?? '';
      assert.match(message, /\(setting snapdebug\.checkpoint\.tcpEstablished\)/);
      assert.doesNotMatch(message, /--tcp-established/);
      await screenshot(page, 'fix-open-setting');
      await failed.locator('.monaco-button', { hasText: 'Open Setting' }).click();
      await page.locator('.settings-editor .setting-item-title', { hasText: /Tcp Established/ }).first().waitFor({ timeout: 30_000 });
      await screenshot(page, 'fix-setting-opened');
    } finally {
      await labSsh('prod', `podman rm -f -t 0 ${holder} >/dev/null 2>&1 || true`);
    }
  });
});
