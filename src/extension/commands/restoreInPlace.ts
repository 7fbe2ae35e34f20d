// Restore in Place: the seed article's `podman container restore --keep NAME`, for a container
// that holds a checkpoint on its own host.
import * as vscode from 'vscode';
import { restoreInPlace as restoreInPlaceWorkflow } from '../../core';
import { runLong } from '../progress';
import type { Command } from './command';
import { containerTarget, isCheckpointed } from './targets';

export const restoreInPlace: Command = {
  id: 'snapdebug.restoreInPlace',
  async run(services, node) {
    const container = await containerTarget(services, node, isCheckpointed, 'Checkpointed container to restore in place');
    if (!container) return;
    const keep = await vscode.window.showQuickPick([{ label: 'Keep checkpoint files', description: '--keep', picked: true, keep: true }, { label: 'Remove checkpoint files', keep: false }], { placeHolder: `Restore ${container.name} on ${container.host}` });
    if (!keep) return;
    const outcome = await runLong(services, `Restore ${container.host}/${container.name} in place`, (control) =>
      restoreInPlaceWorkflow(services.core(), { host: container.host, container: container.name, options: { keep: keep.keep } }, control),
    );
    services.refreshAll();
    if (outcome.status === 'done') void vscode.window.showInformationMessage(`${container.name} runs again on ${container.host} (pid ${outcome.value.pid}).`);
  },
};
