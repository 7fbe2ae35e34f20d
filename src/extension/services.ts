// The small services object every tree and command receives (no global singletons): the current
// core (rebuilt when settings change, which closes the old SSH connections), the log, settings,
// and the views to refresh.
import * as vscode from 'vscode';
import { createCore, type Core } from '../core/core';
import type { Log } from './log';
import type { CopiesTree } from './tree/copiesTree';
import type { HostsTree } from './tree/hostsTree';
import type { SnapshotsTree } from './tree/snapshotsTree';
import { createPrompts } from './prompts';
import { readSettings, type Settings } from './settings';

export interface Services {
  context: vscode.ExtensionContext;
  log: Log;
  settings(): Settings;
  core(): Core;
  /** Hosts to show: snapdebug.hosts, else every Host of the SSH config. */
  hostNames(): string[];
  views: { hosts: HostsTree; snapshots: SnapshotsTree; copies: CopiesTree };
  refreshAll(): void;
}

export class CoreHolder implements vscode.Disposable {
  private current: Core | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: Log,
  ) {}

  get(): Core {
    this.current ??= this.build(readSettings());
    return this.current;
  }

  /** Drops the core; the next use builds one from the current settings. */
  reset(): void {
    this.current?.dispose();
    this.current = undefined;
  }

  dispose(): void {
    this.reset();
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
