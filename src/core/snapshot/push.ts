// push: a snapshot from the store to a file inside a work's private folder on a host, verified
// there before use. A copy's archive is relabelled on the way (see archive/relabel.ts) and
// compressed again with zstd unless the snapshot was taken uncompressed; otherwise
// the bytes sent are the store's bytes, and their hash must still match the one recorded at
// checkpoint time; the store re-hashes its archive before each send (the first and every resume)
// and refuses a replaced one before a byte leaves. The file lives as long as the work: removed
// when it finishes or is undone.
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressor, zstdProcess, zstdProgram } from '../archive/decompress';
import { approveCopy, pathProbe } from '../archive/copyPolicy';
import { DumpRewriter, entryRenames, entryRewrites, type CopyDumps, type CopyRewrite } from '../archive/relabel';
import type { Core, WorkControl } from '../core';
import type { Host } from '../host';
import type { RemoteWork } from '../remote/work';
import { SnapdebugError } from '../util/errors';
import { formatBytes } from '../util/format';
import { noProgress } from '../util/progress';
import { phaseTracker, withCleanup } from '../remote/failure';
import { sendToHost } from './send';
import type { SnapshotMeta } from './store';

export interface PushedArchive {
  host: Host;
  path: string;
  bytes: number;
  /** Of the file as it arrived; a host-to-host fetch verifies the source's bytes instead (hostToHost.ts). */
  sha256?: string;
}

/** The name an archive gets inside a work's folder (a relabelled one is a plain tar). */
export function archiveFileName(meta: Pick<SnapshotMeta, 'archive'>, relabelled: boolean, role: 'archive' | 'previous' = 'archive'): string {
  return relabelled ? `${role}.tar` : `${role}${/\.tar(\.zst|\.gz)?$/.exec(meta.archive)?.[0] ?? '.tar'}`;
}

/**
 * Sends an archive (as podman wrote it) to `path` in `work`'s folder, relabelled on the way when a
 * rewrite is given. `open` yields the archive from its first byte (or refuses, when what it would
 * yield is not what it should be); when it can do so again (`resumable`), a transfer cut by a
 * dropped link resumes, from a fresh `open`. pipeline() carries a read or
 * decompression error to the chain's last stream, which is what is sent, so any failure fails
 * the push.
 */
export async function pushArchive(
  core: Core,
  open: () => Readable | Promise<Readable>,
  request: {
    id: string;
    work: RemoteWork;
    path: string;
    rewrite?: CopyRewrite;
    /** Whether a relabelled archive is compressed again (zstd, when this machine has it) before it is sent. */
    compress?: boolean;
    sizeHint?: number;
    resumable: boolean;
    label: string;
  },
  control: WorkControl = {},
): Promise<PushedArchive & { relabelled: boolean }> {
  const { work, rewrite } = request;
  const progress = control.progress ?? noProgress;
  let rewriter: DumpRewriter | undefined;
  // A copy's dumps are checked (copyPolicy.ts) before their bytes go on: a refusal fails the push.
  const approve = (dumps: CopyDumps) => approveCopy(dumps, rewrite!.original, pathProbe(work.host, control.signal));
  const source = async () => {
    const archive = await open();
    if (!rewrite) return archive;
    rewriter = new DumpRewriter(entryRewrites(rewrite), entryRenames(rewrite), { approve });
    // The relabelling needs the plain tar; what crosses the link is compressed again, as podman
    // wrote it (podman restores a zstd archive whatever its name). Slow links are where it counts.
    const zstd = request.compress !== false ? zstdProgram() : undefined;
    const chain: [Readable, ...Duplex[]] = [archive, decompressor(), rewriter, ...(zstd ? [zstdProcess(zstd, 'compress')] : [])];
    pipeline(chain).catch(() => undefined);
    return chain.at(-1) as Duplex;
  };
  const received = await sendToHost(work, request.path, source, {
    ...(control.signal && { signal: control.signal }),
    ...(request.sizeHint !== undefined && { sizeHint: request.sizeHint }),
    resumable: request.resumable,
    onProgress: (bytes, resumedAt) =>
      progress({
        phase: 'push',
        message: resumedAt === undefined ? request.label : `${request.label} (resumed at ${formatBytes(resumedAt)} after the link dropped)`,
        bytes,
        ...(request.sizeHint !== undefined && !rewrite && { total: request.sizeHint }),
      }),
  });
  core.log(`pushed ${request.id} to ${work.host.name}:${request.path} (${received.bytes} bytes, sha256 ${received.sha256.slice(0, 12)}… verified there)`);
  return { host: work.host, path: request.path, bytes: received.bytes, sha256: received.sha256, relabelled: rewriter !== undefined };
}

