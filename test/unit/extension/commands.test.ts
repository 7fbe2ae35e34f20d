// Command handlers against the fake API and a scripted core: Copy CLI Command (a line the CLI
// really accepts), Add Host (validation, the setting), Delete Snapshot (modal, files), Discard Copy
// (the core refuses what is not ours), Restore on Host (the missing image offer and its retry) and
// Snapshot & Debug of a JVM without a JDWP agent (refused before production, a copy offered).
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  addSnapshot,
  copySnapshotId,
  debugPsEntries,
  fake,
  makeCore,
  makeServices,
  podmanHost,
  prodPsEntries,
  psEntries,
  withCapabilities,
} from './harness';
import { ConfigurationTarget, acceptPicked, pickLabel } from './fakeVscode';
import { plannedTempDir, shellWords } from '../helpers';

const { cliCommandFor, copyCliCommand } = await import('../../../src/extension/commands/copyCliCommand');
const { addHost } = await import('../../../src/extension/commands/addHost');
const { deleteSnapshot } = await import('../../../src/extension/commands/deleteSnapshot');
const { discardCopy } = await import('../../../src/extension/commands/discardCopy');
const { restoreSnapshot } = await import('../../../src/extension/commands/restoreSnapshot');
const { offerServicePorts, snapshotAndDebug } = await import('../../../src/extension/commands/snapshotAndDebug');
const { ContainerNode } = await import('../../../src/extension/tree/hostsTree');
const { SnapshotNode } = await import('../../../src/extension/tree/snapshotsTree');
const { CopyNode } = await import('../../../src/extension/tree/copiesTree');
const { commands: cliCommands, main: cliMain } = await import('../../../src/cli/cli');
type ContainerInfo = import('../../../src/extension/tree/hostsTree').ContainerInfo;

function container(overrides: Partial<ContainerInfo> = {}): InstanceType<typeof ContainerNode> {
  return new ContainerNode({ host: 'prod', name: 'demo-api', id: '5c80f3f0f8cd', image: 'localhost/snapdebug/demo-api:latest', state: 'running', startedAt: 1795682859, createdAt: 1795682800, checkpointed: false, copyOf: undefined, ...overrides });
}

