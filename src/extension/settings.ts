// The extension's settings, read once per use and typed. Empty strings mean "the default". The
// defaults of option settings are the core's (its option tables, core/podman/options.ts), which
// package.json repeats and a unit test holds to them; which core option each setting holds is
// written here once (optionSettings), for reading them and for naming them in fixes.
// Settings that choose where data goes or what is trusted are "scope": "machine" in package.json,
// and are read from the user's own settings only: a repository's .vscode/settings.json must never
// send production's memory to another host, store or known_hosts file.
import * as vscode from 'vscode';
import {
  checkpointOptionInfo,
  restoreOptionInfo,
  retentionDefaults,
  workflowDefaults,
  type CheckpointOptions,
  type Compression,
  type OptionName,
  type RestoreOptions,
  type Runtime,
} from '../core';

/** Core options VS Code keeps in a setting: the setting's id. */
export const optionSettings = {
  'checkpoint.compress': 'snapdebug.checkpoint.compression',
  'checkpoint.tcpEstablished': 'snapdebug.checkpoint.tcpEstablished',
  'checkpoint.fileLocks': 'snapdebug.checkpoint.fileLocks',
  'checkpoint.ignoreRootfs': 'snapdebug.checkpoint.ignoreRootfs',
  'checkpoint.ignoreVolumes': 'snapdebug.checkpoint.ignoreVolumes',
  'restore.ignoreStaticIp': 'snapdebug.restore.ignoreStaticIp',
  'restore.ignoreStaticMac': 'snapdebug.restore.ignoreStaticMac',
  remoteTempDir: 'snapdebug.remoteTempDir',
  debugHost: 'snapdebug.defaultDebugHost',
  sudo: 'snapdebug.useSudo',
  runtime: 'snapdebug.debug.runtime',
  sshConfigFile: 'snapdebug.sshConfigFile',
  knownHostsFile: 'snapdebug.knownHostsFile',
  snapshotDirectory: 'snapdebug.snapshotDirectory',
  fenced: 'snapdebug.debug.fenceCopies',
  allowEgress: 'snapdebug.debug.allowEgress',
  throughHere: 'snapdebug.transfer.throughThisMachine',
} as const satisfies Partial<Record<OptionName, `snapdebug.${string}`>>;

type SettingOption = keyof typeof optionSettings;
type TableSetting<Verb extends string> = Extract<SettingOption, `${Verb}.${string}`> extends `${Verb}.${infer K}` ? K : never;
export type CheckpointSettings = Pick<CheckpointOptions, TableSetting<'checkpoint'>>;
export type RestoreSettings = Pick<RestoreOptions, TableSetting<'restore'>>;

export interface Settings {
  sshConfigFile: string | undefined;
  knownHostsFile: string | undefined;
  hosts: string[];
  snapshotDirectory: string | undefined;
  defaultDebugHost: string | undefined;
  useSudo: string[];
  remoteTempDir: string;
  refreshIntervalSeconds: number;
  checkpoint: Required<CheckpointSettings>;
  restore: Required<RestoreSettings>;
  debug: { localRoot: string | undefined; remoteRoot: string; runtime: Runtime | undefined; fenceCopies: boolean; allowEgress: string[] };
  rememberPasswords: boolean;
  /** Archives go through this machine even when the hosts reach each other. */
  throughThisMachine: boolean;
  /** Snapshots older than this are offered for deletion at start (0: never). */
  storeMaxAgeDays: number;
  /** Copies restored longer ago than this are shown as stale (0: never). */
  copiesStaleAfterHours: number;
}

/** Where data goes and what is trusted: package.json gives each "scope": "machine" (a test checks). */
export const machineSettings = [
  'sshConfigFile',
  'knownHostsFile',
  'hosts',
  'snapshotDirectory',
  'defaultDebugHost',
  'useSudo',
  'remoteTempDir',
  'restore.ignoreStaticIp',
  'restore.ignoreStaticMac',
  'rememberPasswords',
  'store.maxAgeDays',
  'copies.staleAfterHours',
  'debug.fenceCopies',
  'debug.allowEgress',
  'transfer.throughThisMachine',
] as const;

