// The three views with a scripted core: Hosts (every host listed at once, loaded in parallel, one
// failing or slow host never holding up the others, retry), Snapshots (a real store in a temp
// dir, metadata children with the frozen time) and Copies (labelled containers per host).
import { strict as assert } from 'node:assert';
import {
  addSnapshot,
  copySnapshotId,
  debugPsEntries,
  deferred,
  fake,
  makeCore,
  makeServices,
  podmanHost,
  prodPsEntries,
  unreachableHost,
  waitFor,
  walkTree,
  type Script,
} from './harness';
import { ManualClock, plannedTempDir } from '../helpers';
import type * as vscode from 'vscode';
import type { ThemeIcon, MarkdownString } from './fakeVscode';

const { HostNode, ContainerNode, ProcessNode, MessageNode } = await import('../../../src/extension/tree/hostsTree');
const { SnapshotNode, DetailNode } = await import('../../../src/extension/tree/snapshotsTree');
const { CopyHostNode, CopyNode } = await import('../../../src/extension/tree/copiesTree');
type HostsTreeNode = import('../../../src/extension/tree/hostsTree').HostsTreeNode;

/** A script whose `podman ps` answer waits for release(); records when it was asked and answered. */
function gatedHost(name: string, events: string[], script: Script = podmanHost(prodPsEntries())) {
  const gate = deferred();
  const wrapped: Script = async (words, options) => {
    if (words[1] === 'ps') {
      events.push(`start ${name}`);
      await gate.promise;
      events.push(`end ${name}`);
    }
    return script(words, options);
  };
  return { script: wrapped, release: () => gate.resolve() };
}

const icon = (item: vscode.TreeItem) => (item.iconPath as unknown as ThemeIcon).id;

