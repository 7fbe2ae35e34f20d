// How VS Code words a fix: the core's sentence, then the settings that carry it out (the error
// offers a button opening each one) or, for options met only when the work starts, the words they
// have there. The CLI words the same fixes as its flags (src/cli/options.ts).
import { checkpointOptionInfo, describeError, restoreOptionInfo, type Fix, type FixOption, type OptionInfo, type OptionName, type WorkflowOption } from '../core';
import { optionSettings } from './settings';

/** Where a person meets a workflow option that has no setting; undefined: nowhere to point at. */
const workflowWords: Record<WorkflowOption, string | undefined> = {
  remoteTempDir: undefined,
  debugHost: 'the debug host you pick',
  targetHost: 'the host you pick',
  sudo: undefined,
  acceptNewHostKey: '“Trust and Continue” when asked',
  transferImage: '“Copy Image” when offered',
  localPort: undefined,
  runtime: undefined,
  copyOnly: '“Restore a Copy Without Debugger” when offered',
  sshConfigFile: undefined,
  knownHostsFile: undefined,
  snapshotDirectory: undefined,
  fenced: undefined,
  allowEgress: undefined,
  throughHere: undefined,
};

export function settingOf(name: OptionName): string | undefined {
  return (optionSettings as Partial<Record<OptionName, string>>)[name];
}

function optionWords(option: FixOption): string | undefined {
  const setting = settingOf(option.name);
  if (setting) return `setting ${setting}`;
  if (option.name === 'checkpoint.leaveRunning') return option.value === 'false' ? '“Checkpoint and Stop”' : '“Checkpoint… (leave running)”';
  if (option.name === 'checkpoint.withPrevious') return '“Only changes since the pre-checkpoint”';
  const [verb, key] = option.name.split('.') as [string, string | undefined];
  if (key === undefined) return workflowWords[option.name as WorkflowOption];
  const info = ((verb === 'checkpoint' ? checkpointOptionInfo : restoreOptionInfo) as Record<string, OptionInfo>)[key]!;
  return `option “${info.label}”${option.value === 'false' ? ' off' : ''}`;
}

export interface WordedFix {
  text: string;
  /** Setting ids the fix names, each worth an "Open Setting" button. */
  settings: string[];
}

export function wordFix(fix: Fix): WordedFix {
  const settings = [...new Set((fix.options ?? []).flatMap((o) => settingOf(o.name) ?? []))];
  const words = [...new Set((fix.options ?? []).flatMap((o) => optionWords(o) ?? []))];
  return { text: words.length === 0 ? fix.text : `${fix.text} (${words.join(', ')})`, settings };
}

/** An error for the log: sentence, the fix as VS Code words it, then the tool's own words. */
export function describeForLog(error: unknown): string {
  return describeError(error, (fix) => wordFix(fix).text);
}

/** The button that opens a setting: one setting, "Open Setting"; several, each by its id. */
export function settingButton(setting: string, all: readonly string[]): string {
  return all.length === 1 ? 'Open Setting' : `Open ${setting}`;
}
