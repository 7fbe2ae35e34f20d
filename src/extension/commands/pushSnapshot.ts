// Push to Host…: a snapshot to a private folder on a host, verified there, removed by the host
// after a day; the path and the podman command to restore it are offered for copying.
import * as vscode from 'vscode';
import { pushToKeep, restoreArchiveCommand, shellJoin } from '../../core';
import { runLong } from '../progress';
import type { Command } from './command';
import { pickHost } from './pickers';
import { snapshotTarget } from './targets';

/** A pushed archive holds process memory: the host removes it after a day. */
const keepForMs = 24 * 3600_000;

export const pushSnapshot: Command = {
  id: 'snapdebug.pushSnapshot',
  async run(services, node) {
    const meta = await snapshotTarget(services, node, 'Snapshot to push', ['checkpoint', 'pre-checkpoint']);
    if (!meta) return;
    const host = await pickHost(services, `Host to push ${meta.id} to`);
    if (!host) return;
    const outcome = await runLong(services, `Push ${meta.id} to ${host}`, (control) => pushToKeep(services.core(), meta, host, keepForMs, control));
    if (outcome.status !== 'done') return;
    const command = shellJoin(restoreArchiveCommand(outcome.value.path));
    const copy = 'Copy Restore Command';
    const answer = await vscode.window.showInformationMessage(`${meta.id} is on ${host} at ${outcome.value.path} (sha256 verified there). It holds process memory: ${host} removes it at ${new Date(outcome.value.expiresAt).toLocaleString()}.`, copy);
    if (answer === copy) await vscode.env.clipboard.writeText(command);
  },
};
