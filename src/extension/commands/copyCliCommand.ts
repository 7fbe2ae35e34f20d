// Copy CLI Command: the `snapdebug …` line that does the same from a terminal, for scripts.
import * as vscode from 'vscode';
import { shellJoin } from '../../core/util/quote';
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
    ...(settings.remoteTempDir !== '/var/tmp' ? ['--remote-tmp', settings.remoteTempDir] : []),
    ...(sudo ? ['--sudo'] : []),
  ];
}

export function cliCommandFor(services: Services, node: unknown): string | undefined {
  const debugHost = services.settings().defaultDebugHost;
  const line = (hosts: string[], ...args: string[]) => shellJoin(['snapdebug', ...globalOptions(services, hosts), ...args]);
  if (node instanceof ContainerNode) {
    const { host, name, state, checkpointed, copyOf } = node.info;
    if (copyOf) return line([host], 'attach', `${host}/${name}`);
    if (state === 'running') return debugHost ? line([host, debugHost], 'debug', `${host}/${name}`, '--to', debugHost) : line([host], 'checkpoint', `${host}/${name}`);
    return checkpointed ? line([host], 'restore', `${host}/${name}`, '--keep') : line([host], 'ps', host);
  }
  if (node instanceof SnapshotNode) return line([node.meta.source.host, debugHost ?? 'HOST'], 'restore', node.meta.id, '--to', debugHost ?? 'HOST');
  if (node instanceof CopyNode) return line([node.copy.host], 'attach', `${node.copy.host}/${node.copy.name}`);
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
