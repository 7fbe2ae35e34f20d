// Checkpoint… (leave running) and Checkpoint and Stop…: options from a QuickPick (only what the
// host's podman has), then the checkpoint streams into the store with progress and cancel.
import * as vscode from 'vscode';
import { checkpoint as checkpointWorkflow, formatBytes, formatDuration, listSnapshots } from '../../core';
import { runLong } from '../progress';
import type { Services } from '../services';
import type { Command } from './command';
import { pickCheckpointOptions, pickSnapshot } from './pickers';
import { containerTarget, isRunning } from './targets';

async function run(services: Services, node: unknown, leaveRunning: boolean): Promise<void> {
  const container = await containerTarget(services, node, isRunning, leaveRunning ? 'Container to checkpoint (it keeps running)' : 'Container to checkpoint and stop');
  if (!container) return;
  const options = await pickCheckpointOptions(services, container.host, leaveRunning);
  if (!options) return;
  let previous: string | undefined;
  if (!options.preCheckpoint) {
    const pre = listSnapshots(services.core(), { kind: ['pre-checkpoint'], host: container.host, container: container.name });
    if (pre.length > 0) {
      const answer = await vscode.window.showQuickPick([{ label: 'Full checkpoint' }, { label: 'Only changes since the pre-checkpoint', description: '--with-previous' }], { placeHolder: `${container.name} has a pre-checkpoint` });
      if (!answer) return;
      if (answer.description) previous = (await pickSnapshot(services, 'Pre-checkpoint to build on', ['pre-checkpoint']))?.id;
    }
  }
  if (!leaveRunning) {
    const stop = 'Checkpoint and Stop';
    const answer = await vscode.window.showWarningMessage(`${container.name} on ${container.host} stops until it is restored.`, { modal: true }, stop);
    if (answer !== stop) return;
  }
  const title = `${leaveRunning ? 'Checkpoint' : 'Checkpoint and stop'} ${container.host}/${container.name}`;
  const outcome = await runLong(services, title, (control) =>
    checkpointWorkflow(services.core(), { host: container.host, container: container.name, options: { ...options, ...(previous && { withPrevious: true }) }, ...(previous && { previous }) }, control),
  );
  services.refreshAll();
  if (outcome.status === 'done') {
    const meta = outcome.value;
    const frozen = meta.criu ? `, frozen ${formatDuration(meta.criu.frozenTimeUs / 1000)}` : '';
    void vscode.window.showInformationMessage(`Snapshot ${meta.id}: ${formatBytes(meta.size)}${frozen}${leaveRunning ? `; ${container.name} kept running` : ''}.`);
  }
}

export const checkpoint: Command = { id: 'snapdebug.checkpoint', run: (services, node) => run(services, node, true) };
export const checkpointAndStop: Command = { id: 'snapdebug.checkpointAndStop', run: (services, node) => run(services, node, false) };
