// Snapshot & Debug: production keeps running; a copy is restored on the debug host
// (snapdebug.defaultDebugHost, else asked), fenced (snapdebug.debug.fenceCopies, allowEgress), and
// a debugger attaches to it, all behind one cancellable progress notification.
import * as vscode from 'vscode';
import { formatDuration, NoJdwpAgentError, snapshotAndDebug as snapshotAndDebugWorkflow, type Runtime, type SnapshotDebugSession } from '../../core';
import { startDebugger } from '../debug/startDebugger';
import { wordFix } from '../fixes';
import { runLong } from '../progress';
import type { Services } from '../services';
import { CopyNode } from '../tree/copiesTree';
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
  // Fenced unless the machine's settings say otherwise (a workspace cannot).
  const fenceChoice = settings.debug.fenceCopies ? { allowEgress: settings.debug.allowEgress } : { allowAllEgress: true as const };
  const title = `Snapshot & Debug ${request.host}/${request.container}`;
  const run = (copyOnly: boolean) =>
    runLong(
      services,
      copyOnly ? `Snapshot & Restore ${request.host}/${request.container}` : title,
      (control) => snapshotAndDebugWorkflow(services.core(), { host: request.host, container: request.container, to: debugHost, ...(runtime && { runtime }), ...(copyOnly && { copyOnly }), ...(settings.throughThisMachine && { throughHere: true }), ...fenceChoice }, control),
      // A JVM without a JDWP agent is answered below, with what can be done instead.
      (error) => error instanceof NoJdwpAgentError,
    );
  let outcome = await run(false);
  if (outcome.status === 'failed' && outcome.error instanceof NoJdwpAgentError) {
    const restore = 'Restore a Copy Without Debugger';
    const choice = await vscode.window.showWarningMessage(`${title}: ${outcome.error.message}`, { modal: true, detail: outcome.error.fix ? wordFix(outcome.error.fix).text : '' }, restore);
    if (choice !== restore) return false;
    outcome = await run(true);
    services.refreshAll();
    if (outcome.status === 'done') {
      void followStore(services, outcome.value);
      await outcome.value.close(); // no debugger, so no session to hold its forwarded ports open
      void offerDumps(debugHost, outcome.value);
    }
    return false;
  }
  services.refreshAll();
  if (outcome.status !== 'done') return false;
  const session = outcome.value;
  void followStore(services, session);
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
 * Host to host, the store receives the snapshot from the source host while the debugger is
 * attached: a notification of its own shows it (cancellable: the source host then removes it).
 */
async function followStore(services: Services, session: SnapshotDebugSession): Promise<void> {
  const storing = session.storing;
  if (!storing) return;
  const outcome = await runLong(services, `Storing ${storing.id} here`, (control) => storing.follow(control));
  if (outcome.status === 'done') services.refreshAll();
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

/** A copy restored without a debugger (a JVM without an agent): its dumps, one click away. */
async function offerDumps(host: string, session: SnapshotDebugSession): Promise<void> {
  const threads = 'Save Thread Dump';
  const heap = 'Save Heap Dump';
  const java = session.target.runtime === 'java';
  const choice = await vscode.window.showInformationMessage(
    `${session.copy.name} runs on ${host}, without a debugger.${java ? ' Thread and heap dumps need no agent.' : ''}`,
    ...(java ? [threads, heap] : []),
  );
  const copy = new CopyNode({ host, name: session.copy.name, id: session.copy.name, state: 'running', snapshot: session.snapshot.id, source: `${session.snapshot.source.host}/${session.snapshot.source.container}`, command: session.target.command });
  if (choice === threads) await vscode.commands.executeCommand('snapdebug.saveThreadDump', copy);
  if (choice === heap) await vscode.commands.executeCommand('snapdebug.saveHeapDump', copy);
}

export const snapshotAndDebug: Command = {
  id: 'snapdebug.snapshotAndDebug',
  async run(services, node) {
    const container = await containerTarget(services, node, (c) => isRunning(c) && !c.copyOf, 'Production container to snapshot and debug');
    if (container) await runSnapshotAndDebug(services, { host: container.host, container: container.name });
  },
};
