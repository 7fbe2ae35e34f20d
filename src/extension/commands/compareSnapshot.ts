// Compare with Snapshot…: what changed between this snapshot and another of the same container
// (processes added and gone, arguments, files and sockets, memory), older first, in a document.
import * as vscode from 'vscode';
import { diffSnapshots, diffText, formatAge, inspectSnapshot, listSnapshots, snapshotArchiveFile } from '../../core';
import { runLong } from '../progress';
import type { Command } from './command';
import { snapshotTarget } from './targets';

export const compareSnapshot: Command = {
  id: 'snapdebug.compareSnapshot',
  async run(services, node) {
    const meta = await snapshotTarget(services, node, 'Snapshot to compare');
    if (!meta) return;
    const others = listSnapshots(services.core(), { kind: ['checkpoint'], host: meta.source.host, container: meta.source.container }).filter((m) => m.id !== meta.id);
    if (others.length === 0) {
      void vscode.window.showInformationMessage(`There is no other snapshot of ${meta.source.host}/${meta.source.container} to compare with.`);
      return;
    }
    const picked = await vscode.window.showQuickPick(
      others.map((m) => ({ label: m.id, description: formatAge(new Date(m.createdAt)), meta: m })),
      { placeHolder: `Compare ${meta.id} with…`, ignoreFocusOut: true },
    );
    if (!picked) return;
    const [before, after] = [meta, picked.meta].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const outcome = await runLong(services, `Compare ${meta.source.container} snapshots`, async (control) => {
      const options = control.signal ? { signal: control.signal } : {};
      const archive = (m: typeof meta) => snapshotArchiveFile(services.core(), m);
      return diffSnapshots(await inspectSnapshot(archive(before!), options), await inspectSnapshot(archive(after!), options));
    });
    if (outcome.status !== 'done') return;
    await services.documents.show(`diff-${before!.id}-${after!.id}.txt`, `# ${before!.id} → ${after!.id}\n\n${diffText(outcome.value)}\n`);
  },
};