describe('HostsTree', () => {
  beforeEach(() => fake.reset());

  async function roots(tree: vscode.TreeDataProvider<HostsTreeNode>) {
    const nodes = (await tree.getChildren()) ?? [];
    return Promise.all(nodes.map(async (node) => ({ node, item: await tree.getTreeItem(node) })));
  }

  it('lists every host at once, as connecting, before any of them answers', async () => {
    const events: string[] = [];
    const prod = gatedHost('prod', events);
    const debug = gatedHost('debug', events);
    fake.settings.set('snapdebug.hosts', ['prod', 'debug']);
    const services = makeServices(makeCore({ prod: prod.script, debug: debug.script }));
    const listed = await roots(services.views.hosts);
    assert.deepEqual(listed.map((r) => r.item.label), ['prod', 'debug']);
    assert.ok(listed.every((r) => r.node instanceof HostNode && r.node.state.status === 'loading'));
    assert.deepEqual(listed.map((r) => [r.item.description, icon(r.item)]), [['connecting…', 'loading~spin'], ['connecting…', 'loading~spin']]);
    assert.deepEqual(await services.views.hosts.getChildren(listed[0]!.node), [], 'no children while loading');
    prod.release();
    debug.release();
    await waitFor(() => services.views.hosts.containers('debug').length === 4, 'both hosts to load');
  });

  it('after refresh() shows each container with its contextValue, image and state markers', async () => {
    fake.settings.set('snapdebug.hosts', ['prod']);
    const core = makeCore({ prod: podmanHost(prodPsEntries()) });
    const tree = makeServices(core).views.hosts;
    await tree.refresh();
    const [host] = await roots(tree);
    assert.equal(host!.item.contextValue, 'host:ok');
    assert.equal(host!.item.description, '4 containers');
    const containers = await Promise.all(((await tree.getChildren(host!.node)) ?? []).map((node) => tree.getTreeItem(node)));
    const summary = Object.fromEntries(containers.map((item) => [item.label as string, { context: item.contextValue, description: item.description }]));
    assert.deepEqual(Object.keys(summary), ['demo-api', 'demo-native', 'demo-python', 'demo-sleeper'], 'sorted by name');
    assert.equal(summary['demo-api']!.context, 'container:running');
    assert.match(String(summary['demo-api']!.description), /^snapdebug\/demo-api:latest · up /);
    assert.doesNotMatch(String(summary['demo-api']!.description), /checkpointed|copy of/);
    assert.equal(summary['demo-python']!.context, 'container:running:copy');
    assert.match(String(summary['demo-python']!.description), new RegExp(`^snapdebug/demo-python:latest · up .* · copy of ${copySnapshotId}$`));
    assert.equal(summary['demo-sleeper']!.context, 'container:checkpointed');
    assert.equal(summary['demo-sleeper']!.description, 'snapdebug/busybox:latest · exited · checkpointed');
    assert.equal(summary['demo-native']!.context, 'container:stopped');
    assert.equal(summary['demo-native']!.description, 'snapdebug/native:latest · exited');
    const tooltip = (containers.find((c) => c.label === 'demo-sleeper')!.tooltip as unknown as MarkdownString).value;
    assert.match(tooltip, /holds a checkpoint: Restore in Place/);

    // podman ps does not say which stopped containers hold a checkpoint: only those are inspected.
    const inspects = core.fakeHosts.ranOn('prod').filter((c) => c.startsWith('podman container inspect'));
    const ids = Object.fromEntries(prodPsEntries().map((e) => [e.Names[0], e.Id]));
    assert.deepEqual(inspects, [`podman container inspect --format json ${ids['demo-sleeper']} ${ids['demo-native']}`]);
  });

  it("expands a running container into its processes (podman top), and a stopped one into nothing", async () => {
    fake.settings.set('snapdebug.hosts', ['prod']);
    const tree = makeServices(makeCore({ prod: podmanHost(prodPsEntries()) })).views.hosts;
    await tree.refresh();
    const walked = await walkTree(tree);
    const api = walked.find((w) => w.item.label === 'demo-api')!;
    const processes = walked.filter((w) => w.node instanceof ProcessNode && w.node.container === 'demo-api');
    assert.equal(api.item.collapsibleState, 1 /* Collapsed */);
    assert.deepEqual(
      processes.map((p) => [p.item.label, p.item.description, p.item.contextValue]),
      [
        ['bash -c trap "exit 0" TERM; while :; do sleep 600 & wait $!; done', 'pid 1 · root', 'process'],
        ['sleep 600', 'pid 6 · root', 'process'],
      ],
    );
    const sleeper = walked.find((w) => w.item.label === 'demo-sleeper')!;
    assert.equal(sleeper.item.collapsibleState, 0 /* None */);
  });

  it('shows a failing host as host:error with its error, while a slow host is still loading and the others are done', async () => {
    const events: string[] = [];
    const slow = gatedHost('slow', events);
    fake.settings.set('snapdebug.hosts', ['slow', 'prod', 'broken']);
    const core = makeCore({ slow: slow.script, prod: podmanHost(prodPsEntries()), broken: unreachableHost('connect ECONNREFUSED 192.0.2.7:22') });
    const services = makeServices(core);
    const tree = services.views.hosts;
    await tree.getChildren(); // the view opening: starts every host

    const states = async () => Object.fromEntries((await roots(tree)).map((r) => [r.item.label as string, r]));
    await waitFor(async () => {
      const now = await states();
      return now.prod!.item.contextValue === 'host:ok' && now.broken!.item.contextValue === 'host:error' && tree.containers('prod').length === 4;
    }, 'prod and broken to settle while slow is held');
    const now = await states();
    assert.equal(now.slow!.item.description, 'connecting…', 'slow is still held');
    assert.equal(now.prod!.item.description, '4 containers');
    assert.equal(now.broken!.item.description, 'connect ECONNREFUSED 192.0.2.7:22');
    assert.equal(now.broken!.item.tooltip, 'connect ECONNREFUSED 192.0.2.7:22');
    assert.equal(icon(now.broken!.item), 'error');
    assert.deepEqual(await tree.getChildren(now.broken!.node), []);
    assert.match(services.channel.text(), /\[error\] host broken: connect ECONNREFUSED/);

    slow.release();
    await waitFor(() => tree.containers('slow').length === 4, 'slow to load once released');
  });

  it("shows podman's failure on a host as one sentence (sudo without a password rule)", async () => {
    fake.settings.set('snapdebug.hosts', ['prod']);
    const script: Script = () => ({ exitCode: 1, stderr: 'sudo: a password is required\n' });
    const tree = makeServices(makeCore({ prod: script })).views.hosts;
    await tree.refresh();
    const [host] = await roots(tree);
    assert.equal(host!.item.contextValue, 'host:error');
    assert.equal(host!.item.description, 'sudo on prod needs a password or does not allow podman.');
  });

  it('loads hosts in parallel: every fetch starts before any answers, and refresh() waits for all', async () => {
    const events: string[] = [];
    const a = gatedHost('a', events);
    const b = gatedHost('b', events);
    const c = gatedHost('c', events);
    fake.settings.set('snapdebug.hosts', ['a', 'b', 'c']);
    const tree = makeServices(makeCore({ a: a.script, b: b.script, c: c.script })).views.hosts;
    let refreshed = false;
    const refreshing = tree.refresh().then(() => {
      refreshed = true;
    });
    await waitFor(() => events.length === 3, 'all three fetches to start while none may answer');
    assert.deepEqual([...events].sort(), ['start a', 'start b', 'start c']);
    b.release();
    await waitFor(() => tree.containers('b').length === 4, 'b to load');
    assert.equal(refreshed, false, 'refresh() still waits for a and c');
    a.release();
    c.release();
    await refreshing;
    assert.equal(events.slice(0, 3).every((e) => e.startsWith('start')), true);
  });

  it('does not fetch a host twice while it is loading', async () => {
    const events: string[] = [];
    const prod = gatedHost('prod', events);
    fake.settings.set('snapdebug.hosts', ['prod']);
    const tree = makeServices(makeCore({ prod: prod.script })).views.hosts;
    const first = tree.refresh();
    await waitFor(() => events.length === 1, 'the fetch to start');
    const second = tree.refresh();
    await tree.getChildren();
    prod.release();
    await Promise.all([first, second]);
    assert.deepEqual(events, ['start prod', 'end prod']);
  });

  it('retry() forgets the connection and fetches again, turning an error into containers', async () => {
    let attempts = 0;
    const flaky: Script = (words, options) => {
      if (words[1] === 'ps' && ++attempts === 1) throw new Error('Timed out while waiting for handshake');
      return podmanHost(prodPsEntries())(words, options);
    };
    fake.settings.set('snapdebug.hosts', ['prod']);
    const core = makeCore({ prod: flaky });
    const tree = makeServices(core).views.hosts;
    await tree.refresh();
    assert.equal((await roots(tree))[0]!.item.contextValue, 'host:error');

    let changes = 0;
    tree.onDidChangeTreeData(() => changes++);
    const retrying = tree.retry('prod');
    assert.equal((await roots(tree))[0]!.item.description, 'connecting…', 'shows it is trying again at once');
    await retrying;
    assert.deepEqual(core.fakeHosts.forgotten, ['prod']);
    assert.equal(attempts, 2);
    const [host] = await roots(tree);
    assert.equal(host!.item.contextValue, 'host:ok');
    assert.equal(tree.containers('prod').length, 4);
    assert.ok(changes >= 2, 'the view was told twice: loading, then loaded');
  });

  it('a refresh redraws only the hosts whose containers changed, by the node the view was given', async () => {
    // A redraw drops VS Code's handles to the rows under it: a context menu open on one would run
    // its command with no row. So an unchanged host is not redrawn, and a changed one alone.
    const prodEntries = prodPsEntries();
    fake.settings.set('snapdebug.hosts', ['prod', 'debug']);
    const tree = makeServices(makeCore({ prod: podmanHost(prodEntries), debug: podmanHost(debugPsEntries()) })).views.hosts;
    const given = (await tree.getChildren())!;
    await tree.refresh();
    const changes: unknown[] = [];
    tree.onDidChangeTreeData((node) => changes.push(node));

    await tree.refresh();
    assert.deepEqual(changes, [], 'nothing changed: nothing redrawn');

    prodEntries.pop();
    await tree.refresh();
    assert.equal(changes.length, 1);
    assert.equal(changes[0], given[0], 'prod alone, as the node the view holds');
    assert.equal(tree.containers('prod').length, 3);
  });

  it('shows "no containers" for a host without any, and drops hosts no longer configured', async () => {
    fake.settings.set('snapdebug.hosts', ['prod', 'empty']);
    const tree = makeServices(makeCore({ prod: podmanHost(prodPsEntries()), empty: podmanHost([]) })).views.hosts;
    await tree.refresh();
    const empty = (await tree.getChildren())!.find((n) => n instanceof HostNode && n.name === 'empty')!;
    const children = (await tree.getChildren(empty))!;
    assert.equal(children.length, 1);
    assert.ok(children[0] instanceof MessageNode);
    assert.deepEqual([tree.getTreeItem(children[0]).label, tree.getTreeItem(children[0]).contextValue], ['no containers', 'message']);

    fake.settings.set('snapdebug.hosts', ['empty']);
    await tree.refresh();
    assert.deepEqual(tree.containers('prod'), [], 'prod is gone');
    assert.deepEqual(((await tree.getChildren()) ?? []).map((n) => (n as InstanceType<typeof HostNode>).name), ['empty']);
  });

  it('shows an error line under a container whose processes cannot be read', async () => {
    fake.settings.set('snapdebug.hosts', ['prod']);
    const base = podmanHost(prodPsEntries());
    const script: Script = (words, options) => (words[1] === 'top' ? { exitCode: 125, stderr: 'Error: no container with name or ID "demo-api" found' } : base(words, options));
    const tree = makeServices(makeCore({ prod: script })).views.hosts;
    await tree.refresh();
    const api = new ContainerNode(tree.containers('prod').find((c) => c.name === 'demo-api')!);
    const [line] = (await tree.getChildren(api))!;
    assert.ok(line instanceof MessageNode);
    assert.match(line.text, /^There is no such container on prod/);
  });
});

