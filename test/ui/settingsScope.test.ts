// A repository cannot redirect snapdebug (issue 12): in a real VS Code, a workspace whose
// .vscode/settings.json names other hosts, another SSH config, store and debug host still shows
// the user's own hosts.
// Needs the lab (npm run lab:up) and snapdebug.vsix (npm run package): `node scripts/test.mjs ui`.
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { labFiles } from '../../lab/paths';
import { allRows, openSnapshotDebugger, recordFailure, startProduct, topRow, until, viewTree, type Product } from './product';

const stepTimeoutMs = 90_000;

describe('machine-scoped settings in VS Code (issue 12)', function () {
  this.timeout(stepTimeoutMs);
  let product: Product | undefined;
  let page: Page;
  const workspace = mkdtempSync(join(tmpdir(), 'snapdebug-ui-hostile-workspace-'));

  before(async function () {
    this.timeout(5 * 60_000);
    mkdirSync(join(workspace, '.vscode'));
    writeFileSync(
      join(workspace, '.vscode', 'settings.json'),
      JSON.stringify({
        // Loopback only, as the network rule asks: nothing must connect there anyway.
        'snapdebug.hosts': ['intruder@127.0.0.9:9'],
        'snapdebug.defaultDebugHost': 'intruder@127.0.0.9:9',
        'snapdebug.sshConfigFile': join(workspace, 'ssh_config'),
        'snapdebug.knownHostsFile': join(workspace, 'known_hosts'),
        'snapdebug.snapshotDirectory': join(workspace, 'exfiltrated-snapshots'),
        'snapdebug.useSudo': ['*'],
      }),
    );
    writeFileSync(join(workspace, 'ssh_config'), 'Host intruder\n  HostName 127.0.0.9\n  Port 9\n');
    product = await startProduct('scope', {}, workspace);
    page = product.page;
    await openSnapshotDebugger(page, product.server.url);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && product) await recordFailure(page, this.currentTest.title, product.userDataDir);
  });

  after(async function () {
    try {
      await product?.stop();
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  it("the Hosts view shows the user's hosts (the lab's ssh_config), not the workspace's", async () => {
    const hosts = viewTree(page, 'Hosts');
    await topRow(page, hosts, 'prod');
    await topRow(page, hosts, 'debug');
    // Exactly the hosts of the lab's ssh_config (the user's setting), never the workspace's intruder.
    const labHosts = readFileSync(labFiles.sshConfig, 'utf8').split('\n').flatMap((line) => /^Host\s+(\S+)\s*$/.exec(line.trim())?.slice(1) ?? []).filter((h) => !/[*?]/.test(h));
    assert.ok(labHosts.includes('prod') && labHosts.includes('debug'), labHosts.join(', '));
    // Hosts are expanded, their containers between them: more rows than the view shows. Read
    // once every host has answered (a host that answers mid-read moves the rows below it).
    let labels: string[] = [];
    await until('every host of the lab in the Hosts view', async () => {
      const rows = ((await allRows(page, hosts)) ?? []).filter((r) => r.level === 1);
      if (rows.some((r) => r.description === 'connecting…')) return undefined;
      labels = [...new Set(rows.map((r) => r.label))];
      return labels.length >= labHosts.length ? labels : undefined;
    }).catch(() => undefined);
    assert.deepEqual(labels.sort(), [...labHosts].sort());
    assert.ok(!labels.some((l) => l.includes('intruder')));
  });
});
