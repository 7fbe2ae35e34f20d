// Every podman checkpoint and restore option we offer, with the flag it becomes and the podman
// release that added it (for the sentence shown when a host's podman lacks it). Which flags a
// host really has is read from its own `--help` (capabilities.ts), not guessed from versions.
import { SnapdebugError } from '../util/errors';
import type { Compression } from '../archive/checkpointArchive';

export interface CheckpointOptions {
  /** Keep the container running after the checkpoint (our default); false stops it, as in the seed article. */
  leaveRunning: boolean;
  compress?: Compression;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
  ignoreRootfs?: boolean;
  ignoreVolumes?: boolean;
  /** Dump memory only, leaving the container running, as the base for a later --with-previous. */
  preCheckpoint?: boolean;
  withPrevious?: boolean;
  keep?: boolean;
  printStats?: boolean;
}

export interface RestoreOptions {
  name?: string;
  publish?: string[];
  keep?: boolean;
  tcpEstablished?: boolean;
  tcpClose?: boolean;
  ignoreStaticIp?: boolean;
  ignoreStaticMac?: boolean;
  ignoreRootfs?: boolean;
  ignoreVolumes?: boolean;
  fileLocks?: boolean;
  pod?: string;
  /** Path on the host of a pre-checkpoint archive to apply first. */
  importPrevious?: string;
  printStats?: boolean;
}

export interface OptionInfo {
  flag: string;
  label: string;
  /** podman release that introduced the flag, for error messages. */
  since: string;
  description: string;
}

export const checkpointOptionInfo: Record<Exclude<keyof CheckpointOptions, 'leaveRunning'> | 'leaveRunning', OptionInfo> = {
  leaveRunning: { flag: '--leave-running', label: 'Leave running', since: '1.4', description: 'Keep the container serving after the checkpoint' },
  compress: { flag: '--compress', label: 'Compression', since: '2.2', description: 'Archive compression: zstd, gzip or none' },
  tcpEstablished: { flag: '--tcp-established', label: 'TCP established', since: '1.4', description: 'Include established TCP connections' },
  fileLocks: { flag: '--file-locks', label: 'File locks', since: '3.1', description: 'Include held file locks' },
  ignoreRootfs: { flag: '--ignore-rootfs', label: 'Ignore rootfs', since: '2.0', description: 'Leave out root file system changes' },
  ignoreVolumes: { flag: '--ignore-volumes', label: 'Ignore volumes', since: '2.2', description: 'Leave out named volumes' },
  preCheckpoint: { flag: '--pre-checkpoint', label: 'Pre-checkpoint', since: '2.2', description: 'Dump memory only, container keeps running' },
  withPrevious: { flag: '--with-previous', label: 'With previous', since: '2.2', description: 'Dump only what changed since the pre-checkpoint' },
  keep: { flag: '--keep', label: 'Keep', since: '1.4', description: 'Keep CRIU logs and statistics on the host' },
  printStats: { flag: '--print-stats', label: 'Print stats', since: '3.3', description: 'Report CRIU statistics' },
};

export const restoreOptionInfo: Record<keyof RestoreOptions, OptionInfo> = {
  name: { flag: '--name', label: 'Name', since: '2.0', description: 'Name of the restored copy' },
  publish: { flag: '--publish', label: 'Publish', since: '2.0', description: 'Publish ports of the copy' },
  keep: { flag: '--keep', label: 'Keep', since: '1.4', description: 'Keep checkpoint files and logs (restore in place)' },
  tcpEstablished: { flag: '--tcp-established', label: 'TCP established', since: '1.4', description: 'Restore established TCP connections' },
  tcpClose: { flag: '--tcp-close', label: 'TCP close', since: '5.7', description: 'Close established TCP connections on restore' },
  ignoreStaticIp: { flag: '--ignore-static-ip', label: 'Ignore static IP', since: '1.7', description: 'Give the copy a new IP address' },
  ignoreStaticMac: { flag: '--ignore-static-mac', label: 'Ignore static MAC', since: '2.0', description: 'Give the copy a new MAC address' },
  ignoreRootfs: { flag: '--ignore-rootfs', label: 'Ignore rootfs', since: '2.0', description: 'Do not apply root file system changes' },
  ignoreVolumes: { flag: '--ignore-volumes', label: 'Ignore volumes', since: '2.2', description: 'Do not restore named volumes' },
  fileLocks: { flag: '--file-locks', label: 'File locks', since: '3.1', description: 'Restore held file locks' },
  pod: { flag: '--pod', label: 'Pod', since: '3.0', description: 'Restore into an existing pod' },
  importPrevious: { flag: '--import-previous', label: 'Import previous', since: '2.2', description: 'Apply a pre-checkpoint archive first' },
  printStats: { flag: '--print-stats', label: 'Print stats', since: '3.3', description: 'Report CRIU statistics' },
};

/** Every checkpoint we take is exported to an archive. */
export const exportOption: OptionInfo = { flag: '--export', label: 'Export', since: '2.0', description: 'Write the checkpoint to an archive' };

/** Flags an option set needs, to check against what the host's podman offers. */
export function checkpointFlags(options: CheckpointOptions): OptionInfo[] {
  return (Object.keys(checkpointOptionInfo) as (keyof CheckpointOptions)[])
    .filter((key) => {
      const value = options[key];
      return value !== undefined && value !== false;
    })
    .map((key) => checkpointOptionInfo[key]);
}

export function restoreFlags(options: RestoreOptions): OptionInfo[] {
  return (Object.keys(restoreOptionInfo) as (keyof RestoreOptions)[])
    .filter((key) => {
      const value = options[key];
      return value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0);
    })
    .map((key) => restoreOptionInfo[key]);
}

export function validateCheckpointOptions(options: CheckpointOptions): void {
  if (options.preCheckpoint && options.withPrevious) {
    throw new SnapdebugError('--pre-checkpoint and --with-previous cannot be used together: take the pre-checkpoint first, then the checkpoint with previous.');
  }
  if (options.preCheckpoint && !options.leaveRunning) {
    throw new SnapdebugError('A pre-checkpoint always leaves the container running: drop --stop.');
  }
  if (options.compress !== undefined && !['zstd', 'gzip', 'none'].includes(options.compress)) {
    throw new SnapdebugError(`Compression "${options.compress}" is not one podman knows: use zstd, gzip or none.`);
  }
}

export function validateRestoreOptions(options: RestoreOptions): void {
  if (options.tcpClose && options.tcpEstablished) {
    throw new SnapdebugError('--tcp-close and --tcp-established contradict each other: choose one.');
  }
}