describe('SnapshotsTree', () => {
  const temp = plannedTempDir('snapshots-tree');
  beforeEach(() => {
    fake.reset();
    temp.create();
  });
  afterEach(() => temp.cleanup());

  function storeWithSnapshots() {
    const core = makeCore({}, temp.dir);
    const pre = addSnapshot(core.store, { id: 'demo-api-20261126-084500-cd34', kind: 'pre-checkpoint', createdAt: '2026-11-26T08:45:00.000Z', options: { leaveRunning: true, preCheckpoint: true } });
    const full = addSnapshot(core.store, { id: 'demo-api-20261126-084800-ab12', parent: pre.id, options: { leaveRunning: true, compress: 'zstd', withPrevious: true, tcpEstablished: true } });
    const bare = addSnapshot(core.store, { id: 'demo-sleeper-20261126-085000-ef56', createdAt: '2026-11-26T08:50:00.000Z', source: { host: 'debug', container: 'demo-sleeper' }, criu: undefined, criuVersion: undefined, compression: 'gzip', options: { leaveRunning: false } });
    return { tree: makeServices(core).views.snapshots, pre, full, bare };
  }

  it('lists the store newest first, with host, size, compression and kind', async () => {
    const { tree } = storeWithSnapshots();
    const nodes = await tree.getChildren();
    const items = nodes.map((n) => tree.getTreeItem(n));
    assert.deepEqual(items.map((i) => i.id), ['snapshot:demo-sleeper-20261126-085000-ef56', 'snapshot:demo-api-20261126-084800-ab12', 'snapshot:demo-api-20261126-084500-cd34']);
    assert.deepEqual(items.map((i) => i.contextValue), ['snapshot:checkpoint', 'snapshot:checkpoint', 'snapshot:pre-checkpoint']);
    assert.deepEqual(items.map((i) => i.label), ['demo-sleeper', 'demo-api', 'demo-api']);
    assert.match(String(items[1]!.description), /^prod · .+ · 48\.0 MiB zstd$/);
    assert.match(String(items[2]!.description), /^prod · .+ · 48\.0 MiB zstd · pre-checkpoint$/);
    assert.match(String(items[0]!.description), /^debug · .+ · 48\.0 MiB gzip$/);
    assert.deepEqual(items.map((i) => icon(i)), ['archive', 'archive', 'history']);
    assert.match((items[1]!.tooltip as unknown as MarkdownString).value, /checkpoint of prod\/demo-api, frozen 113 ms/);
  });

  it("children show the snapshot's metadata, the frozen time formatted", async () => {
    const { tree, full } = storeWithSnapshots();
    const node = (await tree.getChildren()).find((n) => n instanceof SnapshotNode && n.meta.id === full.id)!;
    const children = await tree.getChildren(node);
    // This store's archives are stand-ins: the process tree says it could not be read, then the details.
    assert.equal(tree.getTreeItem(children[0]!).label, 'Could not read the processes');
    const details = children.slice(1);
    assert.ok(details.every((d) => d instanceof DetailNode));
    const rows = Object.fromEntries(details.map((d) => [(d as InstanceType<typeof DetailNode>).label, (d as InstanceType<typeof DetailNode>).value]));
    assert.deepEqual(rows, {
      source: 'prod/demo-api',
      image: 'localhost/snapdebug/demo-api:latest',
      taken: new Date(full.createdAt).toLocaleString(),
      size: '48.0 MiB (zstd)',
      'frozen time': '113 ms',
      'freezing time': '2 ms',
      'memory dump': '40 ms, 9100 pages written of 12000 scanned',
      'source afterwards': 'kept running',
      // In the schema's order: the store hands out metadata as its schema read it.
      options: 'leaveRunning, compress=zstd, tcpEstablished, withPrevious',
      'based on': 'demo-api-20261126-084500-cd34',
      'podman / CRIU': '5.4.2 / 4.1',
      sha256: full.sha256,
    });
    const item = tree.getTreeItem(details[4]!);
    assert.deepEqual([item.label, item.description, item.contextValue, item.tooltip], ['frozen time', '113 ms', 'snapshot-detail', 'frozen time: 113 ms']);
    assert.deepEqual(await tree.getChildren(details[0]!), []);
  });

  it('leaves out what a snapshot does not know (no CRIU statistics), and says a stopped source was stopped', async () => {
    const { tree, bare } = storeWithSnapshots();
    const node = (await tree.getChildren()).find((n) => n instanceof SnapshotNode && n.meta.id === bare.id)!;
    const rows = Object.fromEntries((await tree.getChildren(node)).filter((d) => d instanceof DetailNode).map((d) => [(d as InstanceType<typeof DetailNode>).label, (d as InstanceType<typeof DetailNode>).value]));
    assert.equal(rows['frozen time'], undefined);
    assert.equal(rows['memory dump'], undefined);
    assert.equal(rows['image'], undefined);
    assert.equal(rows['source afterwards'], 'stopped');
    assert.equal(rows['podman / CRIU'], '5.4.2 / unknown');
  });

  it('refresh() tells the view to read the store again', () => {
    const { tree } = storeWithSnapshots();
    let changes = 0;
    tree.onDidChangeTreeData(() => changes++);
    tree.refresh();
    assert.equal(changes, 1);
  });
});

