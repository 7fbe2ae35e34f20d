// The services every front end builds once and hands to the workflows: the hosts (pooled SSH),
// the local snapshot store, a log, and settings. There is no global state: the CLI and the
// extension each create their own Core and dispose of it.
import { HostRegistry, type HostRegistryOptions } from './hosts';
import { workflowDefaults } from './options';
import { validateRemotePath } from './podman/names';
import { SnapshotStore } from './snapshot/store';
import type { CommandLogEntry } from './ssh/runner';
import { redact } from './util/redact';
import type { ProgressSink } from './util/progress';
import { KeyedLocks } from './util/semaphore';

export type CheckpointTransport = 'stream' | 'file';

export interface CoreSettings {
  /** Folder on hosts for temporary archives (pushes, file transport); removed in every outcome. */
  remoteTempDir: string;
  /** How a checkpoint leaves the source host: `podman --export /dev/stdout` streamed, or a temp file pulled. */
  transport: CheckpointTransport;
  /** Connections per host for pulling a file in parallel byte ranges. */
  transferLanes: number;
}

export const defaultCoreSettings: CoreSettings = {
  remoteTempDir: workflowDefaults.remoteTempDir,
  transport: 'stream',
  transferLanes: 2,
};

export interface Core {
  hosts: HostRegistry;
  store: SnapshotStore;
  settings: CoreSettings;
  log: (line: string) => void;
  /** Work that must not overlap on one thing (a container's checkpoints), keyed by that thing. */
  locks: KeyedLocks;
  dispose(): void;
}

export interface CoreOptions extends HostRegistryOptions {
  storeDir?: string;
  settings?: Partial<CoreSettings>;
}

export function createCore(options: CoreOptions): Core {
  const settings = { ...defaultCoreSettings, ...options.settings };
  validateRemotePath(settings.remoteTempDir);
  // Whatever a face does with log lines, they leave the core with secrets masked.
  const given = options.log;
  const log = given ? (line: string) => given(redact(line)) : () => undefined;
  const commandLog = options.commandLog;
  const hosts = new HostRegistry({
    ...options,
    log,
    ...(commandLog && { commandLog: (entry: CommandLogEntry) => commandLog({ ...entry, command: redact(entry.command) }) }),
    session: { ...options.session, remoteTempDir: settings.remoteTempDir },
  });
  const store = new SnapshotStore(options.storeDir, { onError: log });
  // Downloads a dead process left half done hold process memory nobody will finish.
  for (const part of store.sweepParts()) log(`removed ${part} from the store: its download was never finished`);
  return {
    hosts,
    store,
    settings,
    log,
    locks: new KeyedLocks(),
    dispose: () => hosts.dispose(),
  };
}

/** What every long workflow takes besides its request: a way to cancel and a place to report. */
export interface WorkControl {
  signal?: AbortSignal;
  progress?: ProgressSink;
}
