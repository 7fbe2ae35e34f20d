// The extension's settings, read once per use and typed. Empty strings mean "the default".
// Settings that choose where data goes or what is trusted are "scope": "machine" in package.json,
// and are read from the user's own settings only: a repository's .vscode/settings.json must never
// send production's memory to another host, store or known_hosts file.
import * as vscode from 'vscode';
import type { Compression } from '../core/archive/checkpointArchive';
import type { Runtime } from '../core/debug/attach';

export interface Settings {
  sshConfigFile: string | undefined;
  knownHostsFile: string | undefined;
  hosts: string[];
  snapshotDirectory: string | undefined;
  defaultDebugHost: string | undefined;
  useSudo: string[];
  remoteTempDir: string;
  refreshIntervalSeconds: number;
  checkpoint: { compression: Compression; tcpEstablished: boolean; fileLocks: boolean; ignoreRootfs: boolean; ignoreVolumes: boolean };
  restore: { ignoreStaticIp: boolean; ignoreStaticMac: boolean };
  debug: { localRoot: string | undefined; remoteRoot: string; runtime: Runtime | undefined };
  rememberPasswords: boolean;
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
] as const;
const machine = new Set<string>(machineSettings);

function expandHome(path: string): string {
  return path.startsWith('~/') ? `${process.env.HOME ?? ''}${path.slice(1)}` : path;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('snapdebug');
  // VS Code already ignores workspace values of machine settings; reading the user value
  // ourselves keeps that true whatever the host application does with scopes.
  const get = <T>(key: string, fallback: T): T => {
    if (!machine.has(key)) return c.get<T>(key, fallback);
    const inspected = c.inspect<T>(key);
    return inspected?.globalValue ?? inspected?.defaultValue ?? fallback;
  };
  const text = (key: string) => {
    const value = get<string>(key, '').trim();
    return value === '' ? undefined : expandHome(value);
  };
  const runtime = get<string>('debug.runtime', 'auto');
  return {
    sshConfigFile: text('sshConfigFile'),
    knownHostsFile: text('knownHostsFile'),
    hosts: get<string[]>('hosts', []).map((h) => h.trim()).filter(Boolean),
    snapshotDirectory: text('snapshotDirectory'),
    defaultDebugHost: text('defaultDebugHost'),
    useSudo: get<string[]>('useSudo', []),
    remoteTempDir: text('remoteTempDir') ?? '/var/tmp',
    refreshIntervalSeconds: Math.max(0, get<number>('refreshIntervalSeconds', 30)),
    checkpoint: {
      compression: get<Compression>('checkpoint.compression', 'zstd'),
      tcpEstablished: get<boolean>('checkpoint.tcpEstablished', false),
      fileLocks: get<boolean>('checkpoint.fileLocks', false),
      ignoreRootfs: get<boolean>('checkpoint.ignoreRootfs', false),
      ignoreVolumes: get<boolean>('checkpoint.ignoreVolumes', false),
    },
    restore: {
      ignoreStaticIp: get<boolean>('restore.ignoreStaticIp', true),
      ignoreStaticMac: get<boolean>('restore.ignoreStaticMac', true),
    },
    debug: {
      localRoot: text('debug.localRoot'),
      remoteRoot: get<string>('debug.remoteRoot', '/app'),
      runtime: runtime === 'auto' ? undefined : (runtime as Runtime),
    },
    rememberPasswords: get<boolean>('rememberPasswords', false),
    storeMaxAgeDays: Math.max(0, get<number>('store.maxAgeDays', 7)),
    copiesStaleAfterHours: Math.max(0, get<number>('copies.staleAfterHours', 24)),
  };
}