function expandHome(path: string): string {
  return path.startsWith('~/') ? `${process.env.HOME ?? ''}${path.slice(1)}` : path;
}

/** The part of a setting id after `snapdebug.`, as getConfiguration('snapdebug') takes it. */
function key(option: SettingOption): string {
  return optionSettings[option].slice('snapdebug.'.length);
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('snapdebug');
  // VS Code already ignores workspace values of machine settings; reading the user value
  // ourselves keeps that true whatever the host application does with scopes.
  const get = <T>(name: string, fallback: T): T => {
    if (!(machineSettings as readonly string[]).includes(name)) return c.get<T>(name, fallback);
    const inspected = c.inspect<T>(name);
    if (inspected?.globalValue !== undefined) return inspected.globalValue;
    // code-server keeps machine settings apart from the user's, and after some configuration events
    // inspect() no longer lists them as global: the effective value is safe when no workspace sets one.
    const fromWorkspace = inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined;
    return fromWorkspace ? (inspected?.defaultValue ?? fallback) : c.get<T>(name, fallback);
  };
  const text = (name: string) => {
    const value = get<string>(name, '').trim();
    return value === '' ? undefined : expandHome(value);
  };
  const checkpointDefault = <K extends keyof CheckpointSettings>(k: K) => get(key(`checkpoint.${k}`), checkpointOptionInfo[k].default as Required<CheckpointSettings>[K]);
  const restoreDefault = <K extends keyof RestoreSettings>(k: K) => get(key(`restore.${k}`), restoreOptionInfo[k].default as boolean);
  const runtime = get<string>(key('runtime'), workflowDefaults.runtime);
  return {
    sshConfigFile: text(key('sshConfigFile')),
    knownHostsFile: text(key('knownHostsFile')),
    hosts: get<string[]>('hosts', []).map((h) => h.trim()).filter(Boolean),
    snapshotDirectory: text(key('snapshotDirectory')),
    defaultDebugHost: text(key('debugHost')),
    useSudo: get<string[]>(key('sudo'), []),
    remoteTempDir: text(key('remoteTempDir')) ?? workflowDefaults.remoteTempDir,
    refreshIntervalSeconds: Math.max(0, get<number>('refreshIntervalSeconds', 30)),
    checkpoint: {
      compress: checkpointDefault('compress') as Compression,
      tcpEstablished: checkpointDefault('tcpEstablished'),
      fileLocks: checkpointDefault('fileLocks'),
      ignoreRootfs: checkpointDefault('ignoreRootfs'),
      ignoreVolumes: checkpointDefault('ignoreVolumes'),
    },
    restore: {
      ignoreStaticIp: restoreDefault('ignoreStaticIp'),
      ignoreStaticMac: restoreDefault('ignoreStaticMac'),
    },
    debug: {
      localRoot: text('debug.localRoot'),
      remoteRoot: get<string>('debug.remoteRoot', '/app'),
      runtime: runtime === workflowDefaults.runtime ? undefined : (runtime as Runtime),
      fenceCopies: get<boolean>(key('fenced'), true),
      allowEgress: get<string[]>(key('allowEgress'), []).map((spec) => spec.trim()).filter(Boolean),
    },
    rememberPasswords: get<boolean>('rememberPasswords', false),
    throughThisMachine: get<boolean>(key('throughHere'), false),
    storeMaxAgeDays: Math.max(0, get<number>('store.maxAgeDays', retentionDefaults.maxAgeDays)),
    copiesStaleAfterHours: Math.max(0, get<number>('copies.staleAfterHours', retentionDefaults.staleAfterHours)),
  };
}
