// Show Logs: the last lines of `podman logs` of a container or copy.
import { podman } from '../../core/podman/commands';
import { cleanStderr } from '../../core/host';
import { showReadOnly } from '../documents';
import { showError } from '../progress';
import type { Command } from './command';
import { CopyNode } from '../tree/copiesTree';
import { containerTarget } from './targets';

const tailLines = 500;

export const showLogs: Command = {
  id: 'snapdebug.showLogs',
  async run(services, node) {
    const target = node instanceof CopyNode ? { host: node.copy.host, name: node.copy.name } : await containerTarget(services, node, () => true, 'Container');
    if (!target) return;
    try {
      const host = services.core().hosts.get(target.host);
      // podman logs writes the container's stderr to ours: read both.
      const result = await host.runner.run(host.privileged(['podman', ...podman.logs(target.name, tailLines).argv]));
      if (result.exitCode !== 0) throw host.podmanError(podman.logs(target.name, tailLines).argv, result.exitCode, cleanStderr(result.stderr));
      await showReadOnly(`${target.host}-${target.name}.log`, `${result.stdout}${cleanStderr(result.stderr)}`, 'log');
    } catch (error) {
      await showError(services, `Logs of ${target.name}`, error);
    }
  },
};
