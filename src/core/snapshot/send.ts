// Sending a stream to a new file on a host, inside a work's private folder: created exclusively,
// hashed on the host as it is written and compared with what we sent. When the link drops
// mid-way and we reconnect while the host still holds the work (within its lease), the transfer
// resumes from what arrived and the whole file is verified at the end.
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Host } from '../host';
import { SessionLostError } from '../remote/session';
import { marker, prelude } from '../remote/shellLib';
import type { RemoteWork } from '../remote/work';
import { AbortError, isAbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import type { Received } from './transfer';
import { freeBytes } from './transfer';

/** Arguments: sudo|root, file (inside a folder of ours), offset to continue from (0: a new file). */
const receiveScript = `${prelude}
f=$1 at=$2
d=\${f%/*}
ours "$d" || { echo "${marker.error} $d is not our folder" >&2; exit 2; }
if [ "$at" = 0 ]; then
  ( set -C; : > "$f" ) || { echo "${marker.error} $f already exists" >&2; exit 2; }
  { tee -a "$f" || echo "${marker.teeFailed}" >&2; } | sha256sum
else
  { [ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -c %s "$f")" = "$at" ]; } || { echo "${marker.error} cannot resume $f at $at" >&2; exit 4; }
  cat >> "$f" || echo "${marker.teeFailed}" >&2
  sha256sum < "$f"
fi
`;

/** How many times one transfer resumes after a dropped link before it gives up. */
const maxResumes = 5;

export interface SendOptions {
  signal?: AbortSignal;
  /** Bytes of the whole content sent so far (after a resume it jumps to where the host was). */
  onProgress?: (bytes: number, resumedAt?: number) => void;
  sizeHint?: number;
  /** Whether `open` can produce the same bytes again (a file in the store: yes; a live checkpoint: no). */
  resumable?: boolean;
}

/** Drops the first `count` bytes of a stream (a resumed send regenerates them only to hash them). */
function skipFirst(count: number): Transform {
  let left = count;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (left >= chunk.length) {
        left -= chunk.length;
        return done();
      }
      const rest = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      done(null, rest);
    },
  });
}

export async function remoteFileSize(host: Host, path: string): Promise<number | undefined> {
  const result = await host.runner.run(['stat', '--format', '%s', path]);
  const size = Number(result.stdout.trim());
  return result.exitCode === 0 && Number.isInteger(size) ? size : undefined;
}

/**
 * Sends the stream `open()` produces (always from its first byte) to `path` inside `work`'s folder;
 * a resume calls `open()` again.
 * Any failure leaves the partial file for the work's finish/abandon to remove.
 */
export async function sendToHost(work: RemoteWork, path: string, open: () => Readable | Promise<Readable>, options: SendOptions = {}): Promise<Received> {
  const host = work.host;
  if (!path.startsWith(`${work.dir}/`)) throw new SnapdebugError(`${path} is not inside the work's folder on ${host.name}.`);
  const dir = path.slice(0, path.lastIndexOf('/'));
  const free = await freeBytes(host, dir);
  if (free !== undefined && options.sizeHint !== undefined && free < options.sizeHint) {
    throw new SnapdebugError(`${host.name} has ${free} bytes free in ${dir}, and the archive needs ${options.sizeHint}.`, {
      fix: { text: 'Free space there, or choose another temporary folder.', options: [{ name: 'remoteTempDir' }] },
    });
  }
  let offset = 0;
  for (let attempt = 0; ; attempt++) {
    const dropsBefore = host.runner.drops();
    // open() may refuse (the store's archive no longer matches): that ends the send, resume or not.
    const source = await open();
    try {
      return await sendOnce(host, path, source, offset, options);
    } catch (error) {
      // Not read to its end: let go of it (a store file's handle) before anything else.
      source.destroy();
      if (options.signal?.aborted || isAbortError(error)) throw new AbortError();
      const linkDropped = host.runner.drops() > dropsBefore;
      if (!linkDropped || !options.resumable || attempt >= maxResumes) throw error;
      if (!(await work.session.stillHolds(work.generation, options.signal))) {
        throw new SessionLostError(`The link to ${host.name} dropped for longer than the lease: ${host.name} removed the partly sent archive, so the transfer cannot resume.`, {
          fix: 'Run it again once the link is steady.',
          cause: error,
        });
      }
      const arrived = await remoteFileSize(host, path);
      if (arrived === undefined) throw error;
      offset = arrived;
      options.onProgress?.(offset, offset);
    }
  }
}

async function sendOnce(host: Host, path: string, source: Readable, offset: number, options: SendOptions): Promise<Received> {
  const process = await host.runner.start(host.script(receiveScript, [path, String(offset)], 'snapdebug-receive'), options.signal ? { signal: options.signal } : {});
  const hash = createHash('sha256');
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      total += chunk.length;
      if (total > offset) options.onProgress?.(total);
      done(null, chunk);
    },
  });
  const onAbort = () => process.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const output: Buffer[] = [];
    process.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    // A host that refuses (the file exists, no space) stops reading: its reason beats our EPIPE.
    // A channel that closes under us (the link died) may never fail the write on its own: its
    // closing ends the send, so a dead link is noticed, and maybe resumed, instead of waited on.
    let piped = false;
    const piping = pipeline(source, counter, skipFirst(offset), process.stdin).then(
      () => undefined,
      (error: Error) => error,
    );
    void piping.finally(() => (piped = true));
    const closedFirst = await Promise.race([piping.then(() => false), process.exit.then(() => !piped)]);
    if (closedFirst) counter.destroy(new Error('the channel closed'));
    const sent = await piping;
    const code = await process.exit;
    if (options.signal?.aborted) throw new AbortError();
    const stderr = process.stderrText();
    if (code !== 0 || stderr.includes(marker.teeFailed) || sent) {
      const why = stderr.split('\n').find((l) => l.startsWith(marker.error))?.slice(marker.error.length + 1);
      // What we were sending refused itself (a copy's dumps not approved, a hostile archive): that
      // sentence is the reason, not the write it cut short.
      if (!why && sent instanceof SnapdebugError) throw sent;
      const fallback = code === null ? ': the connection closed' : sent ? `: ${sent.message}` : '';
      throw new SnapdebugError(`Writing the archive to ${path} on ${host.name} failed${why ? `: ${why}` : fallback}.`, { detail: stderr, cause: sent });
    }
    const remoteSha = /^([0-9a-f]{64})/.exec(Buffer.concat(output).toString())?.[1];
    const sha256 = hash.digest('hex');
    if (remoteSha !== sha256) {
      throw new SnapdebugError(`The archive arrived damaged on ${host.name}: sha256 ${remoteSha ?? 'none'} there, ${sha256} here.`);
    }
    return { bytes: total, sha256 };
  } catch (error) {
    source.destroy();
    process.close();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
