// push: a snapshot from the store to a temporary file on a host, verified there before use. A
// copy's archive is relabelled on the way (see archive/relabel.ts); otherwise the bytes sent are
// the store's bytes, and their hash must still match the one recorded at checkpoint time.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigDumpRewriter, addLabels, decompressor } from '../archive/relabel';
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
  /** Labels the restored container will carry; the archive is rewritten (uncompressed) to add them. */
  labels?: Record<string, string>;
  /** A stable name (the CLI's push) instead of a unique temporary one. */
  stableName?: boolean;
}

export function remoteArchivePath(core: Core, meta: SnapshotMeta, relabelled: boolean, stable = false): string {
  const name = relabelled ? `${meta.id}.tar` : meta.archive;
  const unique = stable ? '' : `-${randomBytes(3).toString('hex')}`;
  return validateRemotePath(`${core.settings.remoteTempDir}/snapdebug-${name.replace(/(\.tar.*)$/, `${unique}$1`)}`);
}

export async function pushSnapshot(core: Core, meta: SnapshotMeta, to: string, options: PushOptions, control: WorkControl = {}): Promise<PushedArchive> {
  const progress = control.progress ?? noProgress;
  const host = core.hosts.get(to);
  const labels = options.labels;
  const path = remoteArchivePath(core, meta, labels !== undefined, options.stableName);
  progress({ phase: 'push', message: `Sending ${meta.id} to ${to}`, bytes: 0, total: meta.size });

  // Progress counts bytes read from the store, so it ends at the snapshot's size either way.
  // The chain is built with pipeline(), which carries a read or decompression error to its last
  // stream; that stream is what pushStream reads, so the error fails the push.
  let read = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      progress({ phase: 'push', message: `Sending ${meta.id} to ${to}`, bytes: read, total: meta.size });
      done(null, chunk);
    },
  });
  const rewriter = labels ? new ConfigDumpRewriter((config) => addLabels(config, labels)) : undefined;
  const file = createReadStream(core.store.archivePath(meta), { highWaterMark: 1024 * 1024 });
  const chain: [Readable, ...Transform[]] = rewriter ? [file, counted, decompressor(), rewriter] : [file, counted];
  pipeline(chain).catch(() => undefined);
  const source = chain.at(-1) as Readable;
  const received = await pushStream(host, source, path, {
    ...(control.signal && { signal: control.signal }),
    sizeHint: meta.size,
  });
  const remove = () => removeRemote(host, path);
  if (rewriter && !rewriter.rewritten) {
    await remove();
    throw new SnapdebugError(`${meta.id} has no config.dump: it is not a podman checkpoint archive.`);
  }
  if (!labels && received.sha256 !== meta.sha256) {
    await remove();
    throw new SnapdebugError(`The archive of ${meta.id} in the store no longer matches its sha256: it is damaged.`, {
      fix: `Delete it (snapdebug rm ${meta.id}) and take a new snapshot.`,
    });
  }
  core.log(`pushed ${meta.id} to ${to}:${path} (${received.bytes} bytes, sha256 ${received.sha256.slice(0, 12)}… verified there)`);
  return { host, path, bytes: received.bytes, sha256: received.sha256, remove };
}
