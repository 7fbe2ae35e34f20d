// The extension's settings, read once per use and typed. Empty strings mean "the default".
import * as vscode from 'vscode';
import type { Compression } from '../core/archive/checkpointArchive';
import type { Runtime } from '../core';

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
}

function expandHome(path: string): string {
  return path.startsWith('~/') ? `${process.env.HOME ?? ''}${path.slice(1)}` : path;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('snapdebug');
  const text = (key: string) => {
    const value = c.get<string>(key, '').trim();
    return value === '' ? undefined : expandHome(value);
  };
  const runtime = c.get<string>('debug.runtime', 'auto');
  return {
    sshConfigFile: text('sshConfigFile'),
    knownHostsFile: text('knownHostsFile'),
    hosts: c.get<string[]>('hosts', []).map((h) => h.trim()).filter(Boolean),
    snapshotDirectory: text('snapshotDirectory'),
    defaultDebugHost: text('defaultDebugHost'),
    useSudo: c.get<string[]>('useSudo', []),
    remoteTempDir: text('remoteTempDir') ?? '/var/tmp',
    refreshIntervalSeconds: Math.max(0, c.get<number>('refreshIntervalSeconds', 30)),
    checkpoint: {
      compression: c.get<Compression>('checkpoint.compression', 'zstd'),
      tcpEstablished: c.get<boolean>('checkpoint.tcpEstablished', false),
      fileLocks: c.get<boolean>('checkpoint.fileLocks', false),
      ignoreRootfs: c.get<boolean>('checkpoint.ignoreRootfs', false),
      ignoreVolumes: c.get<boolean>('checkpoint.ignoreVolumes', false),
    },
    restore: {
      ignoreStaticIp: c.get<boolean>('restore.ignoreStaticIp', true),
      ignoreStaticMac: c.get<boolean>('restore.ignoreStaticMac', true),
    },
    debug: {
      localRoot: text('debug.localRoot'),
      remoteRoot: c.get<string>('debug.remoteRoot', '/app'),
      runtime: runtime === 'auto' ? undefined : (runtime as Runtime),
    },
    rememberPasswords: c.get<boolean>('rememberPasswords', false),
  };
}
