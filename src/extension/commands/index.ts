// The one registry: every command of package.json, registered in one place.
import * as vscode from 'vscode';
import type { Services } from '../services';
import { addHost } from './addHost';
import { attachToCopy } from './attachToCopy';
import { checkpoint, checkpointAndStop } from './checkpoint';
import { checkpointToHost } from './checkpointToHost';
import { compareSnapshot } from './compareSnapshot';
import type { Command } from './command';
import { copyCliCommand } from './copyCliCommand';
import { deleteArtifact } from './deleteArtifact';
import { deleteSnapshot } from './deleteSnapshot';
import { discardCopy } from './discardCopy';
import { inspect } from './inspect';
import { migrateContainer } from './migrateContainer';
import { openArtifact } from './openArtifact';
import { openCore } from './openCore';
import { openSshConfig } from './openSshConfig';
import { pushSnapshot } from './pushSnapshot';
import { recordCpuProfile } from './recordCpuProfile';
import { refresh } from './refresh';
import { restoreAnotherCopy } from './restoreAnotherCopy';
import { restoreInPlace } from './restoreInPlace';
import { restoreSnapshot } from './restoreSnapshot';
import { retryHost } from './retryHost';
import { revealInStore } from './revealInStore';
import { runDoctor } from './runDoctor';
import { saveHeapDump } from './saveHeapDump';
import { saveHeapSnapshot } from './saveHeapSnapshot';
import { saveThreadDump } from './saveThreadDump';
import { searchMemoryCommand } from './searchMemory';
import { showLog } from './showLog';
import { showEnvironment } from './showEnvironment';
import { showLogs } from './showLogs';
import { showProcesses } from './showProcesses';
import { snapshotAndDebug } from './snapshotAndDebug';
import { snapshotReport } from './snapshotReport';

export const allCommands: readonly Command[] = [
  addHost,
  openSshConfig,
  refresh,
  retryHost,
  runDoctor,
  checkpoint,
  checkpointAndStop,
  checkpointToHost,
  snapshotAndDebug,
  pushSnapshot,
  restoreSnapshot,
  restoreInPlace,
  migrateContainer,
  showProcesses,
  showLogs,
  inspect,
  searchMemoryCommand,
  compareSnapshot,
  openCore,
  showEnvironment,
  snapshotReport,
  revealInStore,
  deleteSnapshot,
  attachToCopy,
  restoreAnotherCopy,
  discardCopy,
  saveHeapSnapshot,
  recordCpuProfile,
  saveThreadDump,
  saveHeapDump,
  openArtifact,
  deleteArtifact,
  copyCliCommand,
  showLog,
];

export function registerCommands(services: Services): vscode.Disposable[] {
  return allCommands.map((command) =>
    vscode.commands.registerCommand(command.id, async (...args: unknown[]) => {
      try {
        return await command.run(services, ...args);
      } catch (error) {
        // Commands report their own failures; anything escaping is logged, never swallowed silently.
        services.log.error(`${command.id}: ${(error as Error).stack ?? String(error)}`);
        void vscode.window.showErrorMessage(`${command.id}: ${(error as Error).message}`, 'Show Log').then((c) => c && services.log.channel.show(true));
        return undefined;
      }
    }),
  );
}
