// What the extension tests share: the fake vscode (registered before any extension module loads),
// a Core whose hosts are real Host objects over a scripted Runner (so podman's argv builders and
// JSON schemas run for real, on fixtures captured from the lab), services as activate() builds
// them (createServices, with a clock the test moves), snapshots committed to a real store, and a
// condition-based wait instead of sleeps.
//
// Test files import this module statically and the extension's modules with top-level
// `await import()`: a static import of src/extension would be resolved before the registration
// below had run. Top-level await also makes mocha load the file as ES module (its require()
// attempt fails first), so the extension, the core and this fake have one instance each.
// The price: when such a file cannot load (a wrong import name, say), mocha reports only tsx's
// "Top-level await is currently not supported with the cjs output format". The real error:
//   node --import tsx --input-type=module -e "globalThis.describe = () => {}; await import('./test/unit/extension/X.test.ts')"
import './register-fake-vscode.mjs';
import { createHash } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import type * as vscode from 'vscode';
import type { Core } from '../../../src/core/core';
import { defaultCoreSettings } from '../../../src/core/core';
import { Host } from '../../../src/core/host';
import type { HostRegistry } from '../../../src/core/hosts';
import { SnapshotStore, type SnapshotMeta } from '../../../src/core/snapshot/store';
import { KeyedLocks } from '../../../src/core/util/semaphore';
import type { RunOptions, RunResult, Runner, StreamProcess } from '../../../src/core/ssh/runner';
import { fixture, ManualClock } from '../helpers';
import { fake, workspace } from './fakeVscode';

const { createLog } = await import('../../../src/extension/log');
const { createServices } = await import('../../../src/extension/services');
const { readOnlyScheme } = await import('../../../src/extension/documents');
type Services = import('../../../src/extension/services').Services;

export { fake };

// ---- a scripted host ---------------------------------------------------------------------------

export interface Reply {
  stdout?: string;
  stderr?: string;
  exitCode?: number | null;
}

/**
 * Answers one command. `words` is the command without the privilege prefix Host adds
 * (`sudo -n env PODMAN_IGNORE_CGROUPSV1_WARNING=1`), e.g. ['podman', 'ps', '--all', ...].
 * Throwing (or rejecting) is a connection failure; a non-zero exitCode is podman failing.
 */
export type Script = (words: string[], options: RunOptions) => Reply | Promise<Reply>;

function withoutPrefix(argv: readonly string[]): string[] {
  const words = [...argv];
  while (words.length > 0 && (words[0] === 'sudo' || words[0] === '-n' || words[0] === 'env' || /^[A-Z_][A-Z0-9_]*=/.test(words[0]!))) words.shift();
  return words;
}

/** The words of a command joined, for matching: 'podman container inspect --format json x'. */
export function commandText(words: string[]): string {
  return words.join(' ');
}

export class ScriptedRunner implements Runner {
  constructor(
    readonly label: string,
    private readonly script: Script,
    /** Every command run, without the privilege prefix. */
    readonly ran: string[][] = [],
    /** Every streaming command started (image save/load, archive transfers). */
    readonly started: string[][] = [],
  ) {}

  drops(): number {
    return 0;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const words = withoutPrefix(argv);
    this.ran.push(words);
    const reply = await this.script(words, options);
    return { stdout: reply.stdout ?? '', stderr: reply.stderr ?? '', exitCode: reply.exitCode === undefined ? 0 : reply.exitCode };
  }

  async start(argv: readonly string[]): Promise<StreamProcess> {
    const words = withoutPrefix(argv);
    this.started.push(words);
    throw new Error(`${this.label}: streaming "${commandText(words)}" is not scripted in unit tests`);
  }
}

/** The HostRegistry surface the extension uses, over scripted runners. */
export class FakeHostRegistry {
  readonly forgotten: string[] = [];
  /** Commands (and streams started) per host name, kept across forget(). */
  readonly ran = new Map<string, string[][]>();
  readonly started = new Map<string, string[][]>();
  private readonly hosts = new Map<string, Host>();
  readonly pool: { configFile: string };

  constructor(
    private readonly scripts: Record<string, Script>,
    private readonly configuredNames: string[] = Object.keys(scripts),
    configFile = '/nonexistent/ssh_config',
  ) {
    this.pool = { configFile };
  }

  configured(): string[] {
    return [...this.configuredNames];
  }

  get(name: string): Host {
    let host = this.hosts.get(name);
    if (!host) {
      const script = this.scripts[name] ?? (() => Promise.reject(new Error(`ssh: Could not resolve hostname ${name}`)));
      if (!this.ran.has(name)) this.ran.set(name, []);
      if (!this.started.has(name)) this.started.set(name, []);
      const runner = new ScriptedRunner(name, script, this.ran.get(name), this.started.get(name));
      host = new Host(name, runner, { sudo: false });
      this.hosts.set(name, host);
    }
    return host;
  }

