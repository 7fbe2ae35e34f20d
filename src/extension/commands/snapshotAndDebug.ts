// Snapshot & Debug: production keeps running; a copy is restored on the debug host
// (snapdebug.defaultDebugHost, else asked), fenced (snapdebug.debug.fenceCopies, allowEgress), and
// a debugger attaches to it, all behind one cancellable progress notification.
import * as vscode from 'vscode';
import { formatDuration, snapshotAndDebug as snapshotAndDebugWorkflow, type Runtime } from '../../core';
import { startDebugger } from '../debug/startDebugger';
import { runLong } from '../progress';
import type { Services } from '../services';
import type { Command } from './command';
import { pickHost } from './pickers';
import { containerTarget, isRunning } from './targets';

export interface SnapshotAndDebugRequest {
  host: string;
  container: string;
  debugHost?: string;
  runtime?: Runtime;
  localRoot?: string;
  remoteRoot?: string;
}

export async function runSnapshotAndDebug(services: Services, request: SnapshotAndDebugRequest): Promise<boolean> {
  const settings = services.settings();
  const debugHost =
    request.debugHost ??
    (settings.defaultDebugHost && settings.defaultDebugHost !== request.host ? settings.defaultDebugHost : undefined) ??
    (await pickHost(services, `Debug host for the copy of ${request.container}`, [request.host]));
  if (!debugHost) return false;
  const runtime = request.runtime ?? settings.debug.runtime;
  const outcome = await runLong(services, `Snapshot & Debug ${request.host}/${request.container}`, (control) =>
    snapshotAndDebugWorkflow(
      services.core(),
      {
        host: request.host,
        container: request.container,
        to: debugHost,
        ...(runtime && { runtime }),
        // Fenced unless the machine's settings say otherwise (a workspace cannot).
        ...(settings.debug.fenceCopies ? { allowEgress: settings.debug.allowEgress } : { allowAllEgress: true }),
      },
      control,
    ),
  );
  services.refreshAll();
  if (outcome.status !== 'done') return false;
  const session = outcome.value;
  const frozen = session.snapshot.criu ? formatDuration(session.snapshot.criu.frozenTimeUs / 1000) : 'an unknown time';
  services.log.info(`Snapshot & Debug: ${request.container} was frozen ${frozen} and kept running; copy ${session.copy.name} on ${debugHost}`);
  void vscode.window.setStatusBarMessage(`$(debug-alt) ${request.container} frozen ${frozen}; debugging copy ${session.copy.name} on ${debugHost}`, 15_000);
  void offerServicePorts(session.copy.name, session.ports);
  return startDebugger(services, {
    host: debugHost,
    copy: session.copy.name,
    runtime: session.target.runtime,
    ...(session.attach && { attach: session.attach }),
    ...(session.gdb && { gdb: session.gdb }),
    close: session.close,
    ...(request.localRoot && { localRoot: request.localRoot }),
    ...(request.remoteRoot && { remoteRoot: request.remoteRoot }),
  });
}

/**
 * The copy publishes its ports on the debug host's loopback only; the session forwards them here.
 * Saying where lets the developer send the request that hits the breakpoint.
 */
export async function offerServicePorts(copy: string, ports: ReadonlyArray<{ port: string; local: number }>): Promise<void> {
  const first = ports[0];
  if (!first) return;
  const where = ports.map((p) => `${p.port} at 127.0.0.1:${p.local}`).join(', ');
  const open = 'Open in Browser';
  const choice = await vscode.window.showInformationMessage(`${copy}: its ${where}, while the debug session lasts.`, open);
  if (choice === open) await vscode.env.openExternal(vscode.Uri.parse(`http://127.0.0.1:${first.local}/`));
}

export const snapshotAndDebug: Command = {
  id: 'snapdebug.snapshotAndDebug',
  async run(services, node) {
    const container = await containerTarget(services, node, (c) => isRunning(c) && !c.copyOf, 'Production container to snapshot and debug');
    if (container) await runSnapshotAndDebug(services, { host: container.host, container: container.name });
  },
};