describe('CopiesTree', () => {
  beforeEach(() => fake.reset());

  it('groups copies (snapdebug.origin label) per host, hides hosts without any, shows failing hosts', async () => {
    fake.settings.set('snapdebug.hosts', ['prod', 'debug', 'empty', 'broken']);
    const core = makeCore({ prod: podmanHost(prodPsEntries()), debug: podmanHost(debugPsEntries()), empty: podmanHost([]), broken: unreachableHost('All configured authentication methods failed') });
    const tree = makeServices(core, new ManualClock(Date.parse('2026-12-01T00:00:00.000Z'))).views.copies;
    const hosts = (await tree.getChildren())!;
    const hostItems = hosts.map((h) => tree.getTreeItem(h));
    // "1 copies" or "1 copy": the plural is cosmetic, the count is what matters here.
    assert.deepEqual(hostItems.map((i) => [i.label, String(i.description).replace(/^1 copies$/, '1 copy'), i.contextValue, icon(i)]), [
      ['prod', '1 copy', 'copy-host', 'server'],
      ['debug', '2 copies', 'copy-host', 'server'],
      ['broken', 'All configured authentication methods failed', 'copy-host', 'error'],
    ]);
    assert.ok(hosts.every((h) => h instanceof CopyHostNode));

    const onDebug = (await tree.getChildren(hosts[1]!))!;
    assert.ok(onDebug.every((c) => c instanceof CopyNode));
    const items = onDebug.map((c) => tree.getTreeItem(c));
    // The fixture's copies were created on 2026-11-26; the clock says 2026-12-01.
    assert.deepEqual(items.map((i) => [i.label, i.contextValue, String(i.description).replace(/ · restored \d+ days ago · stale$/, '')]), [
      ['demo-api', 'copy:running:node', `running · not fenced · from ${copySnapshotId}`], // node: its command in ps
      ['demo-api-copy1', 'copy:stopped', `exited · not fenced · from ${copySnapshotId}`],
    ]);
    assert.match(String(items[0]!.tooltip), /restored from snapshot demo-api-20261126-084800-ab12 .* ago\noriginal: prod\/demo-api/);

    const onProd = (await tree.getChildren(hosts[0]!))!.map((c) => tree.getTreeItem(c));
    assert.deepEqual(onProd.map((i) => i.label), ['demo-python'], 'only the labelled container of prod');
    assert.deepEqual(await tree.getChildren(hosts[2]!), []);
  });

  it('says whether each copy is fenced, and what a fenced one may still reach (its labels, read back)', async () => {
    const [plain, copy] = debugPsEntries();
    let n = 0;
    const fenced = (labels: Record<string, string>, name: string) => ({ ...copy!, Id: `${++n}${copy!.Id.slice(1)}`, Names: [name], State: 'running', Labels: { ...copy!.Labels, ...labels } });
    const entries = [
      plain!,
      fenced({ 'snapdebug.fence': '0a1b2c' }, 'shut'),
      fenced({ 'snapdebug.fence': '3d4e5f', 'snapdebug.fence.allow': 'db.internal:5432=10.0.0.5+10.0.0.6,10.0.0.7:6379=10.0.0.7' }, 'opened'),
      // a label not of our making is not taken for a fence
      fenced({ 'snapdebug.fence': '../../x' }, 'forged'),
    ];
    fake.settings.set('snapdebug.hosts', ['debug']);
    const tree = makeServices(makeCore({ debug: podmanHost(entries) })).views.copies;
    const [host] = (await tree.getChildren())!;
    const items = (await tree.getChildren(host))!.map((c) => tree.getTreeItem(c));
    // When each was restored is the stale test's business (below).
    assert.deepEqual(items.map((i) => [i.label, String(i.description).replace(/ · restored [^·]+( · stale)?$/, '')]), [
      ['demo-api', `running · not fenced · from ${copySnapshotId}`],
      ['shut', `running · fenced · from ${copySnapshotId}`],
      ['opened', `running · fenced, allows 2 · from ${copySnapshotId}`],
      ['forged', `running · not fenced · from ${copySnapshotId}`],
    ]);
    assert.match(String(items[0]!.tooltip), /\nnot fenced: it reaches whatever debug reaches$/);
    assert.match(String(items[1]!.tooltip), /\nfenced: it reaches nothing outside itself$/);
    assert.match(String(items[2]!.tooltip), /\nfenced: it reaches nothing outside itself but db\.internal:5432 \(10\.0\.0\.5, 10\.0\.0\.6\), 10\.0\.0\.7:6379$/);
  });

  it('marks copies restored longer ago than snapdebug.copies.staleAfterHours as stale', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T00:00:00.000Z'));
    const nowSeconds = clock.now() / 1000;
    const [running, stopped] = debugPsEntries();
    // An hour and two days old: far either side of the 24 hours the setting defaults to.
    const entries = [{ ...running!, Created: nowSeconds - 3600 }, { ...stopped!, Created: nowSeconds - 2 * 86400 }];
    fake.settings.set('snapdebug.hosts', ['debug']);
    const tree = makeServices(makeCore({ debug: podmanHost(entries) }), clock).views.copies;
    const [host] = (await tree.getChildren())!;
    const items = (await tree.getChildren(host))!.map((c) => tree.getTreeItem(c));
    assert.deepEqual(items.map((i) => [i.description, icon(i)]), [
      [`running · not fenced · from ${copySnapshotId} · restored 1 hour ago`, 'debug-alt'],
      [`exited · not fenced · from ${copySnapshotId} · restored 2 days ago · stale`, 'warning'],
    ]);
    assert.match(String(items[1]!.tooltip), /stale: it still holds production's data; discard it when done/);
    fake.settings.set('snapdebug.copies.staleAfterHours', 0);
    const never = makeServices(makeCore({ debug: podmanHost(entries) }), clock).views.copies;
    const neverItems = (await never.getChildren((await never.getChildren())![0]))!.map((c) => never.getTreeItem(c));
    assert.ok(neverItems.every((i) => !String(i.description).includes('stale')));
  });

  it('a slow host does not hold the view back: it shows as loading, and the view redraws when it answers', async () => {
    const slow = gatedHost('slow', [], podmanHost(debugPsEntries()));
    fake.settings.set('snapdebug.hosts', ['prod', 'slow']);
    const services = makeServices(makeCore({ prod: podmanHost(prodPsEntries()), slow: slow.script }));
    const tree = services.views.copies;
    let redraws = 0;
    tree.onDidChangeTreeData(() => redraws++);
    let answered = false;
    const children = Promise.resolve(tree.getChildren()).then((nodes) => ((answered = true), nodes));
    // prod answers at once (its timer is cancelled); slow's listing waits, and so does the view...
    await waitFor(() => services.clock.pending === 1, 'prod answered, only the slow host is waited for');
    assert.equal(answered, false, 'the view waits up to slowHostMs for every host');
    // ...until the slow-host time has passed (on the test's clock, not the wall's).
    services.clock.advance(2000);
    const first = (await children)!.map((h) => tree.getTreeItem(h));
    assert.deepEqual(first.map((i) => [i.label, i.description]), [
      ['prod', '1 copy'],
      ['slow', 'loading…'],
    ]);
    slow.release();
    await waitFor(async () => redraws > 0, 'a redraw once the slow host answered');
    const second = (await tree.getChildren())!.map((h) => tree.getTreeItem(h));
    assert.deepEqual(second.map((i) => [i.label, i.description]), [
      ['prod', '1 copy'],
      ['slow', '2 copies'],
    ]);
  });
});
