// Reveal in Store: the snapshot's archive in the OS file manager (or the folder, where there is none).
import * as vscode from 'vscode';
import { snapshotArchiveFile, storeFolder } from '../../core';
import type { Command } from './command';
import { snapshotTarget } from './targets';

export const revealInStore: Command = {
  id: 'snapdebug.revealInStore',
  async run(services, node) {
    const meta = await snapshotTarget(services, node, 'Snapshot to reveal', ['checkpoint', 'pre-checkpoint']);
    if (!meta) return;
    const uri = vscode.Uri.file(snapshotArchiveFile(services.core(), meta));
    await vscode.commands.executeCommand('revealFileInOS', uri).then(undefined, () => vscode.env.openExternal(vscode.Uri.file(storeFolder(services.core()))));
  },
};
