// Show Processes: `podman top` of a container, as a document.
import { containerProcesses } from '../../core';
import { showError } from '../progress';
import type { Command } from './command';
import { containerTarget, isRunning } from './targets';

export const showProcesses: Command = {
  id: 'snapdebug.showProcesses',
  async run(services, node) {
    const container = await containerTarget(services, node, isRunning, 'Container');
    if (!container) return;
    try {
      const top = await containerProcesses(services.core(), container.host, container.name);
      const rows = [['USER', 'PID', 'PPID', 'ELAPSED', 'COMMAND'], ...top.map((p) => [p.user, String(p.pid), String(p.ppid), p.elapsed, p.command])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      const text = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
      await services.documents.show(`${container.host}-${container.name}-top.txt`, `# podman top ${container.name} on ${container.host}\n\n${text}\n`);
    } catch (error) {
      await showError(services, `Processes of ${container.name}`, error);
    }
  },
};
