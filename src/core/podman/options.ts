// Every podman checkpoint and restore option we offer, written once: the flag it becomes (podman's,
// which the CLI takes as it is), its label and description (the CLI's --help, VS Code's QuickPick),
// its value's kind and check, its default, and the podman release that added it (for the sentence
// shown when a host's podman lacks it). The CLI's flags, VS Code's QuickPicks and settings, and
// "Copy CLI Command" are all generated from these tables (a unit test holds them to it). Which
// flags a host really has is read from its own `--help` (host.ts), not guessed from versions.
import type { Compression } from '../archive/checkpointArchive';
import type { OptionName } from '../options';
import { SnapdebugError } from '../util/errors';
import { validateContainerRef, validatePublish, validateRemotePath } from './names';

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

export type OptionKind = 'boolean' | 'string' | 'list' | 'choice';
/** Which podman command a table belongs to; also the prefix of its options' core names. */
export type OptionVerb = 'checkpoint' | 'restore';

export interface OptionInfo {
  /** Its core name ('checkpoint.tcpEstablished'), which fixes use (options.ts). */
  name?: OptionName;
  /** podman's flag; the CLI takes the same one. */
  flag: string;
  label: string;
  /** podman release that introduced the flag, for error messages. */
  since: string;
  description: string;
  kind: OptionKind;
  choices?: readonly string[];
  /** Checks (and returns) a string value; throws a SnapdebugError saying what is wrong. */
  validate?: (value: string) => string;
  /**
   * What is used when nobody says otherwise: the CLI's default, and the default of VS Code's
   * setting for it. For restores, what a copy gets.
   */
  default?: boolean | string;
  /** Offered as a choice when a person starts the work (VS Code's options QuickPick). */
  offered?: boolean;
  /** Given by the faces in their own way (the CLI's --stop, --with-previous SNAPSHOT), not as this flag. */
  special?: boolean;
}

export const compressions: readonly Compression[] = ['zstd', 'gzip', 'none'];

export type OptionTable<T> = { readonly [K in keyof T]-?: OptionInfo };

/** Gives each entry of a table its core name, `verb.key`. */
function named<T>(verb: OptionVerb, table: OptionTable<T>): OptionTable<T> {
  return Object.fromEntries(Object.entries<OptionInfo>(table).map(([key, info]) => [key, { ...info, name: `${verb}.${key}` as OptionName }])) as unknown as OptionTable<T>;
}

// Key order is the order of podman's argv, of the CLI's --help and of the QuickPicks.
export const checkpointOptionInfo: OptionTable<CheckpointOptions> = named('checkpoint', {
  leaveRunning: { flag: '--leave-running', label: 'Leave running', since: '1.4', description: 'Keep the container serving after the checkpoint', kind: 'boolean', default: true, special: true },
  compress: { flag: '--compress', label: 'Compression', since: '2.2', description: 'Archive compression', kind: 'choice', choices: compressions, default: 'zstd' },
  tcpEstablished: { flag: '--tcp-established', label: 'TCP established', since: '1.4', description: 'Include established TCP connections', kind: 'boolean', default: false, offered: true },
  fileLocks: { flag: '--file-locks', label: 'File locks', since: '3.1', description: 'Include held file locks', kind: 'boolean', default: false, offered: true },
  ignoreRootfs: { flag: '--ignore-rootfs', label: 'Ignore rootfs', since: '2.0', description: 'Leave out root file system changes', kind: 'boolean', default: false, offered: true },
  ignoreVolumes: { flag: '--ignore-volumes', label: 'Ignore volumes', since: '2.2', description: 'Leave out named volumes', kind: 'boolean', default: false, offered: true },
  keep: { flag: '--keep', label: 'Keep', since: '1.4', description: 'Keep CRIU logs and statistics on the host', kind: 'boolean', default: false, offered: true },
  preCheckpoint: { flag: '--pre-checkpoint', label: 'Pre-checkpoint', since: '2.2', description: 'Dump memory only, as the base of a later checkpoint with previous; the container keeps running', kind: 'boolean', default: false, offered: true },
  withPrevious: { flag: '--with-previous', label: 'With previous', since: '2.2', description: 'Dump only what changed since a pre-checkpoint', kind: 'boolean', special: true },
  printStats: { flag: '--print-stats', label: 'Print stats', since: '3.3', description: 'Ask CRIU for statistics (always read from the archive)', kind: 'boolean', default: false },
});

