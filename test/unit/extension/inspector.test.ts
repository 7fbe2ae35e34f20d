// The inspector in VS Code, against the fake API and a store holding real lab archives: a snapshot
// expands to its process tree, each process to Environment (names, values hidden), Open files,
// Sockets and Memory maps; Show Environment Values, Search Memory…, Compare with Snapshot…, Open
// Core in gdb and the Snapshot Report each do what they say, and the report's page loads nothing.
import { strict as assert } from 'node:assert';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { addFixtureSnapshot, fake, makeCore, makeServices, walkTree } from './harness';
import { pickLabel, type FakeTextDocument } from './fakeVscode';
import { plannedTempDir } from '../helpers';

const { SnapshotNode } = await import('../../../src/extension/tree/snapshotsTree');
const { ProcessNode, GroupNode } = await import('../../../src/extension/tree/snapshotContents');
const { searchMemoryCommand, parseQuery } = await import('../../../src/extension/commands/searchMemory');
const { showEnvironment } = await import('../../../src/extension/commands/showEnvironment');
const { compareSnapshot } = await import('../../../src/extension/commands/compareSnapshot');
const { openCore, cppToolsExtension } = await import('../../../src/extension/commands/openCore');
const { snapshotReport } = await import('../../../src/extension/commands/snapshotReport');
const { escapeHtml } = await import('../../../src/extension/report/reportHtml');

const sleeperId = 'demo-sleeper-20261130-083519-8ed8';
const nativeId = 'demo-native-20261130-083517-b728';