  /** Like the real registry: the next get() builds a new Host (new connection, capabilities probed again). */
  forget(name: string): void {
    this.forgotten.push(name);
    this.hosts.delete(name);
  }

  lanes(name: string): Host[] {
    return [this.get(name)];
  }

  reload(): void {}
  dispose(): void {}

  /** Every command a host of this name ran, as text, across forget(). */
  ranOn(name: string): string[] {
    return (this.ran.get(name) ?? []).map(commandText);
  }

  /** Every streaming command a host of this name started, as text. */
  startedOn(name: string): string[] {
    return (this.started.get(name) ?? []).map(commandText);
  }
}

export interface FakeCore extends Core {
  fakeHosts: FakeHostRegistry;
  logged: string[];
}

export function makeCore(scripts: Record<string, Script>, storeDir = '/nonexistent/snapdebug-store', configured?: string[]): FakeCore {
  const fakeHosts = new FakeHostRegistry(scripts, configured);
  const logged: string[] = [];
  return {
    hosts: fakeHosts as unknown as HostRegistry,
    fakeHosts,
    store: new SnapshotStore(storeDir),
    settings: { ...defaultCoreSettings },
    log: (line) => logged.push(line),
    locks: new KeyedLocks(),
    logged,
    dispose: () => undefined,
  };
}

// ---- podman fixtures (podman 5.4.2, captured from the lab) ------------------------------------

export const psFixtureText = readFileSync(fixture('ps.json'), 'utf8');
const inspectTemplate = (JSON.parse(readFileSync(fixture('inspect-demo-api.json'), 'utf8')) as Record<string, unknown>[])[0]!;
export const topFixtureText = readFileSync(fixture('top-demo-sleeper.txt'), 'utf8');

/** The raw entries of the real `podman ps --all --format json`, to derive variants from. */
export function psEntries(): Array<Record<string, unknown> & { Id: string; Names: string[]; State: string; Labels: Record<string, string> | null }> {
  return JSON.parse(psFixtureText) as ReturnType<typeof psEntries>;
}

/** `podman container inspect` output for one container, from the real demo-api inspect. */
export function inspectEntry(id: string, name: string, state: { Status: string; Running: boolean; Checkpointed?: boolean }): Record<string, unknown> {
  const template = structuredClone(inspectTemplate) as Record<string, unknown> & { State: Record<string, unknown> };
  return { ...template, Id: id, Name: name, State: { ...template.State, ...state, Pid: state.Running ? 80 : 0 } };
}

export type PsFixtureEntry = ReturnType<typeof psEntries>[number];

/** The snapshot the copy in prodPsEntries() was restored from. */
export const copySnapshotId = 'demo-api-20261126-084800-ab12';

/**
 * prod as the real fixture shows it, changed so that every container state appears:
 * demo-sleeper stopped and holding a checkpoint, demo-native stopped without one, and
 * demo-python one of our copies (snapdebug.origin label). demo-api is left as captured.
 */
export function prodPsEntries(): PsFixtureEntry[] {
  return psEntries().map((entry) => {
    const name = entry.Names[0];
    if (name === 'demo-sleeper' || name === 'demo-native') return { ...entry, State: 'exited', Status: 'Exited (0) 1 minute ago' };
    if (name === 'demo-python') return { ...entry, Labels: { ...entry.Labels, 'snapdebug.origin': copySnapshotId, 'snapdebug.source': 'prod/demo-api' } };
    return entry;
  });
}

/** A debug host holding two copies of the captured demo-api: one running, one stopped. */
export function debugPsEntries(): PsFixtureEntry[] {
  const api = psEntries().find((e) => e.Names[0] === 'demo-api')!;
  const labels = { ...api.Labels, 'snapdebug.origin': copySnapshotId, 'snapdebug.source': 'prod/demo-api' };
  return [
    { ...api, Labels: labels },
    { ...api, Id: `d${api.Id.slice(1)}`, Names: ['demo-api-copy1'], State: 'exited', Status: 'Exited (137) 5 minutes ago', Labels: labels },
  ];
}

export const checkpointedNames = ['demo-sleeper'];

/**
 * A host running podman with these containers: answers ps, container inspect (State.Checkpointed
 * for the named ones), container exists, image exists (for the listed images), top (the captured
 * demo-sleeper processes) and rm; anything else fails as podman would on an unknown command.
 */