export const restoreOptionInfo: OptionTable<RestoreOptions> = named('restore', {
  name: { flag: '--name', label: 'Name', since: '2.0', description: 'Name of the restored copy', kind: 'string', validate: validateContainerRef },
  publish: { flag: '--publish', label: 'Publish', since: '2.0', description: 'Publish a port of the copy, [[ip:][hostPort]:]containerPort', kind: 'list', validate: validatePublish },
  pod: { flag: '--pod', label: 'Pod', since: '3.0', description: 'Restore into an existing pod', kind: 'string', validate: validateContainerRef },
  ignoreStaticIp: { flag: '--ignore-static-ip', label: 'Ignore static IP', since: '1.7', description: 'Give the copy a new IP address, so it never clashes with the original', kind: 'boolean', default: true, offered: true },
  ignoreStaticMac: { flag: '--ignore-static-mac', label: 'Ignore static MAC', since: '2.0', description: 'Give the copy a new MAC address', kind: 'boolean', default: true, offered: true },
  tcpClose: { flag: '--tcp-close', label: 'TCP close', since: '5.7', description: 'Close established TCP connections on restore', kind: 'boolean', default: false, offered: true },
  tcpEstablished: { flag: '--tcp-established', label: 'TCP established', since: '1.4', description: 'Restore established TCP connections (in place only: a copy gets them closed)', kind: 'boolean', default: false },
  ignoreRootfs: { flag: '--ignore-rootfs', label: 'Ignore rootfs', since: '2.0', description: 'Do not apply root file system changes', kind: 'boolean', default: false, offered: true },
  ignoreVolumes: { flag: '--ignore-volumes', label: 'Ignore volumes', since: '2.2', description: 'Do not restore named volumes', kind: 'boolean', default: false, offered: true },
  fileLocks: { flag: '--file-locks', label: 'File locks', since: '3.1', description: 'Restore held file locks', kind: 'boolean', default: false, offered: true },
  keep: { flag: '--keep', label: 'Keep', since: '1.4', description: 'Keep checkpoint files and logs (restore in place)', kind: 'boolean', default: false, offered: true },
  importPrevious: { flag: '--import-previous', label: 'Import previous', since: '2.2', description: 'Apply a pre-checkpoint archive first', kind: 'string', validate: validateRemotePath, special: true },
  printStats: { flag: '--print-stats', label: 'Print stats', since: '3.3', description: 'Ask CRIU for restore statistics', kind: 'boolean', default: false },
});

/** Every checkpoint we take is exported to an archive. */
export const exportOption: OptionInfo = { flag: '--export', label: 'Export', since: '2.0', description: 'Write the checkpoint to an archive', kind: 'string' };

type OptionValue = boolean | string | readonly string[] | undefined;

/** Keys of a table in its order. */
export function optionKeys<T>(table: OptionTable<T>): (keyof T & string)[] {
  return Object.keys(table) as (keyof T & string)[];
}

function isSet(value: OptionValue): boolean {
  return value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0);
}

/** The defaults of a table, as an options object (what a copy gets when nobody says). */
export function optionDefaults<T>(table: OptionTable<T>): Partial<T> {
  const defaults: Record<string, unknown> = {};
  for (const key of optionKeys(table)) if (table[key].default !== undefined) defaults[key] = table[key].default;
  return defaults as Partial<T>;
}

