// The snapshot store as the faces use it: list and find snapshots (and the metadata files the
// store will not act on), say which are old, and delete them saying which checkpoints taken on top
// of them (with previous) can no longer be restored.
import type { Core } from './core';
import { podman } from './podman/commands';
import type { InvalidSnapshotFile, SnapshotMeta } from './snapshot/store';

/**
 * How long snapshots and copies are kept before the faces say so: snapshots older than
 * `maxAgeDays` are offered for deletion, copies restored more than `staleAfterHours` ago are
 * marked stale (0 turns either off). Both hold production's memory.
 */
export const retentionDefaults = { maxAgeDays: 7, staleAfterHours: 24 } as const;

export interface SnapshotFilter {
  kind?: SnapshotMeta['kind'][];
  host?: string;
  container?: string;
}

/** The store's snapshots, newest first. */
export function listSnapshots(core: Core, filter: SnapshotFilter = {}): SnapshotMeta[] {
  return core.store
    .list()
    .filter((m) => (filter.kind === undefined || filter.kind.includes(m.kind)) && (filter.host === undefined || m.source.host === filter.host) && (filter.container === undefined || m.source.container === filter.container));
}

/** The valid snapshots (newest first) and, one line each, the metadata files the store leaves alone. */
export function scanSnapshots(core: Core): { snapshots: SnapshotMeta[]; invalid: InvalidSnapshotFile[] } {
  return core.store.scan();
}

/** Snapshots taken more than `days` days before `now` (0: none), oldest first. */
export function oldSnapshots(core: Core, days: number, now = new Date()): SnapshotMeta[] {
  return core.store.olderThan(days, now);
}

/** A snapshot by id, or by a prefix naming exactly one. */
export function getSnapshot(core: Core, idOrPrefix: string): SnapshotMeta {
  return core.store.get(idOrPrefix);
}

/** Checkpoints taken with previous on top of this snapshot: they cannot be restored without it. */
export function snapshotDependents(core: Core, id: string): SnapshotMeta[] {
  return core.store.list().filter((m) => m.parent === id);
}

export interface DeletedSnapshots {
  removed: string[];
  /** Checkpoints left in the store that were built on a removed snapshot: no longer restorable. */
  orphaned: string[];
}

/** Deletes snapshots (archive and metadata); says which remaining ones depended on them. */
export function deleteSnapshots(core: Core, idsOrPrefixes: string[]): DeletedSnapshots {
  const metas = idsOrPrefixes.map((ref) => core.store.get(ref));
  const removed = [...new Set(metas.map((m) => m.id))];
  const orphaned = removed.flatMap((id) => snapshotDependents(core, id).map((d) => d.id)).filter((id) => !removed.includes(id));
  for (const id of removed) core.store.remove(id);
  core.log(`deleted snapshot${removed.length === 1 ? '' : 's'} ${removed.join(', ')}`);
  return { removed, orphaned: [...new Set(orphaned)] };
}

/** Where a snapshot's archive is on this machine. */
export function snapshotArchiveFile(core: Core, meta: Pick<SnapshotMeta, 'id' | 'compression'>): string {
  return core.store.archivePath(meta);
}

/** The podman command that restores an archive pushed to a host (for people to run there). */
export function restoreArchiveCommand(path: string): string[] {
  return ['podman', ...podman.restore({ archive: path }, {}).argv];
}

/** The store's folder. */
export function storeFolder(core: Core): string {
  return core.store.dir;
}