export function podmanHost(entries: PsFixtureEntry[], options: { checkpointed?: string[]; images?: string[] } = {}): Script {
  const checkpointed = options.checkpointed ?? checkpointedNames;
  const images = options.images ?? entries.map((e) => e.Image as string);
  const find = (ref: string) => entries.find((e) => e.Id === ref || e.Id.startsWith(ref) || e.Names.includes(ref));
  return (words) => {
    if (words[0] !== 'podman') return { exitCode: 127, stderr: `${words[0]}: command not found` };
    const [, verb, sub] = words;
    if (verb === 'ps') return { stdout: JSON.stringify(entries) };
    if (verb === 'container' && sub === 'inspect') {
      const refs = words.slice(words.indexOf('json') + 1);
      const found = refs.map((ref) => find(ref));
      if (found.some((e) => e === undefined)) return { exitCode: 125, stderr: 'Error: no such container' };
      return {
        stdout: JSON.stringify(
          found.map((e) => inspectEntry(e!.Id, e!.Names[0]!, { Status: e!.State, Running: e!.State === 'running', Checkpointed: checkpointed.includes(e!.Names[0]!) })),
        ),
      };
    }
    if (verb === 'container' && sub === 'exists') return find(words[3]!) ? {} : { exitCode: 1 };
    if (verb === 'image' && sub === 'exists') return images.includes(words[3]!) ? {} : { exitCode: 1 };
    if (verb === 'top') return find(words[2]!) ? { stdout: topFixtureText } : { exitCode: 125, stderr: 'Error: no such container' };
    if (verb === 'rm' || (verb === 'container' && sub === 'rm')) return { stdout: `${words.at(-1)}\n` };
    return { exitCode: 125, stderr: `Error: unscripted podman command: ${commandText(words)}` };
  };
}

export const infoFixtureText = readFileSync(fixture('info.json'), 'utf8');

// The option lists of podman 5.4.2's --help (abridged to the flags; 5.4 has no --tcp-close).
export const checkpointHelpText = `Usage:
  podman container checkpoint [options] CONTAINER [CONTAINER...]

Options:
  -a, --all                 Checkpoint all running containers
  -c, --compress string     Select compression algorithm (gzip, none, zstd) for checkpoint archive. (default "zstd")
      --create-image string Create checkpoint image with specified name
  -e, --export string       Export the checkpoint image to a tar.gz
      --file-locks          Checkpoint a container with file locks
      --ignore-rootfs       Do not include root file-system changes when exporting
      --ignore-volumes      Do not export volumes associated with container
  -k, --keep                Keep all temporary checkpoint files
  -R, --leave-running       Leave the container running after writing checkpoint to disk
  -P, --pre-checkpoint      Dump container's memory information only, leave the container running
      --print-stats         Display checkpoint statistics
      --tcp-established     Checkpoint a container with established TCP connections
      --with-previous       Checkpoint container with pre-checkpoint images
`;
export const restoreHelpText = `Usage:
  podman container restore [options] CONTAINER|IMAGE [CONTAINER|IMAGE...]

Options:
  -a, --all                     Restore all checkpointed containers
      --file-locks              Restore a container with file locks
      --ignore-rootfs           Do not apply root file-system changes when importing from exported checkpoint
      --ignore-static-ip        Ignore IP address set via --static-ip
      --ignore-static-mac       Ignore MAC address set via --mac-address
      --ignore-volumes          Do not export volumes associated with container
  -i, --import string           Restore from exported checkpoint archive (tar.gz)
      --import-previous string  Restore from exported pre-checkpoint archive (tar.gz)
  -k, --keep                    Keep all temporary checkpoint files
  -n, --name string             Specify new name for container restored from exported checkpoint (only works with image or --import)
      --pod string              Restore container into existing Pod (only works with image or --import)
      --print-stats             Display restore statistics
  -p, --publish strings         Publish a container's port, or a range of ports, to the host (default [])
      --tcp-established         Restore a container with established TCP connections
`;

/** Adds what Host.capabilities() probes (podman info, checkpoint/restore --help, criu --version) to a host script. */
export function withCapabilities(script: Script): Script {
  return (words, options) => {
    const text = commandText(words);
    if (text === 'criu --version') return { stdout: 'Version: 4.1\n' };
    if (words[0] === 'podman' && words[1] === 'info') return { stdout: infoFixtureText };
    if (text.startsWith('podman container checkpoint --help')) return { stdout: checkpointHelpText };
    if (text.startsWith('podman container restore --help')) return { stdout: restoreHelpText };
    return script(words, options);
  };
}

/** A host whose connection fails with this message. */
export function unreachableHost(message: string): Script {
  return () => Promise.reject(new Error(message));
}

// ---- services as activate() builds them --------------------------------------------------------

export interface TestServices extends Services {
  refreshed: number;
  channel: import('./fakeVscode').FakeLogOutputChannel;
  clock: ManualClock;
}

