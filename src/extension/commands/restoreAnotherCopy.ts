// Restore Another Copy: the same snapshot again, on the same host, under the next free name.
import * as vscode from 'vscode';
import { listSnapshots } from '../../core';
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
    await restoreOn(services, meta, copy.host, false);
  },
};
