// Delete: a file taken from a copy, after a modal confirmation (it holds the copy's memory).
import * as vscode from 'vscode';
import { artifactTitles, removeArtifact } from '../../core';
import { ArtifactNode } from '../tree/snapshotsTree';
import type { Command } from './command';

export const deleteArtifact: Command = {
  id: 'snapdebug.deleteArtifact',
  async run(services, node) {
    if (!(node instanceof ArtifactNode)) return;
    const { artifact } = node;
    const detail = `${artifact.name} holds memory of a copy of ${artifact.snapshot}, secrets included.`;
    if ((await vscode.window.showWarningMessage(`Delete this ${artifactTitles[artifact.kind]}?`, { modal: true, detail }, 'Delete')) !== 'Delete') return;
    removeArtifact(services.core(), artifact.path);
    services.views.snapshots.refresh();
  },
};
