// Copy CLI Command: the `snapdebug …` line that does the same from a terminal, for scripts.
import * as vscode from 'vscode';
import { shellJoin } from '../../core/util/quote';
import type { Services } from '../services';
import { CopyNode } from '../tree/copiesTree';
import { ContainerNode } from '../tree/hostsTree';
import { SnapshotNode } from '../tree/snapshotsTree';
import type { Command } from './command';

export function cliCommandFor(services: Services, node: unknown): string | undefined {
  const settings = services.settings();
  const global = [...(settings.sshConfigFile ? ['--ssh-config', settings.sshConfigFile] : []), ...(settings.snapshotDirectory ? ['--store', settings.snapshotDirectory] : [])];
  const line = (...args: string[]) => shellJoin(['snapdebug', ...global, ...args]);
  if (node instanceof ContainerNode) {
    const { host, name, state, checkpointed, copyOf } = node.info;
    if (copyOf) return line('attach', `${host}/${name}`);
    if (state === 'running') return settings.defaultDebugHost ? line('debug', `${host}/${name}`, '--to', settings.defaultDebugHost) : line('checkpoint', `${host}/${name}`);
    return checkpointed ? line('restore', `${host}/${name}`, '--keep') : line('top', `${host}/${name}`);
  }
  if (node instanceof SnapshotNode) return line('restore', node.meta.id, '--to', settings.defaultDebugHost ?? 'HOST');
  if (node instanceof CopyNode) return line('attach', `${node.copy.host}/${node.copy.name}`);
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
