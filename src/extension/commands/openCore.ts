// Open Core in gdb: an ELF core file of a process of a snapshot, with its program and libraries
// fetched from the container's image on the source host, opened in gdb in a terminal here; and,
// where the C/C++ extension is installed, as a cppdbg debug session on the same core. The core is
// process memory: it is kept in the store (0700), under cores/, and goes with the snapshot.
import { join } from 'node:path';
import * as vscode from 'vscode';
import { coreFromSnapshot, snapshotCoresFolder } from '../../core';
import { runLong } from '../progress';
import { ProcessNode } from '../tree/snapshotContents';
import type { Command } from './command';

export const cppToolsExtension = 'ms-vscode.cpptools';

export const openCore: Command = {
  id: 'snapdebug.openCore',
  async run(services, node) {
    if (!(node instanceof ProcessNode)) {
      void vscode.window.showInformationMessage('Open Core in gdb works on a process: expand a snapshot in the Snapshots view and right-click one of its processes.');
      return;
    }
    const { meta, process } = node;
    const outDir = join(snapshotCoresFolder(services.core(), meta), String(process.pid));
    const outcome = await runLong(services, `Core of process ${process.pid} (${process.command})`, (control) =>
      coreFromSnapshot(services.core(), meta, { pid: process.pid, outDir }, control),
    );
    if (outcome.status !== 'done') return;
    const result = outcome.value;
    for (const missing of result.missing) services.log.info(`core of ${meta.id}/${process.pid}: not fetched: ${missing.path}: ${missing.reason}`);
    const terminal = vscode.window.createTerminal({ name: `gdb ${meta.source.container} ${process.pid}`, shellPath: result.gdbCommand[0]!, shellArgs: result.gdbCommand.slice(1) });
    terminal.show();
    if (vscode.extensions.getExtension(cppToolsExtension)) {
      await vscode.debug.startDebugging(undefined, {
        type: 'cppdbg',
        request: 'launch',
        name: `Core of ${meta.source.container} process ${process.pid}`,
        program: join(result.rootDir, result.program),
        coreDumpPath: result.corePath,
        cwd: result.rootDir,
        MIMode: 'gdb',
        setupCommands: [{ text: `set sysroot ${result.rootDir}`, ignoreFailures: false }],
      });
    }
    if (result.missing.length > 0) {
      void vscode.window.showWarningMessage(`${result.missing.length} mapped file(s) could not be fetched from ${meta.source.host}: gdb shows less for them. The log says which and why.`);
    }
  },
};
