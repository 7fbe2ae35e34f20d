// The store's copy of a snapshot that went host to host (hostToHost.ts): pulled from the source's
// work after the copy runs — the debugger does not wait for it — verified against the sha256 the
// source reported, then the source's work ends (its archive goes). A face follows it when it can.
import { rmSync } from 'node:fs';
import { inspectArchiveFile } from '../archive/checkpointArchive';
import type { Core, WorkControl } from '../core';
import { SnapdebugError } from '../util/errors';
import { noProgress, type ProgressEvent, type ProgressSink } from '../util/progress';
import type { SourceArchive } from './hostToHost';
import { pullFrom } from './pullLanes';
import type { SnapshotMeta } from './store';

/** The verified original into the store, from the source's work (resumable), then the work ends. */
export async function storeFromSource(core: Core, archive: SourceArchive, meta: SnapshotMeta, control: WorkControl): Promise<SnapshotMeta> {
  const { work } = archive;
  const source = work.host;
  core.store.ensure();
  const part = core.store.partPath(meta.id);
  try {
    // The same layout as any pull of a checkpoint (OpenSSH's ssh when this machine has it).
    const received = await pullFrom(core, source.name, archive.path, part, {
      ...(control.signal && { signal: control.signal }),
      onProgress: (total) => (control.progress ?? noProgress)({ phase: 'pull', message: `Storing ${meta.id} here`, bytes: total, total: meta.size }),
      work,
      // Production runs on, and a debugger works on the copy: this pull gives way on the source.
      background: true,
    });
    if (received.sha256 !== meta.sha256) throw new SnapdebugError(`The store's copy of ${meta.id} does not match the archive on ${source.name} (sha256).`);
    // CRIU's statistics were read on the target already (hostToHost.ts); the archive is read again
    // here only when they could not be.
    const criu = meta.criu ?? (await inspectArchiveFile(part)).criu;
    const committed = core.store.commit(part, { ...meta, ...(criu && { criu }) }, true);
    await work.finish();
    return committed;
  } catch (error) {
    rmSync(part, { force: true });
    await work.abandon(core.log);
    throw error;
  }
}

/** The store receiving a snapshot after the work that needed it is done (Snapshot & Debug host to host). */
export interface BackgroundStore {
  id: string;
  /** Settles when the store holds the verified snapshot, or rejects (failed, cancelled). */
  done: Promise<SnapshotMeta>;
  /** Shows its progress on `control.progress` (where it is now, then as it goes), cancels on `control.signal`; returns `done`. */
  follow(control: WorkControl): Promise<SnapshotMeta>;
}

/** Starts `storing` now; whoever shows it follows it when it can (the faces' progress outlives the work's). */
export function storeInBackground(id: string, storing: (control: WorkControl) => Promise<SnapshotMeta>, log: (line: string) => void): BackgroundStore {
  const controller = new AbortController();
  let sink: ProgressSink = noProgress;
  let last: ProgressEvent | undefined;
  const done = storing({ signal: controller.signal, progress: (event) => sink((last = event)) });
  done.catch((error: unknown) => log(`The store did not receive ${id}: ${(error as Error).message}`));
  return {
    id,
    done,
    follow(control) {
      if (control.progress) {
        sink = control.progress;
        if (last) sink(last);
      }
      if (control.signal?.aborted) controller.abort();
      control.signal?.addEventListener('abort', () => controller.abort(), { once: true });
      return done;
    },
  };
}
