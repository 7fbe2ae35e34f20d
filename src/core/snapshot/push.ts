// push: a snapshot from the store to a temporary file on a host, verified there before use. A
// copy's archive is relabelled on the way (see archive/relabel.ts); otherwise the bytes sent are
// the store's bytes, and their hash must still match the one recorded at checkpoint time.
import { randomBytes } from 'node:crypto';
import { Transform, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressor } from '../archive/decompress';
import { DumpRewriter, entryRenames, entryRewrites, type CopyRewrite } from '../archive/relabel';
import type { Core, WorkControl } from '../core';
import type { Host } from '../host';
import { validateRemotePath } from '../podman/names';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';
import type { SnapshotMeta } from './store';
import { pushStream, removeRemote } from './transfer';

export interface PushedArchive {
  host: Host;
  path: string;
  bytes: number;
  sha256: string;
  /** Removes the archive from the host; never throws. */
  remove(): Promise<void>;
}

export interface PushOptions {
  /** What the restored container will carry (labels, annotations); the archive is rewritten (uncompressed) to add it. */
  rewrite?: CopyRewrite;
  /** A stable name (the CLI's push) instead of a unique temporary one. */
  stableName?: boolean;
}

export function remoteArchivePath(core: Core, meta: Pick<SnapshotMeta, 'id' | 'archive'>, relabelled: boolean, stable = false): string {
  const name = relabelled ? `${meta.id}.tar` : meta.archive;
  const unique = stable ? '' : `-${randomBytes(3).toString('hex')}`;
  return validateRemotePath(`${core.settings.remoteTempDir}/snapdebug-${name.replace(/(\.tar.*)$/, `${unique}$1`)}`);
}

/**
 * Sends an archive stream (as podman wrote it) to `path` on a host, relabelled on the way when
 * labels are given. pipeline() carries a read or decompression error to the chain's last stream,
 * which is what pushStream reads, so any failure fails the push and removes the file there.
 */
export async function pushArchive(
  core: Core,
  archive: Readable,
  request: { id: string; to: string; path: string; rewrite?: CopyRewrite; sizeHint?: number },
  control: WorkControl = {},
): Promise<PushedArchive & { relabelled: boolean }> {
  const host = core.hosts.get(request.to);
  const rewriter = request.rewrite ? new DumpRewriter(entryRewrites(request.rewrite), entryRenames(request.rewrite)) : undefined;
  const chain: [Readable, ...Duplex[]] = rewriter ? [archive, decompressor(), rewriter] : [archive];
  if (rewriter) pipeline(chain).catch(() => undefined);
  const received = await pushStream(host, chain.at(-1) as Readable, request.path, {
    ...(control.signal && { signal: control.signal }),
    ...(request.sizeHint !== undefined && { sizeHint: request.sizeHint }),
  });
  const remove = () => removeRemote(host, request.path);
  if (rewriter && !rewriter.complete) {
    await remove();
    const missing = Object.keys(entryRewrites(request.rewrite!)).filter((name) => !rewriter.rewritten.has(name));
    throw new SnapdebugError(`${request.id} has no ${missing.join(' or ')}: it is not a podman checkpoint archive.`);
  }
  core.log(`pushed ${request.id} to ${request.to}:${request.path} (${received.bytes} bytes, sha256 ${received.sha256.slice(0, 12)}… verified there)`);
  return { host, path: request.path, bytes: received.bytes, sha256: received.sha256, remove, relabelled: rewriter !== undefined };
}

export async function pushSnapshot(core: Core, meta: SnapshotMeta, to: string, options: PushOptions, control: WorkControl = {}): Promise<PushedArchive> {
  const progress = control.progress ?? noProgress;
  // The store's copy is hashed again before a byte leaves: a replaced archive is refused here.
  const verifying = `Checking the sha256 of ${meta.id} in the store`;
  const file = await core.store.openVerified(meta, control.signal, (bytes) => progress({ phase: 'verify', message: verifying, bytes, total: meta.size }));
  progress({ phase: 'push', message: `Sending ${meta.id} to ${to}`, bytes: 0, total: meta.size });
  // Progress counts bytes read from the store, so it ends at the snapshot's size either way.
  let read = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      progress({ phase: 'push', message: `Sending ${meta.id} to ${to}`, bytes: read, total: meta.size });
      done(null, chunk);
    },
  });
  pipeline(file, counted).catch(() => undefined);
  const path = remoteArchivePath(core, meta, options.rewrite !== undefined, options.stableName);
  const pushed = await pushArchive(core, counted, { id: meta.id, to, path, ...(options.rewrite && { rewrite: options.rewrite }), sizeHint: meta.size }, control);
  core.store.audit.record({ action: 'push', host: to, container: meta.source.container, snapshot: meta.id, detail: pushed.path });
  if (!pushed.relabelled && pushed.sha256 !== meta.sha256) {
    await pushed.remove();
    throw new SnapdebugError(`The archive of ${meta.id} in the store no longer matches its sha256: it is damaged.`, {
      fix: `Delete it (snapdebug rm ${meta.id}) and take a new snapshot.`,
    });
  }
  return pushed;
}
