// Checkpoint to Another Host…: a running container's snapshot into the store, and its archive kept
// on another host for a day (the seed's `checkpoint -e` there and `scp` to the next host), sent
// host to host when that host reaches the source; the path and the podman command to restore it
// there are offered for copying.
import * as vscode from 'vscode';
import { checkpointToHost as checkpointToHostWorkflow, restoreArchiveCommand, shellJoin } from '../../core';
import { runLong } from '../progress';
import type { Command } from './command';
import { pickCheckpointOptions, pickHost } from './pickers';
import { containerTarget, isRunning } from './targets';

/** A kept archive holds process memory: the host removes it after a day. */
const keepForMs = 24 * 3600_000;

export const checkpointToHost: Command = {
  id: 'snapdebug.checkpointToHost',
  async run(services, node) {
    const container = await containerTarget(services, node, isRunning, 'Container to checkpoint (it keeps running)');
    if (!container) return;
    const to = await pickHost(services, `Host to keep ${container.name}'s archive on`, [container.host]);
    if (!to) return;
    const options = await pickCheckpointOptions(services, container.host, true);
    if (!options) return;
    const outcome = await runLong(services, `Checkpoint ${container.host}/${container.name} to ${to}`, (control) =>
      checkpointToHostWorkflow(
        services.core(),
        { host: container.host, container: container.name, options, to, keepForMs, ...(services.settings().throughThisMachine && { throughHere: true }) },
        control,
      ),
    );
    services.refreshAll();
    if (outcome.status !== 'done') return;
    const { meta, kept, route } = outcome.value;
    const how = route.hostToHost ? `fetched from ${container.host} host to host` : `sent through this machine: ${route.reason}`;
    const copy = 'Copy Restore Command';
    const answer = await vscode.window.showInformationMessage(
      `${meta.id} is in the store and on ${to} at ${kept.path} (${how}, sha256 verified). It holds process memory: ${to} removes it at ${new Date(kept.expiresAt).toLocaleString()}.`,
      copy,
    );
    if (answer === copy) await vscode.env.clipboard.writeText(shellJoin(restoreArchiveCommand(kept.path)));
  },
};
