// Receiving archives into the store, verified end to end. Every byte that lands in the store is
// hashed as it is written; the source hashes the same bytes as they leave (streamCheckpoint.ts:
// a tee into sha256sum on the host), and the two must agree before a snapshot exists. Cancelling
// removes what was partly written. (Sending to a host is send.ts.)
import { createHash } from 'node:crypto';
import { createWriteStream, openSync, rmSync } from 'node:fs';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cleanStderr, type Host } from '../host';
import { marker } from '../remote/shellLib';
import type { StreamProcess } from '../ssh/runner';
import { AbortError, isAbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { widenReceiveWindow } from '../ssh/receiveWindow';

export interface Received {
  bytes: number;
  sha256: string;
}

const exitMarker = `${marker.exit} `;

export function parseHashedTrailer(stderr: string): { exitCode: number | undefined; sha256: string | undefined; stderr: string; teeFailed: boolean } {
  const lines = stderr.split('\n');
  // The trailer is what the wrapper wrote last: a look-alike line printed earlier loses.
  const exit = lines.map((l) => new RegExp(`^${exitMarker}(\\d+)$`).exec(l.trim())).findLast(Boolean);
  const sha = lines.map((l) => /^([0-9a-f]{64})\s+-$/.exec(l.trim())).findLast(Boolean);
  const rest = lines.filter((l) => !l.startsWith(exitMarker) && !l.startsWith(marker.teeFailed) && !/^[0-9a-f]{64}\s+-$/.test(l.trim())).join('\n');
  return { exitCode: exit ? Number(exit[1]) : undefined, sha256: sha?.[1], stderr: rest, teeFailed: lines.some((l) => l.startsWith(marker.teeFailed)) };
}

/** A pass-through that hashes, counts and shows each chunk to an observer. */
function meter(onChunk: (chunk: Buffer, total: number) => void): Transform & { digest(): string; bytes(): number } {
  const hash = createHash('sha256');
  let total = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      total += chunk.length;
      onChunk(chunk, total);
      done(null, chunk);
    },
  }) as Transform & { digest(): string; bytes(): number };
  transform.digest = () => hash.digest('hex');
  transform.bytes = () => total;
  return transform;
}

/** Writes a stream to a new file (0600), hashing it; on any failure or cancel the file is removed. */
export async function receiveToFile(
  source: Readable,
  dest: string,
  options: { signal?: AbortSignal; onChunk?: (chunk: Buffer, total: number) => void; tee?: Writable },
): Promise<Received> {
  const counter = meter(options.onChunk ?? (() => undefined));
  // Opened synchronously before anything can fail: an existing file is refused (and left alone),
  // and a failure or cancel can never race the open and leave a stray file behind.
  const fd = openSync(dest, 'wx', 0o600);
  const file = createWriteStream(dest, { fd, highWaterMark: 1024 * 1024 });
  // A second reader of the same bytes (Snapshot & Debug feeds the debug host in the same pass);
  // pipe() waits for the slower of the two before reading on.
  if (options.tee) source.pipe(options.tee);
  try {
    await pipeline(source, counter, file, ...(options.signal ? [{ signal: options.signal }] : []));
    return { bytes: counter.bytes(), sha256: counter.digest() };
  } catch (error) {
    rmSync(dest, { force: true });
    if (options.signal?.aborted || isAbortError(error)) throw new AbortError();
    throw error;
  }
}

/** Streams a running remote command's stdout into a file and checks it against the host's hash. */
export async function receiveHashed(
  host: Host,
  process: StreamProcess,
  dest: string,
  options: { signal?: AbortSignal; onChunk?: (chunk: Buffer, total: number) => void; tee?: Writable; what: string },
): Promise<Received & { stderr: string }> {
  const onAbort = () => process.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const consumed = widenReceiveWindow(process.stdout);
  const onChunk = (chunk: Buffer, total: number) => {
    consumed(chunk.length);
    options.onChunk?.(chunk, total);
  };
  try {
    const received = await receiveToFile(process.stdout, dest, { ...options, onChunk });
    await process.exit;
    const trailer = parseHashedTrailer(process.stderrText());
    if (trailer.exitCode !== 0) {
      rmSync(dest, { force: true });
      throw await host.failure(options.what.split(' '), trailer.exitCode ?? null, cleanStderr(trailer.stderr));
    }
    if (trailer.sha256 !== received.sha256) {
      rmSync(dest, { force: true });
      throw new SnapdebugError(`The archive from ${host.name} arrived damaged: sha256 ${received.sha256} here, ${trailer.sha256 ?? 'none'} there.`);
    }
    return { ...received, stderr: trailer.stderr };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Free bytes in a folder on a host (df), to refuse a push that cannot fit. */
export async function freeBytes(host: Host, dir: string): Promise<number | undefined> {
  // Read-only: a channel that closed without an exit status (seen under load in doctor) is asked again.
  const result = await host.runIdempotent(['df', '--output=avail', '-B1', dir]);
  const value = Number(result.stdout.trim().split('\n').at(-1));
  return result.exitCode === 0 && Number.isFinite(value) ? value : undefined;
}