/** A snapshot from the store into `work`'s folder on its host. */
export async function pushSnapshot(
  core: Core,
  meta: SnapshotMeta,
  work: RemoteWork,
  options: { rewrite?: CopyRewrite; role?: 'archive' | 'previous' },
  control: WorkControl = {},
): Promise<PushedArchive> {
  const path = work.file(archiveFileName(meta, options.rewrite !== undefined, options.role));
  const label = `Sending ${meta.id} to ${work.host.name}`;
  const progress = control.progress ?? noProgress;
  // Every open hashes the store's archive again and hands out the very file it hashed: a
  // replaced or damaged archive is refused before a byte of it is sent. The first is opened
  // before the host is asked anything; a resume opens (and hashes) afresh.
  const verified = (message: string) => core.store.openVerified(meta, control.signal, (bytes) => progress({ phase: 'verify', message, bytes, total: meta.size }));
  let first: Readable | undefined = await verified(`Checking the sha256 of ${meta.id} in the store`);
  progress({ phase: 'push', message: label, bytes: 0, total: meta.size });
  const open = async (): Promise<Readable> => {
    const ready = first;
    first = undefined;
    return ready ?? verified(`Checking the sha256 of ${meta.id} in the store again before resuming`);
  };
  let pushed: PushedArchive & { relabelled: boolean };
  try {
    const compress = meta.compression !== 'none';
    pushed = await pushArchive(core, open, { id: meta.id, work, path, ...(options.rewrite && { rewrite: options.rewrite }), compress, sizeHint: meta.size, resumable: true, label }, control);
  } finally {
    first?.destroy(); // never sent (the host refused first): let go of the file
  }
  core.store.audit.record({ action: 'push', host: work.host.name, container: meta.source.container, snapshot: meta.id, detail: pushed.path });
  if (!pushed.relabelled && pushed.sha256 !== meta.sha256) {
    throw new SnapdebugError(`The archive of ${meta.id} in the store no longer matches its sha256: it is damaged.`, {
      fix: `Delete ${meta.id} from the store and take a new snapshot.`,
    });
  }
  return pushed;
}

/**
 * `snapdebug push`: a snapshot left on a host on purpose, in a private folder of its own that the
 * sweep removes once `keepForMs` has passed. Until the archive is complete and verified it lives
 * in the work's folder, so an interrupted push leaves nothing behind.
 */
export async function pushToKeep(core: Core, meta: SnapshotMeta, to: string, keepForMs: number, control: WorkControl = {}): Promise<PushedArchive & { expiresAt: string }> {
  const tracker = phaseTracker(control.progress);
  control = { ...control, progress: tracker.sink };
  const host = core.hosts.get(to);
  const work = await host.beginWork(`push ${meta.id}`, control.signal);
  try {
    const expiresAtMs = Date.now() + keepForMs;
    const keep = await work.keep({ expiresAtMs });
    const pushed = await pushSnapshot(core, meta, work, {}, control);
    const path = `${keep}/${meta.archive}`;
    const moved = await host.runner.run(['mv', pushed.path, path]);
    if (moved.exitCode !== 0) throw new SnapdebugError(`Cannot move the archive into ${keep} on ${to}.`, { detail: moved.stderr });
    await work.finish();
    return { ...pushed, path, expiresAt: new Date(expiresAtMs).toISOString() };
  } catch (error) {
    throw withCleanup(error, tracker.phase(), [{ host: to, undone: await work.abandon(core.log) }]);
  }
}
