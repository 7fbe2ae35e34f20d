// What the capture commands share: the copy to take it from (the clicked one, or one of that
// runtime picked), the cancellable progress, and afterwards the Snapshots view refreshed and the
// file opened — heap snapshots and CPU profiles in VS Code's own viewers.
import * as vscode from 'vscode';
import { runtimeOf, type Artifact, type Capture, type CopyInfo, type Runtime, type WorkControl } from '../../core';
import { runLong } from '../progress';
import type { Services } from '../services';
import { copyTarget } from './targets';

export function copyRuns(runtime: Runtime): (copy: CopyInfo) => boolean {
  return (copy) => copy.state === 'running' && copy.command !== undefined && runtimeOf(copy.command) === runtime;
}

export async function runCapture(
  services: Services,
  node: unknown,
  runtime: Runtime,
  title: (copy: CopyInfo) => string,
  work: (copy: CopyInfo, control: WorkControl) => Promise<Capture>,
  before?: (copy: CopyInfo) => Promise<boolean>,
): Promise<Artifact | undefined> {
  const copy = await copyTarget(services, node, copyRuns(runtime), `running ${runtime === 'node' ? 'Node.js' : 'Java'} copies`);
  if (!copy || (before && !(await before(copy)))) return undefined;
  const outcome = await runLong(services, title(copy), (control) => work(copy, control));
  if (outcome.status !== 'done') return undefined;
  const { artifact } = outcome.value;
  services.log.info(`${title(copy)}: ${artifact.path}`);
  services.views.snapshots.refresh();
  await openArtifactFile(artifact);
  return artifact;
}

/** Opens a saved file: VS Code's viewers for .heapsnapshot and .cpuprofile, text for thread dumps. */
export async function openArtifactFile(artifact: Artifact): Promise<void> {
  const uri = vscode.Uri.file(artifact.path);
  if (artifact.kind === 'hprof') {
    // VS Code has no HPROF viewer: show where it is, for Eclipse MAT, VisualVM or IntelliJ.
    const reveal = 'Reveal in File Explorer';
    const choice = await vscode.window.showInformationMessage(`Heap dump saved: ${artifact.path}. Open it with Eclipse MAT, VisualVM or IntelliJ.`, reveal);
    if (choice === reveal) await vscode.commands.executeCommand('revealFileInOS', uri);
    return;
  }
  await vscode.commands.executeCommand('vscode.open', uri, { preview: false });
}
