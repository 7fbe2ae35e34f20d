// The CLI's words for the core's options, generated from the option tables (core/podman/options.ts):
// each podman option is the flag podman itself takes, its help line is the table's description,
// booleans on by default can be turned off with --no-FLAG. Also how the CLI words a fix: the
// options it names become the flags that carry it out.
import {
  checkpointOptionInfo,
  optionDefaults,
  optionKeys,
  restoreOptionInfo,
  validateOptionValues,
  workflowDefaults,
  type Fix,
  type FixOption,
  type FixWording,
  type OptionInfo,
  type OptionTable,
  type WorkflowOption,
} from '../core';
import type { OptionSpec, OptionValues } from './context';

/** The CLI flag of a table option: podman's, without its dashes. */
export function cliName(info: OptionInfo): string {
  return info.flag.slice(2);
}

function placeholder(info: OptionInfo): string {
  return info.kind === 'choice' ? info.choices!.join('|') : info.label.toUpperCase().replace(/\s+/g, '-');
}

/** --help specs for the non-special options of a table (those a command takes as podman's flags). */
export function tableOptionSpecs<T>(table: OptionTable<T>, keys: (keyof T & string)[] = optionKeys(table)): Record<string, OptionSpec> {
  const specs: Record<string, OptionSpec> = {};
  for (const key of keys) {
    const info = table[key];
    if (info.special) continue;
    const onByDefault = info.kind === 'boolean' && info.default === true;
    const shownDefault = info.kind !== 'boolean' && info.default !== undefined ? ` (default ${String(info.default)})` : '';
    specs[cliName(info)] = {
      type: info.kind === 'boolean' ? 'boolean' : 'string',
      ...(info.kind === 'list' && { multiple: true }),
      ...(info.kind !== 'boolean' && { value: placeholder(info) }),
      ...(onByDefault && { onByDefault: true }),
      help: `${info.description}${shownDefault}${info.kind === 'list' ? ' (repeatable)' : ''}`,
    };
  }
  return specs;
}

/** The options the command line gave (and only those), checked against the table. */
export function tableValues<T>(table: OptionTable<T>, values: OptionValues, keys: (keyof T & string)[] = optionKeys(table)): Partial<T> {
  const options: Record<string, unknown> = {};
  for (const key of keys) {
    const info = table[key];
    if (info.special) continue;
    const value = values[cliName(info)];
    if (value === undefined) continue;
    options[key] = info.kind === 'list' ? (Array.isArray(value) ? value : [value]) : value;
  }
  validateOptionValues(table, options as Partial<T>);
  return options as Partial<T>;
}

/** The table's defaults under what the command line gave. */
export function withDefaults<T>(table: OptionTable<T>, given: Partial<T>): Partial<T> {
  return { ...optionDefaults(table), ...given };
}

/** Flags of the options that are not podman's, as a fix names them. */
const workflowFlags: Record<WorkflowOption, string> = {
  remoteTempDir: '--remote-tmp DIR',
  debugHost: '--to HOST',
  targetHost: '--to HOST',
  sudo: '--sudo',
  acceptNewHostKey: '--accept-new-host-key',
  transferImage: '--transfer-image',
  localPort: '--local-port PORT',
  runtime: '--runtime RUNTIME',
  copyOnly: '--copy-only',
  sshConfigFile: '--ssh-config FILE',
  knownHostsFile: '--known-hosts FILE',
  snapshotDirectory: '--store DIR',
  fenced: '--fenced',
  allowEgress: '--allow-egress HOST:PORT',
  throughHere: '--through-here',
};

/** How the CLI says "set this option (to this value)". */
export function cliOptionWords(option: FixOption): string {
  const [verb, key] = option.name.split('.') as [string, string | undefined];
  if (key === undefined) return option.value === undefined ? workflowFlags[option.name as WorkflowOption] : `${workflowFlags[option.name as WorkflowOption].split(' ')[0]} ${option.value}`;
  if (option.name === 'checkpoint.leaveRunning') return option.value === 'false' ? '--stop' : 'without --stop';
  if (option.name === 'fenced') return option.value === 'false' ? '--allow-all-egress' : '--fenced';
  if (option.name === 'checkpoint.withPrevious') return '--with-previous SNAPSHOT';
  const info = (verb === 'checkpoint' ? checkpointOptionInfo : restoreOptionInfo) as Record<string, OptionInfo>;
  const entry = info[key]!;
  if (entry.kind === 'boolean') {
    if (option.value !== 'false') return entry.flag;
    return entry.default === true ? `--no-${cliName(entry)}` : `without ${entry.flag}`;
  }
  return `${entry.flag} ${option.value ?? placeholder(entry)}`;
}

/** The flags that carry a fix out, each once. */
export function fixFlags(fix: Fix | undefined): string[] {
  return [...new Set((fix?.options ?? []).map(cliOptionWords))];
}

/** A fix as the CLI says it: the sentence, then the flags that do it. */
export const cliFixWording: FixWording = (fix: Fix) => {
  const flags = fixFlags(fix);
  return flags.length === 0 ? fix.text : `${fix.text} (${flags.join(', ')})`;
};

/** The default the CLI's --remote-tmp help shows. */
export const remoteTempDefault = workflowDefaults.remoteTempDir;
