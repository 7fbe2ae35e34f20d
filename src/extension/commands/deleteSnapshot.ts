// Delete Snapshot: after a modal confirmation (snapshots hold process memory, secrets included).
import * as vscode from 'vscode';
import { deleteSnapshots, snapshotDependents } from '../../core';
import type { Command } from './command';
import { snapshotTarget } from './targets';

export const deleteSnapshot: Command = {
  id: 'snapdebug.deleteSnapshot',
  async run(services, node) {
    const meta = await snapshotTarget(services, node, 'Snapshot to delete', ['checkpoint', 'pre-checkpoint']);
    if (!meta) return;
    const dependents = snapshotDependents(services.core(), meta.id);
    const detail = `${meta.id} holds the memory of ${meta.source.container}, secrets included.${dependents.length > 0 ? ` ${dependents.length} checkpoint(s) built on it can no longer be restored.` : ''}`;
    if ((await vscode.window.showWarningMessage(`Delete snapshot ${meta.id}?`, { modal: true, detail }, 'Delete')) !== 'Delete') return;
    deleteSnapshots(services.core(), [meta.id]);
    services.views.snapshots.refresh();
  },
};
