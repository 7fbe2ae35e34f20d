// Restore on Host…: a snapshot onto a chosen host as a copy. When the image is missing there,
// offer to copy it from the snapshot's source host.
import * as vscode from 'vscode';
import { ImageMissingError, freeContainerName, restoreSnapshot as restoreWorkflow, type FenceRequest, type SnapshotMeta } from '../../core';
import { runLong } from '../progress';
import type { Services } from '../services';
import type { Command } from './command';
import { pickHost, pickRestoreOptions } from './pickers';
import { snapshotTarget } from './targets';

/** `fence`: restore the copy fenced, as Restore Another Copy does for a copy that was. */
export async function restoreOn(services: Services, meta: SnapshotMeta, host: string, askOptions = true, fence?: FenceRequest): Promise<void> {
  const defaultName = await freeContainerName(services.core(), host, meta.source.container).catch(() => meta.source.container);
  const settings = services.settings().restore;
  const options = askOptions ? await pickRestoreOptions(services, host, defaultName) : { ...settings, name: defaultName };
  if (!options) return;
  const attempt = (transferImage: boolean) =>
    runLong(services, `Restore ${meta.source.container} on ${host}`, (control) =>
      restoreWorkflow(services.core(), { snapshot: meta.id, to: host, options, ...(transferImage && { transferImage }), ...(fence && { fence }) }, control),
      (error) => error instanceof ImageMissingError,
    );
  let outcome = await attempt(false);
  if (outcome.status === 'failed' && outcome.error instanceof ImageMissingError) {
    const copy = `Copy Image from ${outcome.error.sourceHost}`;
    if ((await vscode.window.showWarningMessage(outcome.error.message, copy)) === copy) outcome = await attempt(true);
  }
  services.refreshAll();
  if (outcome.status === 'done') void vscode.window.showInformationMessage(`${outcome.value.name} runs on ${host} (restored from ${meta.id}).`);
}

export const restoreSnapshot: Command = {
  id: 'snapdebug.restoreSnapshot',
  async run(services, node) {
    const meta = await snapshotTarget(services, node, 'Snapshot to restore');
    if (!meta) return;
    const host = await pickHost(services, `Host to restore ${meta.source.container} on`);
    if (host) await restoreOn(services, meta, host);
  },
};