export function makeContext(): vscode.ExtensionContext & { subscriptions: { dispose(): unknown }[] } {
  const secrets = new Map<string, string>();
  return {
    subscriptions: [],
    secrets: {
      get: async (key: string) => secrets.get(key),
      store: async (key: string, value: string) => void secrets.set(key, value),
      delete: async (key: string) => void secrets.delete(key),
    },
  } as unknown as vscode.ExtensionContext & { subscriptions: { dispose(): unknown }[] };
}

/**
 * Services as activate() builds them (createServices), with the given core and a clock the test
 * moves; hostNames() follows snapdebug.hosts, else the core's SSH config. refreshAll() only counts.
 */
export function makeServices(core: Core, clock = new ManualClock()): TestServices {
  const log = createLog();
  const services = createServices({ context: makeContext(), log, core: () => core, clock }) as TestServices;
  services.channel = log.channel as unknown as import('./fakeVscode').FakeLogOutputChannel;
  services.refreshed = 0;
  services.refreshAll = () => {
    services.refreshed++;
  };
  workspace.registerTextDocumentContentProvider(readOnlyScheme, services.documents);
  return services;
}

// ---- snapshots in a real store -----------------------------------------------------------------

export function snapshotMeta(store: SnapshotStore, overrides: Partial<SnapshotMeta> & { id: string }): SnapshotMeta {
  const compression = overrides.compression ?? 'zstd';
  return {
    kind: 'checkpoint',
    createdAt: '2026-11-26T08:48:00.000Z',
    source: { host: 'prod', container: 'demo-api', containerId: '5c80f3f0f8cd', image: 'localhost/snapdebug/demo-api:latest', imageId: 'b1d2c3e4f5a6' },
    podmanVersion: '5.4.2',
    criuVersion: '4.1',
    options: { leaveRunning: true, compress: compression },
    compression,
    archive: store.archiveName(overrides.id, compression),
    size: 48 * 1024 * 1024,
    sha256: 'ab'.repeat(32),
    criu: { freezingTimeUs: 2150, frozenTimeUs: 112924, memdumpTimeUs: 40210, memwriteTimeUs: 30100, pagesScanned: 12000, pagesSkippedParent: 0, pagesWritten: 9100 },
    sourceLeftRunning: true,
    timings: { checkpointMs: 500, totalMs: 900 },
    ...overrides,
  };
}

/** sha256 of the sparse archives addSnapshot writes ("archive bytes", then zeros), by size. */
const sparseHashes = new Map<number, string>();

/**
 * Writes a `.part` as a download does and commits it, so the store holds archive + metadata. The
 * archive is sparse, of the metadata's size, with the sha256 the metadata records (the store
 * checks both).
 */
export function addSnapshot(store: SnapshotStore, overrides: Partial<SnapshotMeta> & { id: string }): SnapshotMeta {
  store.ensure();
  const part = store.partPath(overrides.id);
  const draft = snapshotMeta(store, overrides);
  writeFileSync(part, 'archive bytes', { mode: 0o600 });
  truncateSync(part, draft.size);
  if (!sparseHashes.has(draft.size)) sparseHashes.set(draft.size, createHash('sha256').update(readFileSync(part)).digest('hex'));
  return store.commit(part, { ...draft, sha256: overrides.sha256 ?? sparseHashes.get(draft.size)! });
}

/** A snapshot whose archive is a real one of the lab's (test/fixtures), to read its insides. */
export function addFixtureSnapshot(store: SnapshotStore, id: string, fixtureName: string, overrides: Partial<SnapshotMeta> = {}): SnapshotMeta {
  store.ensure();
  const part = store.partPath(id);
  writeFileSync(part, readFileSync(fixture(fixtureName)), { mode: 0o600 });
  return store.commit(part, snapshotMeta(store, { id, size: readFileSync(part).length, ...overrides }));
}

// ---- waiting on conditions ---------------------------------------------------------------------

/** Resolves once `condition` holds, checking after every turn of the event loop; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A promise and its resolve, for holding a scripted answer back until a test releases it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// ---- walking a tree like the view does -------------------------------------------------------

export interface Walked<T> {
  node: T;
  item: vscode.TreeItem;
  depth: number;
}

/** Every node of a tree, depth first, with its TreeItem, expanding every node as a user would. */
export async function walkTree<T>(tree: vscode.TreeDataProvider<T>, parent?: T, depth = 0): Promise<Walked<T>[]> {
  const children = (await tree.getChildren(parent)) ?? [];
  const out: Walked<T>[] = [];
  for (const node of children) {
    out.push({ node, item: await tree.getTreeItem(node), depth });
    out.push(...(await walkTree(tree, node, depth + 1)));
  }
  return out;
}
