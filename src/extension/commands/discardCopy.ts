// Discard Copy (Remove Copy): removes a copy we restored, after confirmation. The core refuses
// any container without our snapdebug.origin label, so production cannot be removed here.
import * as vscode from 'vscode';
import { discardCopy as discardWorkflow } from '../../core';
import { showError } from '../progress';
import type { Command } from './command';
import { copyTarget } from './targets';

export const discardCopy: Command = {
  id: 'snapdebug.discardCopy',
  async run(services, node) {
    const copy = await copyTarget(services, node);
    if (!copy) return;
    if ((await vscode.window.showWarningMessage(`Discard copy ${copy.name} on ${copy.host}?`, { modal: true, detail: `It was restored from ${copy.snapshot}. The snapshot stays in the store.` }, 'Discard')) !== 'Discard') return;
    try {
      await discardWorkflow(services.core(), copy.host, copy.name);
    } catch (error) {
      await showError(services, `Discard ${copy.name}`, error);
    }
    services.refreshAll();
  },
};
