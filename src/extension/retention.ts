// At start: snapshots hold process memory, secrets included, so those older than
// snapdebug.store.maxAgeDays are offered for deletion (a notification: Delete / Keep), and store
// files the store will not act on are reported in the log, one line each.
import * as vscode from 'vscode';
import type { Services } from './services';

export async function reviewStore(services: Pick<Services, 'core' | 'settings' | 'log' | 'views'>, now = new Date()): Promise<void> {
  const store = services.core().store;
  const { invalid } = store.scan();
  for (const file of invalid) services.log.error(`not a snapshot, left alone: ${file.file}: ${file.problem}`);
  const days = services.settings().storeMaxAgeDays;
  const old = store.olderThan(days, now);
  if (old.length === 0) return;
  const ids = new Set(old.map((m) => m.id));
  const orphaned = store.list().filter((m) => m.parent !== undefined && ids.has(m.parent) && !ids.has(m.id)).length;
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
      store.remove(meta.id);
      deleted++;
      services.log.info(`deleted snapshot ${meta.id} (older than ${days} days)`);
    } catch (error) {
      services.log.error(`could not delete ${meta.id}: ${(error as Error).message}`);
    }
  }
  services.views.snapshots.refresh();
  void vscode.window.showInformationMessage(`Deleted ${deleted} snapshot${deleted === 1 ? '' : 's'} older than ${days} days.`);
}