describe('the inspector in VS Code', function () {
  this.timeout(20_000);
  const temp = plannedTempDir('inspector-ext');
  let services: ReturnType<typeof makeServices>;
  let lastDocument = () => (fake.shownDocuments.at(-1)!.document as FakeTextDocument).getText();

  beforeEach(() => {
    fake.reset();
    temp.create();
    const core = makeCore({}, join(temp.dir, 'store'));
    addFixtureSnapshot(core.store, sleeperId, 'demo-sleeper-checkpoint.tar.zst', { createdAt: '2026-11-30T08:35:19.000Z', source: { host: 'prod', container: 'demo-sleeper' } });
    addFixtureSnapshot(core.store, nativeId, 'demo-native-checkpoint.tar.zst', { createdAt: '2026-11-30T08:35:17.000Z', source: { host: 'prod', container: 'demo-native' } });
    services = makeServices(core);
    lastDocument = () => (fake.shownDocuments.at(-1)!.document as FakeTextDocument).getText();
  });
  afterEach(() => temp.cleanup());

  async function sleeper() {
    const tree = services.views.snapshots;
    const node = (await tree.getChildren()).find((n) => n instanceof SnapshotNode && n.meta.id === sleeperId)!;
    return { tree, node: node as InstanceType<typeof SnapshotNode> };
  }

  it('a snapshot expands to its process tree; a process to Environment, Open files, Sockets, Memory maps and its children', async () => {
    const { tree, node } = await sleeper();
    const walked = await walkTree(tree, node);
    const rows = walked.map((w) => `${'  '.repeat(w.depth)}${String(w.item.label)} | ${String(w.item.description ?? '')} | ${w.item.contextValue}`);
    assert.equal(rows[0], '[1] bash | bash -c trap "exit 0" TERM; while :; do sleep 600 & wait $!; done · 264.0 KiB | snapshot-process');
    const underBash = walked.filter((w) => w.depth === 1).map((w) => String(w.item.label));
    assert.deepEqual(underBash, ['Environment', 'Open files', 'Sockets', 'Memory maps', '[6] sleep']);
    assert.ok(rows.includes('    HOSTNAME | •••••• | snapshot-entry'), 'names shown, values hidden');
    assert.ok(!rows.some((r) => r.includes('040b7ac77602')), 'no environment value in the tree');
    assert.ok(rows.includes('    1 | pipe:[96035] | snapshot-entry'));
    assert.ok(rows.some((r) => /^ {4}[0-9a-f]+-[0-9a-f]+ \| r-xp \/usr\/bin\/bash \| snapshot-entry$/.test(r)), 'memory maps of bash');
    assert.ok(rows.includes('  [6] sleep | sleep 600 · 112.0 KiB | snapshot-process'), 'the child under its parent');
    assert.ok(walked.some((w) => w.item.label === 'frozen time'), 'the metadata rows stay');
  });

  it('Show Environment Values opens the values only when asked', async () => {
    const { tree, node } = await sleeper();
    const bash = (await tree.getChildren(node))[0] as InstanceType<typeof ProcessNode>;
    const environment = (await tree.getChildren(bash)).find((n) => n instanceof GroupNode && n.group === 'environment')!;
    await showEnvironment.run(services, environment);
    assert.equal(lastDocument(), `# environment of process 1 (bash) in ${sleeperId}\ncontainer=podman\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOME=/root\nHOSTNAME=040b7ac77602\n`);
    assert.doesNotMatch(services.channel.text(), /040b7ac77602/, 'values never reach the log');
  });

  it('Search Memory… on a process shows hits with hex and text around them; /…/ is a regular expression', async () => {
    assert.deepEqual(parseQuery('/a+b/'), { regex: 'a+b' });
    assert.deepEqual(parseQuery('plain /text'), { text: 'plain /text' });
    const { tree, node } = await sleeper();
    const sleep = (await tree.getChildren((await tree.getChildren(node))[0]!)).find((n) => n instanceof ProcessNode)!;
    fake.answerInputBox('sleep');
    await searchMemoryCommand.run(services, sleep);
    const text = lastDocument();
    assert.match(text, /^# 3 hits for "sleep" in demo-sleeper-/);
    assert.match(text, /^process 6 at 0x7fffe0007f4c in \[stack\]$/m);
    assert.match(text, /^ {2}00007fffe0007f[0-9a-f]{2} {2}(?:[0-9a-f]{2} ){15}[0-9a-f]{2} {2}\|.*sleep.*\|$/m);
    assert.doesNotMatch(services.channel.text(), /0x7fffe0007f4c/, 'hits never reach the log');
  });

  it('Compare with Snapshot… offers only snapshots of the same container', async () => {
    const { node } = await sleeper();
    await compareSnapshot.run(services, node);
    assert.deepEqual(fake.messagesOf('information'), ['There is no other snapshot of prod/demo-sleeper to compare with.']);
    addFixtureSnapshot(services.core().store, 'demo-sleeper-20261130-090000-aaaa', 'demo-sleeper-checkpoint.tar.zst', { createdAt: '2026-11-30T09:00:00.000Z', source: { host: 'prod', container: 'demo-sleeper' } });
    fake.answerQuickPick(pickLabel('demo-sleeper-20261130-090000-aaaa'));
    await compareSnapshot.run(services, node);
    assert.deepEqual(fake.quickPicks.at(-1)!.items.map((i) => (i as { label: string }).label), ['demo-sleeper-20261130-090000-aaaa']);
    assert.equal(lastDocument(), `# ${sleeperId} → demo-sleeper-20261130-090000-aaaa\n\nno differences in processes, files, sockets or memory\n`);
  });

  it('Open Core in gdb writes the core in the store and runs gdb -x gdbinit in a terminal; cppdbg when the C/C++ extension is there', async () => {
    const tree = services.views.snapshots;
    const native = (await tree.getChildren()).find((n) => n instanceof SnapshotNode && n.meta.id === nativeId)!;
    const counter = (await tree.getChildren(native))[0] as InstanceType<typeof ProcessNode>;
    fake.installedExtensions.add(cppToolsExtension);
    await openCore.run(services, counter);
    const dir = join(services.core().store.dir, 'cores', nativeId, '1');
    assert.ok(existsSync(join(dir, 'core.1')) && existsSync(join(dir, 'gdbinit')));
    assert.equal(statSync(join(services.core().store.dir, 'cores')).mode & 0o777, 0o700);
    const terminal = fake.terminals[0]!;
    assert.deepEqual([terminal.options.shellPath, terminal.options.shellArgs], ['gdb', ['-x', join(dir, 'gdbinit')]]);
    assert.equal(fake.startedDebugging[0]!.configuration.type, 'cppdbg');
    assert.equal(fake.startedDebugging[0]!.configuration.coreDumpPath, join(dir, 'core.1'));
    // The snapshot store is remote-less in this test: the program could not be fetched, and it says so.
    assert.match(fake.messagesOf('warning')[0]!, /1 mapped file\(s\) could not be fetched from prod/);
    services.core().store.remove(nativeId);
    assert.ok(!existsSync(join(services.core().store.dir, 'cores', nativeId)), 'cores go with their snapshot');
  });

  it('Snapshot Report draws the tree, memory and phases in a page that can load nothing', async () => {
    const { node } = await sleeper();
    await snapshotReport.run(services, node);
    const panel = fake.webviewPanels[0]!;
    assert.equal(panel.viewType, 'snapdebug.snapshotReport');
    assert.equal(panel.options.enableScripts, false);
    assert.deepEqual(panel.options.localResourceRoots, []);
    const html = panel.webview.html;
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    assert.match(csp, /^default-src 'none'; style-src 'nonce-[A-Za-z0-9+/=]+';.*script-src 'none'/);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    assert.ok(html.includes(`<style nonce="${nonce}">`));
    assert.doesNotMatch(html, /<script|https?:\/\/|style="|\son\w+=/i, 'no script, remote content, inline style or handler');
    assert.match(html, /aria-label="process tree"/);
    assert.match(html, /\[6\] sleep 600/);
    assert.match(html, /aria-label="memory per process"[\s\S]*264\.0 KiB[\s\S]*112\.0 KiB/);
    assert.match(html, /memory dump: 2 ms[\s\S]*frozen for 79 ms/);
    assert.match(html, /var\(--vscode-charts-blue\)/, 'colours from the theme');
    assert.equal(escapeHtml('<img src=x onerror="a">&\''), '&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;');
  });
});
