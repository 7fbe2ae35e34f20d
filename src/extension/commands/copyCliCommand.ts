// Copy CLI Command: the `snapdebug …` line that does the same from a terminal, for scripts. Its
// options are written from the same tables as the CLI's flags and the QuickPicks (core options),
// with the values the extension would use (its settings), so the line does what the click does.
import * as vscode from 'vscode';
import { checkpointOptionInfo, optionWords, restoreOptionInfo, shellJoin, workflowDefaults } from '../../core';
import type { Services } from '../services';
import { CopyNode } from '../tree/copiesTree';
import { ContainerNode } from '../tree/hostsTree';
import { SnapshotNode } from '../tree/snapshotsTree';
import type { Command } from './command';

/** The same settings the extension works with, as global CLI options, for the hosts involved. */
function globalOptions(services: Services, hosts: string[]): string[] {
  const settings = services.settings();
  const sudo = settings.useSudo.includes('*') || hosts.some((h) => settings.useSudo.includes(h));
  return [
    ...(settings.sshConfigFile ? ['--ssh-config', settings.sshConfigFile] : []),
    ...(settings.knownHostsFile ? ['--known-hosts', settings.knownHostsFile] : []),
    ...(settings.snapshotDirectory ? ['--store', settings.snapshotDirectory] : []),
    ...(settings.remoteTempDir !== workflowDefaults.remoteTempDir ? ['--remote-tmp', settings.remoteTempDir] : []),
    ...(sudo ? ['--sudo'] : []),
  ];
}

export function cliCommandFor(services: Services, node: unknown): string | undefined {
  const settings = services.settings();
  const debugHost = settings.defaultDebugHost;
  const runtime = settings.debug.runtime ? ['--runtime', settings.debug.runtime] : [];
  const line = (hosts: string[], ...args: string[]) => shellJoin(['snapdebug', ...globalOptions(services, hosts), ...args]);
  if (node instanceof ContainerNode) {
    const { host, name, state, checkpointed, copyOf } = node.info;
    if (copyOf) return line([host], 'attach', `${host}/${name}`, ...runtime);
    if (state === 'running') {
      if (debugHost) return line([host, debugHost], 'debug', `${host}/${name}`, '--to', debugHost, ...runtime);
      return line([host], 'checkpoint', `${host}/${name}`, ...optionWords(checkpointOptionInfo, settings.checkpoint, 'cli'));
    }
    // Restore in Place keeps the checkpoint files unless told otherwise (its QuickPick's default).
    return checkpointed ? line([host], 'restore', `${host}/${name}`, '--keep') : line([host], 'ps', host);
  }
  if (node instanceof SnapshotNode) {
    const to = debugHost ?? 'HOST';
    return line([node.meta.source.host, to], 'restore', node.meta.id, '--to', to, ...optionWords(restoreOptionInfo, settings.restore, 'cli'));
  }
  if (node instanceof CopyNode) return line([node.copy.host], 'attach', `${node.copy.host}/${node.copy.name}`, ...runtime);
  return undefined;
}

export const copyCliCommand: Command = {
  id: 'snapdebug.copyCliCommand',
  async run(services, node) {
    const command = cliCommandFor(services, node);
    if (!command) {
      void vscode.window.showInformationMessage('Right-click a container, snapshot or copy to copy its snapdebug command.');
      return;
    }
    await vscode.env.clipboard.writeText(command);
    void vscode.window.showInformationMessage(`Copied: ${command}`);
  },
};