/** Fails unless the real CLI parses the line: known command, known options, right number of positionals. */
async function assertCliAccepts(line: string): Promise<void> {
  const [program, ...argv] = shellWords(line);
  assert.equal(program, 'snapdebug');
  const written: string[] = [];
  const { write: out } = process.stdout;
  const { write: err } = process.stderr;
  process.stdout.write = process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stdout.write;
  let code: number;
  try {
    code = await cliMain([...argv, '--help']); // parses strictly, then prints help instead of running
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  assert.equal(code, 0, `the CLI rejects "${line}":\n${written.join('')}`);
  const globals = { 'ssh-config': { type: 'string' }, 'known-hosts': { type: 'string' }, store: { type: 'string' }, sudo: { type: 'boolean' }, 'remote-tmp': { type: 'string' } } as const;
  let at = 0; // the command word: global options (and their values) may come first
  while (argv[at]!.startsWith('-')) at += (globals as Record<string, { type: string }>)[argv[at]!.slice(2)]?.type === 'string' ? 2 : 1;
  const command = cliCommands.find((c) => c.name === argv[at])!;
  const { positionals } = parseArgs({ args: [...argv.slice(0, at), ...argv.slice(at + 1)], options: { ...globals, ...command.options }, allowPositionals: true, strict: true });
  assert.ok(positionals.length >= command.positionals[0] && positionals.length <= command.positionals[1], `${command.usage}: ${line}`);
}

describe('Copy CLI Command', () => {
  beforeEach(() => fake.reset());
  const services = () => makeServices(makeCore({}));

  it('for a running container: checkpoint it, or Snapshot & Debug to the default debug host', async () => {
    assert.equal(cliCommandFor(services(), container()), 'snapdebug checkpoint prod/demo-api');
    fake.settings.set('snapdebug.defaultDebugHost', 'debug');
    const line = cliCommandFor(services(), container())!;
    assert.equal(line, 'snapdebug debug prod/demo-api --to debug');
    await assertCliAccepts(line);
  });

  it('for a checkpointed container: restore in place, keeping the checkpoint', async () => {
    const line = cliCommandFor(services(), container({ name: 'demo-sleeper', state: 'exited', checkpointed: true }))!;
    assert.equal(line, 'snapdebug restore prod/demo-sleeper --keep');
    await assertCliAccepts(line);
  });

  it('for a copy, in the Hosts or the Copies view: attach to it', async () => {
    const fromHosts = cliCommandFor(services(), container({ name: 'demo-python', copyOf: copySnapshotId }))!;
    assert.equal(fromHosts, 'snapdebug attach prod/demo-python');
    const fromCopies = cliCommandFor(services(), new CopyNode({ host: 'debug', name: 'demo-api-copy1', id: 'd1', state: 'exited', snapshot: copySnapshotId, source: 'prod/demo-api' }))!;
    assert.equal(fromCopies, 'snapdebug attach debug/demo-api-copy1');
    await assertCliAccepts(fromHosts);
  });

  it('for a snapshot: restore it on the default debug host, else on a HOST to fill in', async () => {
    const temp = plannedTempDir('cli-snapshot');
    temp.create();
    try {
      const core = makeCore({}, temp.dir);
      const meta = addSnapshot(core.store, { id: copySnapshotId });
      assert.equal(cliCommandFor(makeServices(core), new SnapshotNode(meta)), `snapdebug restore ${copySnapshotId} --to HOST`);
      fake.settings.set('snapdebug.defaultDebugHost', 'debug');
      const line = cliCommandFor(makeServices(core), new SnapshotNode(meta))!;
      assert.equal(line, `snapdebug restore ${copySnapshotId} --to debug`);
      await assertCliAccepts(line);
    } finally {
      temp.cleanup();
    }
  });

  it('passes the SSH config and store from the settings, shell-quoted', async () => {
    fake.settings.set('snapdebug.sshConfigFile', '~/.ssh/lab config');
    fake.settings.set('snapdebug.snapshotDirectory', "/srv/it's snapshots");
    const line = cliCommandFor(services(), container())!;
    assert.equal(line, `snapdebug --ssh-config '${process.env.HOME ?? ''}/.ssh/lab config' --store '/srv/it'\\''s snapshots' checkpoint prod/demo-api`);
    assert.deepEqual(shellWords(line), ['snapdebug', '--ssh-config', `${process.env.HOME ?? ''}/.ssh/lab config`, '--store', "/srv/it's snapshots", 'checkpoint', 'prod/demo-api']);
    await assertCliAccepts(line);
  });

  it('passes the known_hosts file the extension verifies host keys against', () => {
    fake.settings.set('snapdebug.knownHostsFile', '/etc/snapdebug/known_hosts');
    const words = shellWords(cliCommandFor(services(), container())!);
    assert.deepEqual(words.slice(words.indexOf('--known-hosts'), words.indexOf('--known-hosts') + 2), ['--known-hosts', '/etc/snapdebug/known_hosts'], words.join(' '));
  });

  it('passes --sudo when the extension runs podman through sudo on that host', () => {
    fake.settings.set('snapdebug.useSudo', ['prod']);
    assert.ok(shellWords(cliCommandFor(services(), container())!).includes('--sudo'), 'podman on prod needs sudo from the terminal too');
    fake.settings.set('snapdebug.useSudo', ['*']);
    assert.ok(shellWords(cliCommandFor(services(), container())!).includes('--sudo'), 'useSudo * means every host');
  });

  it('copies the line to the clipboard and says so; without a node it explains where to click', async () => {
    const s = services();
    await copyCliCommand.run(s, container());
    assert.equal(fake.clipboard, 'snapdebug checkpoint prod/demo-api');
    assert.deepEqual(fake.messagesOf('information'), ['Copied: snapdebug checkpoint prod/demo-api']);
    fake.clipboard = 'untouched';
    await copyCliCommand.run(s, undefined);
    assert.equal(fake.clipboard, 'untouched');
    assert.match(fake.messagesOf('information')[1]!, /^Right-click a container, snapshot or copy/);
  });
});

describe('Add Host', () => {
  beforeEach(() => fake.reset());

  it('validates what is typed: a host spec, not one already listed', async () => {
    const services = makeServices(makeCore({}, undefined, ['prod', 'debug']));
    let validate: ((value: string) => unknown) | undefined;
    fake.answerInputBox((options) => {
      validate = options.validateInput as (value: string) => unknown;
      return undefined; // then Escape
    });
    await addHost.run(services);
    assert.ok(validate);
    assert.match(String(validate('root@192.0.2.10:99999')), /out of range/);
    assert.match(String(validate('bad user!@192.0.2.10')), /is not a host/);
    assert.match(String(validate('192.0.2.10:ssh')), /is not a host/);
    assert.equal(validate('prod'), 'That host is already listed.');
    assert.equal(validate(' root@192.0.2.10:22 '), undefined);
    assert.equal(validate('lab-debug'), undefined);
    assert.match(fake.inputBoxes[0]!.prompt!, /\(prod, debug\)/, 'the prompt names the SSH config hosts');
    assert.deepEqual(fake.settingUpdates, [], 'Escape changes nothing');
    assert.equal(services.refreshed, 0);
  });

  it('appends the host to snapdebug.hosts (user settings), keeping the SSH config hosts shown so far, and refreshes', async () => {
    const services = makeServices(makeCore({}, undefined, ['prod', 'debug']));
    fake.answerInputBox(' root@192.0.2.10:22 ');
    await addHost.run(services);
    assert.deepEqual(fake.settingUpdates, [{ key: 'snapdebug.hosts', value: ['prod', 'debug', 'root@192.0.2.10:22'], target: ConfigurationTarget.Global }]);
    assert.equal(services.refreshed, 1);

    fake.answerInputBox('lab-debug');
    await addHost.run(services);
    assert.deepEqual(fake.settings.get('snapdebug.hosts'), ['prod', 'debug', 'root@192.0.2.10:22', 'lab-debug']);
  });
});

describe('Delete Snapshot', () => {
  const temp = plannedTempDir('delete-snapshot');
  beforeEach(() => {
    fake.reset();
    temp.create();
  });
  afterEach(() => temp.cleanup());

  function setUp() {
    const core = makeCore({}, temp.dir);
    const pre = addSnapshot(core.store, { id: 'demo-api-20261126-084500-cd34', kind: 'pre-checkpoint', createdAt: '2026-11-26T08:45:00.000Z' });
    addSnapshot(core.store, { id: copySnapshotId, parent: pre.id });
    const services = makeServices(core);
    let refreshed = 0;
    services.views.snapshots.onDidChangeTreeData(() => refreshed++);
    const files = [core.store.archivePath(pre), join(core.store.dir, `${pre.id}.json`)];
    return { core, services, pre, files, refreshed: () => refreshed };
  }

  it('asks a modal confirmation naming the secrets and the checkpoints built on it; Cancel keeps the files', async () => {
    const { services, pre, files, refreshed } = setUp();
    await deleteSnapshot.run(services, new SnapshotNode(pre));
    assert.equal(fake.messages.length, 1);
    const question = fake.messages[0]!;
    assert.equal(question.kind, 'warning');
    assert.equal(question.message, `Delete snapshot ${pre.id}?`);
    assert.equal(question.options?.modal, true);
    assert.match(question.options?.detail ?? '', /secrets included\. 1 checkpoint\(s\) built on it can no longer be restored\./);
    assert.deepEqual(question.items, ['Delete']);
    assert.ok(files.every((f) => existsSync(f)), 'nothing deleted');
    assert.equal(refreshed(), 0);
  });

  it("removes the archive and its metadata only on 'Delete', and refreshes the view", async () => {
    const { core, services, pre, files, refreshed } = setUp();
    fake.answerMessage = (m) => (m.options?.modal ? 'Delete' : undefined);
    await deleteSnapshot.run(services, new SnapshotNode(pre));
    assert.deepEqual(files.filter((f) => existsSync(f)), []);
    assert.deepEqual(core.store.list().map((m) => m.id), [copySnapshotId], 'the other snapshot stays');
    assert.equal(refreshed(), 1);
    assert.ok(core.logged.includes(`deleted snapshot ${pre.id}`), core.logged.join('\n'));
  });

  it('from the palette: picks among checkpoints and pre-checkpoints first', async () => {
    const { core, services, pre } = setUp();
    fake.answerQuickPick(pickLabel(pre.id));
    fake.answerMessage = () => 'Delete';
    await deleteSnapshot.run(services, undefined);
    assert.deepEqual(fake.quickPicks[0]!.items.map((i) => (i as { label: string }).label).sort(), [copySnapshotId, pre.id].sort());
    assert.deepEqual(core.store.list().map((m) => m.id), [copySnapshotId]);
  });
});

describe('Discard Copy', () => {
  beforeEach(() => fake.reset());

  it('is refused by the core for a container without the snapdebug.origin label: nothing is removed', async () => {
    // The Hosts view believed demo-api was a copy; prod's podman says no container carries our label.
    const core = makeCore({ prod: podmanHost(psEntries()) });
    const services = makeServices(core);
    fake.answerMessage = (m) => (m.options?.modal ? 'Discard' : undefined);
    await discardCopy.run(services, container({ copyOf: copySnapshotId }));
    assert.deepEqual(fake.messagesOf('error'), [
      'Discard demo-api: demo-api on prod is not a copy restored by snapdebug (no snapdebug.origin label); refusing to remove it.',
    ]);
    assert.deepEqual(core.fakeHosts.ranOn('prod').filter((c) => / rm /.test(` ${c} `)), [], 'no podman rm');
  });

  it('removes a copy after the modal confirmation, and nothing without it', async () => {
    const core = makeCore({ debug: podmanHost(debugPsEntries()) });
    const services = makeServices(core);
    const copy = new CopyNode({ host: 'debug', name: 'demo-api-copy1', id: 'd', state: 'exited', snapshot: copySnapshotId, source: 'prod/demo-api' });

    await discardCopy.run(services, copy);
    assert.equal(fake.messages[0]!.options?.modal, true);
    assert.match(fake.messages[0]!.options?.detail ?? '', /restored from demo-api-20261126-084800-ab12\. The snapshot stays in the store\./);
    assert.deepEqual(core.fakeHosts.ranOn('debug'), [], 'declined: not even listed');

    fake.answerMessage = (m) => (m.options?.modal ? 'Discard' : undefined);
    await discardCopy.run(services, copy);
    assert.deepEqual(core.fakeHosts.ranOn('debug').filter((c) => c.startsWith('podman rm')), ['podman rm --force --time 0 demo-api-copy1']);
    assert.deepEqual(fake.messagesOf('error'), []);
    assert.equal(services.refreshed, 1);
  });
});

describe('Restore on Host', () => {
  const temp = plannedTempDir('restore-snapshot');
  beforeEach(() => {
    fake.reset();
    temp.create();
  });
  afterEach(() => temp.cleanup());

  /** prod has the image; debug runs two copies already and lacks it. */
  function setUp() {
    fake.settings.set('snapdebug.hosts', ['prod', 'debug']);
    const core = makeCore({ prod: withCapabilities(podmanHost(prodPsEntries())), debug: withCapabilities(podmanHost(debugPsEntries(), { images: [] })) }, temp.dir);
    const meta = addSnapshot(core.store, { id: copySnapshotId });
    const services = makeServices(core);
    fake.answerQuickPick(pickLabel('debug')); // the host
    fake.answerQuickPick(acceptPicked); // the options, as pre-selected from the settings
    fake.answerInputBox((options) => options.value); // the proposed name
    return { core, services, meta };
  }

  it('offers to copy the missing image from the source host, and the retry transfers it', async () => {
    const { core, services, meta } = setUp();
    fake.answerMessage = (m) => m.items.find((i) => i.startsWith('Copy Image from'));
    await restoreSnapshot.run(services, new SnapshotNode(meta));

    assert.equal(fake.inputBoxes[0]!.value, 'demo-api-copy2', 'the next free name on debug');
    const offer = fake.messages.find((m) => m.items.some((i) => i.startsWith('Copy Image from')))!;
    assert.equal(offer.message, 'The image localhost/snapdebug/demo-api:latest is not on debug, so podman cannot restore the snapshot there.');
    assert.deepEqual(offer.items, ['Copy Image from prod']);
    assert.equal(fake.progress.length, 2, 'restored twice: as asked, then with the image');
    // Only the retry copies the image: podman save on the source host, streamed to debug.
    assert.deepEqual(core.fakeHosts.startedOn('prod'), ['podman save --format oci-archive localhost/snapdebug/demo-api:latest']);
    // The scripted stream cannot start, so the retry fails, and says so.
    assert.match(fake.messagesOf('error').at(-1)!, /^Restore demo-api on debug: prod: streaming "podman save/);
    assert.equal(services.refreshed, 1);
  });

  it('declining the offer restores nothing more', async () => {
    const { core, services, meta } = setUp();
    await restoreSnapshot.run(services, new SnapshotNode(meta));
    assert.ok(fake.messages.some((m) => m.items.includes('Copy Image from prod')));
    assert.equal(fake.progress.length, 1);
    assert.deepEqual(core.fakeHosts.startedOn('prod'), []);
    assert.ok(!core.fakeHosts.ranOn('debug').some((c) => c.startsWith('podman container restore') && !c.endsWith('--help')), 'no restore ran');
  });
});

describe('Snapshot & Debug: the copy\'s forwarded ports', () => {
  beforeEach(() => fake.reset());

  it('says where the copy\'s ports are and opens the first in a browser when asked', async () => {
    fake.answerMessage = (m) => (m.items.includes('Open in Browser') ? 'Open in Browser' : undefined);
    await offerServicePorts('api-snap-120000', [
      { port: '8080/tcp', local: 41000 },
      { port: '9090/tcp', local: 41001 },
    ]);
    assert.deepEqual(fake.messagesOf('information'), ['api-snap-120000: its 8080/tcp at 127.0.0.1:41000, 9090/tcp at 127.0.0.1:41001, while the debug session lasts.']);
    assert.deepEqual(fake.openedExternal.map(String), ['http://127.0.0.1:41000/']);
  });

  it('says nothing for a container that published no port', async () => {
    await offerServicePorts('api-snap-120000', []);
    assert.deepEqual(fake.messagesOf('information'), []);
    assert.deepEqual(fake.openedExternal, []);
  });
});

describe('Snapshot & Debug of a JVM without a JDWP agent', () => {
  beforeEach(() => fake.reset());

  /** prod's demo-api runs a JVM without an agent here; debug takes copies. */
  function setUp() {
    const jvm = 'java -Xmx64m -cp /app Demo';
    const prod = withCapabilities((words, options) => (words[1] === 'top' ? { stdout: `HPID PID COMMAND\n4242 1 ${jvm}\n` } : podmanHost(prodPsEntries())(words, options)));
    const core = makeCore({ prod, debug: withCapabilities(podmanHost(debugPsEntries())) });
    fake.settings.set('snapdebug.defaultDebugHost', 'debug');
    return { core, services: makeServices(core) };
  }
  const checkpoints = (core: ReturnType<typeof setUp>['core']) => [...core.fakeHosts.ranOn('prod'), ...core.fakeHosts.startedOn('prod')].filter((c) => /checkpoint(?! --help)/.test(c));

  it('says so before production is touched, and declining leaves it at that', async () => {
    const { core, services } = setUp();
    await snapshotAndDebug.run(services, container());
    const [asked] = fake.messages.filter((m) => m.kind === 'warning');
    assert.match(asked!.message, /^Snapshot & Debug prod\/demo-api: The JVM in demo-api on prod cannot take a debugger: it was started without a JDWP agent, and JDWP cannot be added to a running JVM\.$/);
    assert.deepEqual(asked!.items, ['Restore a Copy Without Debugger']);
    assert.deepEqual(fake.messagesOf('error'), [], 'answered with the offer, not an error');
    assert.deepEqual(checkpoints(core), [], 'no checkpoint was taken');
    assert.equal(fake.progress.length, 1);
  });

  it('accepting restores a copy without a debugger (Snapshot & Restore): past the agent check, on to the copy', async () => {
    const { core, services } = setUp();
    fake.answerMessage = (m) => m.items.find((i) => i === 'Restore a Copy Without Debugger');
    await snapshotAndDebug.run(services, container());
    assert.deepEqual(fake.progress.map((p) => p.options.title), ['Snapshot & Debug prod/demo-api', 'Snapshot & Restore prod/demo-api']);
    // Each run plans the copy on the debug host (its name checked free there) while it checks the
    // agent — the first one's plan stopped by the agent's refusal, the second's by the fake debug
    // host; the scripted hosts have no session for remote work, so neither gets further.
    assert.equal(core.fakeHosts.ranOn('debug').filter((c) => /^podman container exists demo-api-snap-/.test(c)).length, 2);
    // Past the agent check: what stops it now is the copy's own step (here the fake debug host cannot fence).
    assert.equal(fake.messagesOf('error').length, 1);
    assert.match(fake.messagesOf('error')[0]!, /^Snapshot & Restore prod\/demo-api: debug cannot fence copies/);
    assert.deepEqual(checkpoints(core), []);
    assert.equal(fake.startedDebugging.length, 0);
  });
});
