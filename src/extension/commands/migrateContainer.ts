// Migrate to Host…: the seed article's live migration. The source is removed only when the user
// asks and only after the target is verified running with the same processes.
import * as vscode from 'vscode';
import { migrate } from '../../core';
import { runLong } from '../progress';
import type { Command } from './command';
import { pickHost } from './pickers';
import { containerTarget, isRunning } from './targets';

export const migrateContainer: Command = {
  id: 'snapdebug.migrateContainer',
  async run(services, node) {
    const container = await containerTarget(services, node, isRunning, 'Container to migrate');
    if (!container) return;
    const to = await pickHost(services, `Move ${container.name} from ${container.host} to`, [container.host]);
    if (!to) return;
    const choice = await vscode.window.showWarningMessage(
      `Migrate ${container.name} from ${container.host} to ${to}?`,
      { modal: true, detail: `${container.name} stops on ${container.host} while it moves. If anything fails before it runs on ${to}, it is restored on ${container.host}.` },
      'Migrate and Keep Source Stopped',
      'Migrate and Remove Source',
    );
    if (!choice) return;
    const outcome = await runLong(services, `Migrate ${container.name} to ${to}`, (control) =>
      migrate(services.core(), { from: container.host, container: container.name, to, removeSource: choice === 'Migrate and Remove Source', ...(services.settings().throughThisMachine && { throughHere: true }) }, control),
    );
    services.refreshAll();
    if (outcome.status === 'done') {
      const { route } = outcome.value;
      const how = route.hostToHost ? `The archive went host to host (${container.host} → ${to}).` : `The archive went through this machine: ${route.reason}.`;
      void vscode.window.showInformationMessage(`${container.name} runs on ${to} (pid ${outcome.value.target.pid}); podman top shows the same ${outcome.value.targetTop.length} processes. ${how}`);
    }
  },
};
