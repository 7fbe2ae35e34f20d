// Restore Another Copy: the same snapshot again, on the same host, under the next free name.
import * as vscode from 'vscode';
import { formatEgress, listSnapshots } from '../../core';
import type { Command } from './command';
import { restoreOn } from './restoreSnapshot';
import { copyTarget } from './targets';

export const restoreAnotherCopy: Command = {
  id: 'snapdebug.restoreAnotherCopy',
  async run(services, node) {
    const copy = await copyTarget(services, node);
    if (!copy) return;
    const meta = listSnapshots(services.core()).find((m) => m.id === copy.snapshot);
    if (!meta) {
      void vscode.window.showErrorMessage(`Snapshot ${copy.snapshot} is no longer in the store, so no other copy can be made.`);
      return;
    }
    // Another copy of a fenced copy is fenced the same way.
    await restoreOn(services, meta, copy.host, false, copy.fence && { allowEgress: copy.fence.allowed.map(formatEgress) });
  },
};
