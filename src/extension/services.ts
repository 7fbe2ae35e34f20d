// The small services object every tree and command receives — the extension's only state, built
// once by activate() (no module-level state, no singletons): the current core (rebuilt when
// settings change, which closes the old SSH connections), the log, settings, a clock, the
// read-only documents, the open debugger tunnels, and the views to refresh.
import * as vscode from 'vscode';
import { configuredHosts, createCore, systemClock, type Clock, type Core } from '../core';
import { DebugTunnels } from './debug/startDebugger';
import { ReadOnlyDocuments } from './documents';
import type { Log } from './log';
import { createPrompts } from './prompts';
import { readSettings, type Settings } from './settings';
import { CopiesTree } from './tree/copiesTree';
import { HostsTree } from './tree/hostsTree';
import { SnapshotsTree } from './tree/snapshotsTree';

export interface Services {
  context: vscode.ExtensionContext;
  log: Log;
  clock: Clock;
  settings(): Settings;
  core(): Core;
  /** Hosts to show: snapdebug.hosts, else every Host of the SSH config. */
  hostNames(): string[];
  documents: ReadOnlyDocuments;
  tunnels: DebugTunnels;
  views: { hosts: HostsTree; snapshots: SnapshotsTree; copies: CopiesTree };
  refreshAll(): void;
}

/**
 * The services as activate() builds them (tests build theirs here too, with a core of their own
 * and a clock they move). Disposables go to the context's subscriptions.
 */
export function createServices(parts: { context: vscode.ExtensionContext; log: Log; core: () => Core; clock?: Clock }): Services {
  const { context, log, core } = parts;
  const documents = new ReadOnlyDocuments();
  const tunnels = new DebugTunnels();
  context.subscriptions.push(documents, tunnels);
  const services: Services = {
    context,
    log,
    clock: parts.clock ?? systemClock,
    settings: readSettings,
    core,
    hostNames: () => {
      const configured = readSettings().hosts;
      if (configured.length > 0) return configured;
      try {
        return configuredHosts(core());
      } catch (error) {
        log.error(`reading the SSH config: ${(error as Error).message}`);
        return [];
      }
    },
    documents,
    tunnels,
    views: undefined as unknown as Services['views'], // set just below: the views take the services
    refreshAll: () => {
      void services.views.hosts.refresh();
      services.views.snapshots.refresh();
      services.views.copies.refresh();
    },
  };
  services.views = { hosts: new HostsTree(services), snapshots: new SnapshotsTree(services), copies: new CopiesTree(services) };
  return services;
}

export class CoreHolder implements vscode.Disposable {
  private current: Core | undefined;
  /** The settings the current core was built from: a change event that changes none of them keeps it. */
  private builtFrom = '';

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: Log,
  ) {}

  get(): Core {
    if (!this.current) {
      const settings = readSettings();
      this.builtFrom = coreSettingsKey(settings);
      this.current = this.build(settings);
    }
    return this.current;
  }

  /**
   * Drops the core when a setting it was built from changed; the next use builds one from the
   * current settings. Disposing a core ends its connections and sessions (and so the work under
   * way, and the tunnels of debug sessions): VS Code also fires change events that change none of
   * our values (seen in code-server while Snapshot & Debug ran), and those must not.
   */
  resetIfChanged(): void {
    if (this.current && coreSettingsKey(readSettings()) === this.builtFrom) return;
    this.drop();
  }

  dispose(): void {
    this.drop();
  }

  private drop(): void {
    this.current?.dispose();
    this.current = undefined;
  }

  private build(settings: Settings): Core {
    const sudoEverywhere = settings.useSudo.includes('*');
    return createCore({
      prompts: createPrompts(this.context.secrets, () => readSettings().rememberPasswords),
      ...(settings.sshConfigFile && { sshConfigFile: settings.sshConfigFile }),
      ...(settings.knownHostsFile && { knownHostsFile: settings.knownHostsFile }),
      ...(settings.snapshotDirectory && { storeDir: settings.snapshotDirectory }),
      hostOptions: (name) => ({ sudo: sudoEverywhere || settings.useSudo.includes(name) }),
      settings: { remoteTempDir: settings.remoteTempDir },
      log: (line) => this.log.info(line),
      commandLog: (entry) => this.log.command(entry),
    });
  }
}

/** What build() reads from the settings, as one comparable string. */
function coreSettingsKey(settings: Settings): string {
  const { sshConfigFile, knownHostsFile, snapshotDirectory, useSudo, remoteTempDir } = settings;
  return JSON.stringify({ sshConfigFile, knownHostsFile, snapshotDirectory, useSudo, remoteTempDir });
}
