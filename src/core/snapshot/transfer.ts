// Moving archives between hosts and the store, verified end to end. Every byte that lands in the
// store is hashed as it is written; the source hashes the same bytes as they leave (a tee into
// sha256sum in the remote shell), and the two must agree before a snapshot exists. Pushes are
// hashed on the receiving host as they are written. Cancelling removes what was partly written.
import { createHash } from 'node:crypto';
import { createWriteStream, openSync, rmSync } from 'node:fs';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Host } from '../host';
import type { StreamProcess } from '../ssh/runner';
import { AbortError, isAbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';

export interface Received {
  bytes: number;
  sha256: string;
}

const exitMarker = 'snapdebug-exit ';
const pidMarker = 'snapdebug-pid ';

/** The wrapper shell's PID on the host, once it has printed it. */
export function wrapperPid(stderr: string): number | undefined {
  const pid = new RegExp(`^${pidMarker}(\\d+)$`, 'm').exec(stderr)?.[1];
  return pid === undefined ? undefined : Number(pid);
}
const teeFailedMarker = 'snapdebug-tee-failed';

/**
 * Wraps a command so that what it writes to fd 3 passes through to our stdout unchanged while the
 * remote shell also hashes it; the command's own stdout goes to stderr (podman chats there).
 * stderr ends with the command's exit status and the sha256 of everything that went through.
 */
export function hashedOutput(argv: readonly string[]): string[] {
  // tee writes to a fifo read by sha256sum (not to /dev/fd/N, which cannot reopen a socket when
  // stdout is one); the fifo lives in a private temp folder removed at the end. The shell's PID
  // comes first, so a cancel can find (and, when safe, end) what runs under it.
  const script = [
    `echo "${pidMarker}$$" >&2`,
    'd=$(mktemp -d) || exit 1',
    'mkfifo "$d/h"',
    'sha256sum < "$d/h" >&2 &',
    `{ "$@" 3>&1 1>&2; echo "${exitMarker}$?" >&2; } | tee "$d/h"`,
    'wait',
    'rm -rf "$d"',
  ].join('\n');
  return ['sh', '-c', script, 'sh', ...argv];
}

export function parseHashedTrailer(stderr: string): { exitCode: number | undefined; sha256: string | undefined; stderr: string } {
  const lines = stderr.split('\n');
  // The trailer is what the wrapper wrote last: a look-alike line printed earlier loses.
  const exit = lines.map((l) => new RegExp(`^${exitMarker}(\\d+)$`).exec(l.trim())).findLast(Boolean);
  const sha = lines.map((l) => /^([0-9a-f]{64})\s+-$/.exec(l.trim())).findLast(Boolean);
  const rest = lines.filter((l) => !l.startsWith(exitMarker) && !l.startsWith(pidMarker) && !/^[0-9a-f]{64}\s+-$/.test(l.trim())).join('\n');
  return { exitCode: exit ? Number(exit[1]) : undefined, sha256: sha?.[1], stderr: rest };
}

/**
 * Receive window kept open on an SSH channel we drain ourselves (a streaming checkpoint: one
 * channel, no byte ranges possible). ssh2 (1.17) gives each channel a 2 MiB window and tops it up
 * only once half of it is used, so on a fast link the sender spends most of a transfer waiting for
 * permission to send. Measured by bench/transport.ts (docs/benchmarks.md): a streaming checkpoint
 * of a 512 MiB heap took 11.2 s with ssh2's window and 5.4 s with this one (the file transport,
 * which pulls over 8 channels, 5.3 s).
 */
export const receiveWindowBytes = 8 * 1024 * 1024;

/** The parts of an ssh2 channel that window handling needs (ssh2 does not expose them). */
interface Ssh2ChannelWindow {
  incoming: { window: number };
  outgoing: { id: number; state: string };
  _client: { _protocol: { channelWindowAdjust(id: number, amount: number): void } };
}

/**
 * Opens the receive window of `stream` to `windowBytes` and returns a function to call with the
 * size of each chunk once it has been consumed: consumed bytes, and only those, are granted back
 * to the sender, so what the sender may still send plus what waits here unconsumed stays about
 * `windowBytes` (ssh2's own top-ups come on top only while its 2 MiB buffer has room). For
 * anything that is not an ssh2 channel (a local process, another version of ssh2) it does
 * nothing, and ssh2's flow control stays as it is.
 */
export function widenReceiveWindow(stream: Readable, windowBytes = receiveWindowBytes): (consumedBytes: number) => void {
  const channel = stream as unknown as Partial<Ssh2ChannelWindow>;
  const protocol = channel._client?._protocol;
  if (windowBytes <= 0 || typeof channel.incoming?.window !== 'number' || typeof channel.outgoing?.id !== 'number' || typeof protocol?.channelWindowAdjust !== 'function') {
    return () => undefined;
  }
  const { incoming, outgoing } = channel as Ssh2ChannelWindow;
  const grant = (amount: number) => {
    // Once we have sent CHANNEL_CLOSE nothing more may be sent on the channel (RFC 4254 5.3).
    if (outgoing.state !== 'open' && outgoing.state !== 'eof') return;
    incoming.window += amount;
    protocol.channelWindowAdjust(outgoing.id, amount);
  };
  if (windowBytes > incoming.window) grant(windowBytes - incoming.window);
  // Grants go in steps, not per chunk: each one is a packet of its own.
  const stepBytes = windowBytes / 4;
  let consumed = 0;
  return (bytes: number) => {
    consumed += bytes;
    if (consumed < stepBytes) return;
    const amount = Math.min(consumed, windowBytes - incoming.window);
    consumed = 0;
    if (amount > 0) grant(amount);
  };
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
      throw await host.failure(options.what.split(' '), trailer.exitCode ?? null, trailer.stderr.trim());
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

/**
 * Sends a stream to a new file on a host. The host writes it with umask 077 and hashes what it
 * wrote in the same pass; we hash what we sent. A mismatch, a failure or a cancel removes the file
 * there. Returns the sha256 both sides agree on.
 */
export async function pushStream(
  host: Host,
  source: Readable,
  remotePath: string,
  options: { signal?: AbortSignal; onChunk?: (chunk: Buffer, total: number) => void; sizeHint?: number },
): Promise<Received> {
  const dir = remotePath.slice(0, remotePath.lastIndexOf('/')) || '/';
  const free = await freeBytes(host, dir);
  if (free !== undefined && options.sizeHint !== undefined && free < options.sizeHint) {
    throw new SnapdebugError(`${host.name} has ${free} bytes free in ${dir}, and the archive needs ${options.sizeHint}.`, {
      fix: "Free space there, or choose another temporary folder (setting snapdebug.remoteTempDir, CLI --remote-tmp).",
    });
  }
  // tee's stdout feeds sha256sum: the hash is of exactly the bytes tee wrote to the file.
  const script = `umask 077; { tee "$1" || echo ${teeFailedMarker} >&2; } | sha256sum`;
  const process = await host.runner.start(['sh', '-c', script, 'sh', remotePath], options.signal ? { signal: options.signal } : {});
  const counter = meter(options.onChunk ?? (() => undefined));
  const onAbort = () => process.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const output: Buffer[] = [];
    process.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    await pipeline(source, counter, process.stdin);
    const code = await process.exit;
    if (options.signal?.aborted) throw new AbortError();
    const remoteSha = /^([0-9a-f]{64})/.exec(Buffer.concat(output).toString())?.[1];
    if (code !== 0 || process.stderrText().includes(teeFailedMarker)) {
      throw new SnapdebugError(`Writing the archive to ${remotePath} on ${host.name} failed.`, { detail: process.stderrText() });
    }
    const sha256 = counter.digest();
    if (remoteSha !== sha256) {
      throw new SnapdebugError(`The archive arrived damaged on ${host.name}: sha256 ${remoteSha ?? 'none'} there, ${sha256} here.`);
    }
    return { bytes: counter.bytes(), sha256 };
  } catch (error) {
    source.destroy();
    await removeRemote(host, remotePath);
    if (options.signal?.aborted || isAbortError(error)) throw new AbortError();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Removes a temporary file on a host; never throws (it runs in cleanup paths). */
export async function removeRemote(host: Host, remotePath: string): Promise<void> {
  await host.runner.run(host.privileged(['rm', '-f', remotePath])).catch(() => undefined);
}