/** Checks every value against its option's kind, choices and validator; throws a SnapdebugError. */
export function validateOptionValues<T>(table: OptionTable<T>, options: Partial<T>): void {
  for (const key of optionKeys(table)) {
    const value = options[key] as OptionValue;
    if (value === undefined) continue;
    const info = table[key];
    const values = Array.isArray(value) ? value : [value];
    if (info.kind === 'choice' && !info.choices!.includes(value as string)) {
      throw new SnapdebugError(`${info.label} "${String(value)}" is not one podman knows: use ${info.choices!.join(', ')}.`, {
        fix: { text: `Choose ${info.choices!.join(', ')}.`, ...(info.name && { options: [{ name: info.name }] }) },
      });
    }
    if (info.validate) for (const v of values) info.validate(v as string);
  }
}

/**
 * The words for an options object, flag by flag in table order: a true boolean is its flag, a
 * string its flag and value, a list its flag once per value.
 * - `podman`: every option that is set, as podman's argv takes them.
 * - `cli`: what the CLI needs to be told: special options (given its own way) and values equal to
 *   the default are left out, and a boolean turned off against a default of on is `--no-FLAG`.
 */
export function optionWords<T>(table: OptionTable<T>, options: Partial<T>, mode: 'podman' | 'cli'): string[] {
  const words: string[] = [];
  for (const key of optionKeys(table)) {
    const info = table[key];
    const value = options[key] as OptionValue;
    if (value === undefined || (mode === 'cli' && (info.special || value === info.default))) continue;
    if (info.kind === 'boolean') {
      if (value === true) words.push(info.flag);
      else if (mode === 'cli' && info.default === true) words.push(`--no-${info.flag.slice(2)}`);
    } else if (info.kind === 'list') {
      for (const item of value as readonly string[]) words.push(info.flag, item);
    } else {
      words.push(info.flag, value as string);
    }
  }
  return words;
}

/** The options an options object sets, to check against what the host's podman offers. */
export function setOptions<T>(table: OptionTable<T>, options: Partial<T>): OptionInfo[] {
  return optionKeys(table)
    .filter((key) => isSet(options[key] as OptionValue))
    .map((key) => table[key]);
}

/** Flags an option set needs, to check against what the host's podman offers. */
export function checkpointFlags(options: CheckpointOptions): OptionInfo[] {
  return setOptions(checkpointOptionInfo, options);
}

export function restoreFlags(options: RestoreOptions): OptionInfo[] {
  return setOptions(restoreOptionInfo, options);
}

export function validateCheckpointOptions(options: CheckpointOptions): void {
  const info = checkpointOptionInfo;
  if (options.preCheckpoint && options.withPrevious) {
    throw new SnapdebugError(`${info.preCheckpoint.label} and ${info.withPrevious.label.toLowerCase()} cannot be used together.`, {
      fix: { text: 'Take the pre-checkpoint first, then the checkpoint with previous.', options: [{ name: 'checkpoint.preCheckpoint' }, { name: 'checkpoint.withPrevious' }] },
    });
  }
  if (options.preCheckpoint && !options.leaveRunning) {
    throw new SnapdebugError('A pre-checkpoint always leaves the container running.', {
      fix: { text: 'Leave the container running.', options: [{ name: 'checkpoint.leaveRunning', value: 'true' }] },
    });
  }
  validateOptionValues(info, options);
}

export function validateRestoreOptions(options: RestoreOptions): void {
  if (options.tcpClose && options.tcpEstablished) {
    throw new SnapdebugError(`${restoreOptionInfo.tcpClose.label} and ${restoreOptionInfo.tcpEstablished.label} contradict each other.`, {
      fix: { text: 'Choose one of them.', options: [{ name: 'restore.tcpClose' }, { name: 'restore.tcpEstablished' }] },
    });
  }
  validateOptionValues(restoreOptionInfo, options);
}
