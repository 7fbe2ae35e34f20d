// Show Logs: the last lines of `podman logs` of a container or copy.
import { containerLogs } from '../../core';
import { showError } from '../progress';
import type { Command } from './command';
import { CopyNode } from '../tree/copiesTree';
import { containerTarget } from './targets';

export const showLogs: Command = {
  id: 'snapdebug.showLogs',
  async run(services, node) {
    const target = node instanceof CopyNode ? { host: node.copy.host, name: node.copy.name } : await containerTarget(services, node, () => true, 'Container');
    if (!target) return;
    try {
      const logs = await containerLogs(services.core(), target.host, target.name);
      await services.documents.show(`${target.host}-${target.name}.log`, logs, 'log');
    } catch (error) {
      await showError(services, `Logs of ${target.name}`, error);
    }
  },
};
