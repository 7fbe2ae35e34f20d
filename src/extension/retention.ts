// At start: snapshots hold process memory, secrets included, so those older than
// snapdebug.store.maxAgeDays are offered for deletion (a notification: Delete / Keep), and store
// files the store will not act on are reported in the log, one line each.
import * as vscode from 'vscode';
import { deleteSnapshots, oldSnapshots, scanSnapshots, snapshotDependents } from '../core';
import type { Services } from './services';

export async function reviewStore(services: Pick<Services, 'core' | 'settings' | 'log' | 'views' | 'clock'>): Promise<void> {
  const core = services.core();
  const { invalid } = scanSnapshots(core);
  for (const file of invalid) services.log.error(`not a snapshot, left alone: ${file.file}: ${file.problem}`);
  const days = services.settings().storeMaxAgeDays;
  const old = oldSnapshots(core, days, new Date(services.clock.now()));
  if (old.length === 0) return;
  const ids = new Set(old.map((m) => m.id));
  const orphaned = new Set(old.flatMap((m) => snapshotDependents(core, m.id).map((d) => d.id)).filter((id) => !ids.has(id))).size;
  const message = `${old.length === 1 ? '1 snapshot is' : `${old.length} snapshots are`} older than ${days} day${days === 1 ? '' : 's'}: ${old
    .map((m) => m.source.container)
    .join(', ')}. Snapshots hold process memory, secrets included.${orphaned > 0 ? ` ${orphaned} newer checkpoint(s) built on them could no longer be restored.` : ''}`;
  const answer = await vscode.window.showWarningMessage(message, 'Delete', 'Keep');
  if (answer !== 'Delete') {
    services.log.info(`kept ${old.length} snapshot(s) older than ${days} days: ${[...ids].join(', ')}`);
    return;
  }
  let deleted = 0;
  for (const meta of old) {
    try {
      deleteSnapshots(core, [meta.id]);
      deleted++;
      services.log.info(`deleted snapshot ${meta.id} (older than ${days} days)`);
    } catch (error) {
      services.log.error(`could not delete ${meta.id}: ${(error as Error).message}`);
    }
  }
  services.views.snapshots.refresh();
  void vscode.window.showInformationMessage(`Deleted ${deleted} snapshot${deleted === 1 ? '' : 's'} older than ${days} days.`);
}
