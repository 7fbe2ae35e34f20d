// Pulling a file from a host into the store over several SSH channels at once, spread over one or
// more connections ("lanes"): one encrypted stream is bound by one core on each side, and one
// ssh2 channel by its receive window (see defaultRangesPerLane). The file is cut into blocks dealt
// out in turn to the channels (striping), so it fills in roughly from the start and is hashed
// here as it lands; when it is pieced together (several channels, a resumed pass) the host hashes
// it too (sha256sum) while the blocks travel, and both must agree.
// When the link drops and the host still holds the work the file belongs to, each channel asks
// again for exactly the bytes it is missing.
import { close, fstat, ftruncate, open, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Host } from '../host';
import { SessionLostError } from '../remote/session';
import type { RemoteWork } from '../remote/work';
import { OpenSshLoginRefused, type FileStream } from '../ssh/opensshRunner';
import type { StreamProcess } from '../ssh/runner';
import { AbortError, isAbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { widenReceiveWindow } from '../ssh/receiveWindow';
import { BlockWriter, ChannelBlocks, FollowingHasher } from './pullBlocks';
import type { Received } from './transfer';

const rangeAlignBytes = 1024 * 1024;

/**
 * Channels per lane. ssh2 gives a channel a 2 MiB receive window and sends the next window
 * adjustment only once half of it is used, so a lone channel spends most of a fast transfer
 * waiting to be allowed more; channels on one connection each have their own window, so more of
 * them keep more bytes in flight without another login. Measured by bench/pull.ts on the lab's
 * loopback (docs/benchmarks.md): 1 channel about 100 MiB/s, 2 lanes × 1 about 140 MiB/s,
 * 2 lanes × 4 about 240 MiB/s, and beyond that the CPU, not the windows, is the limit. The price
 * is memory: more data in flight means more garbage buffers at once (bench/memory.ts).
 */
export const defaultRangesPerLane = 4;

/**
 * Blocks dealt to the channels in turn: small enough that the file fills in nearly in order (so
 * hashing follows closely), large enough that the host starts few `dd`s (measured: 32 MiB blocks
 * about 7% faster than 8 MiB, and 2 MiB no better).
 */
export const stripeBlockBytes = 32 * 1024 * 1024;

const openFile = promisify(open);
const closeFile = promisify(close);
const statFd = promisify(fstat);
const truncateFd = promisify(ftruncate);

export async function remoteSize(host: Host, path: string): Promise<number> {
  const result = await host.runner.run(['stat', '--format', '%s', path]);
  const size = Number(result.stdout.trim());
  if (result.exitCode !== 0 || !Number.isFinite(size)) {
    throw new SnapdebugError(`Cannot read ${path} on ${host.name}.`, { detail: result.stderr });
  }
  return size;
}

/** Channel c of n gets blocks c, c+n, c+2n, …; the last block may be short. */
export function stripeBlocks(size: number, channels: number, blockBytes = stripeBlockBytes): Array<Array<{ start: number; length: number }>> {
  const count = Math.max(1, Math.min(channels, Math.ceil(size / blockBytes)));
  const plan: Array<Array<{ start: number; length: number }>> = Array.from({ length: count }, () => []);
  for (let block = 0; block * blockBytes < size; block++) {
    plan[block % count]!.push({ start: block * blockBytes, length: Math.min(blockBytes, size - block * blockBytes) });
  }
  return plan;
}

/**
 * The remote side of one channel: its byte ranges ("start:length"), one `dd` each, back to back
 * on stdout. $1 file, then the ranges.
 */
const rangesScript = 'f=$1; shift; for r in "$@"; do dd if="$f" iflag=skip_bytes,count_bytes,fullblock skip="${r%:*}" count="${r#*:}" bs=1M status=none || exit 1; done';

/**
 * A background pull (the store's copy while a debugger works, storeAfterward.ts) gives way to
 * production: the host's reading shell and what it runs (dd, sha256sum) take the lowest CPU
 * priority and the lowest best-effort I/O priority (not the idle class, which a busy disk would
 * starve). renice and ionice are util-linux's: where they are missing, the pull runs as it is.
 */
const givesWay = 'renice -n 19 -p $$ >/dev/null 2>&1; ionice -c 2 -n 7 -p $$ >/dev/null 2>&1; ';

/** The host's side of one channel: its ranges of the file, back to back. */
function readRanges(remotePath: string, ranges: string[], background: boolean | undefined): string[] {
  return ['sh', '-c', `${background ? givesWay : ''}${rangesScript}`, 'sh', remotePath, ...ranges];
}

const maxResumes = 5;

export async function pullFile(
  lanes: Host[],
  remotePath: string,
  dest: string,
  options: {
    signal?: AbortSignal;
    /** Bytes landed in the file so far, as they land. */
    onProgress?: (total: number) => void;
    /** Called when a pull resumes after a dropped link, with the bytes it already had. */
    onResume?: (bytesHeld: number) => void;
    rangesPerLane?: number;
    blockBytes?: number;
    /**
     * Receive window per channel (transfer.ts widenReceiveWindow). Default 0, ssh2's own 2 MiB:
     * with several channels the transfer is bound by the CPU, not by windows, and wider windows
     * only let more data wait in memory (bench/pull.ts and bench/memory.ts measured both).
     */
    windowBytes?: number;
    /** The work the file belongs to: with it, a dropped link resumes while the host holds the work. */
    work?: RemoteWork;
    /** Gives way to production on the host (lowest CPU and I/O priority): nothing waits for this pull. */
    background?: boolean;
  },
): Promise<Received> {
  const host = lanes[0]!;
  const size = await remoteSize(host, remotePath);
  const blockBytes = options.blockBytes ?? stripeBlockBytes;
  if (blockBytes <= 0 || blockBytes % rangeAlignBytes !== 0) throw new SnapdebugError('Pull blocks must be whole MiB.');
  const plan = stripeBlocks(size, lanes.length * Math.max(1, options.rangesPerLane ?? defaultRangesPerLane), blockBytes);
  const fd = await openFile(dest, 'wx+', 0o600);
  const hasher = new FollowingHasher(fd, size, blockBytes);
  const hashing = hasher.digest();
  hashing.catch(() => undefined); // awaited below, once every channel is done
  let total = 0;
  const channels = plan.map((blocks) => new ChannelBlocks(blocks));
  const landed = (blockStart: number, bytes: number) => {
    total += bytes;
    hasher.wrote(blockStart, bytes);
    options.onProgress?.(total);
  };
  const hashRemote = () => {
    const argv = options.background ? ['sh', '-c', `${givesWay}exec sha256sum -- "$1"`, 'sh', remotePath] : ['sha256sum', remotePath];
    const hashed = host.runner.run(argv, options.signal ? { signal: options.signal } : {});
    hashed.catch(() => undefined); // awaited on success; after a failure or cancel nobody waits for it
    return hashed;
  };
  // The host hashes the file when what lands here is pieced together: from several channels, or
  // after a dropped link. One unbroken stream needs no second hash: SSH authenticates every byte
  // of it (AES-GCM or ChaCha20-Poly1305), and the host's sha256sum would read the very bytes dd
  // sent — it would only cost production's CPU (0.65 s a GiB) while the file travels.
  let remoteHash = channels.length > 1 ? hashRemote() : undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      const dropsBefore = lanes.map((lane) => lane.runner.drops());
      try {
        await pullRanges(lanes, remotePath, dest, fd, channels, landed, options);
        break;
      } catch (error) {
        if (options.signal?.aborted || isAbortError(error)) throw new AbortError();
        if (error instanceof OpenSshLoginRefused) throw error; // not a drop: its caller pulls over ssh2 (pullFrom)
        const dropped = lanes.some((lane, i) => lane.runner.drops() > dropsBefore[i]!);
        if (!dropped || !options.work || attempt >= maxResumes) throw error;
        if (!(await options.work.session.stillHolds(options.work.generation, options.signal))) {
          throw new SessionLostError(`The link to ${host.name} dropped for longer than the lease: ${host.name} removed ${remotePath}, so the pull cannot resume.`, { cause: error });
        }
        options.onResume?.(total);
        remoteHash = hashRemote();
      }
    }
    if (options.signal?.aborted) throw new AbortError();
    if (total !== size) throw new SnapdebugError(`Pulled ${total} of ${size} bytes of ${remotePath} from ${host.name}.`);
    const [local, remote] = await Promise.all([hashing, remoteHash]);
    const remoteSha = remote && /^([0-9a-f]{64})/.exec(remote.stdout)?.[1];
    if (remote && remoteSha !== local) {
      throw new SnapdebugError(`${remotePath} arrived damaged from ${host.name}: sha256 ${local} here, ${remoteSha ?? 'none'} there.`);
    }
    return { bytes: size, sha256: local };
  } catch (error) {
    hasher.stop(error as Error);
    await hashing.catch(() => undefined);
    rmSync(dest, { force: true });
    if (options.signal?.aborted || isAbortError(error)) throw new AbortError();
    throw error;
  } finally {
    await closeFile(fd).catch(() => undefined);
  }
}

/** One pass of every channel over what it still misses; one channel failing (or a cancel) ends them all. */
async function pullRanges(
  lanes: Host[],
  remotePath: string,
  dest: string,
  fd: number,
  channels: ChannelBlocks[],
  landed: (blockStart: number, bytes: number) => void,
  options: { signal?: AbortSignal; windowBytes?: number; background?: boolean },
): Promise<void> {
  const direct = channels.length === 1 ? writesToFiles(lanes[0]!.runner) : undefined;
  if (direct) return fillDirect(direct, lanes[0]!.name, remotePath, dest, fd, channels[0]!, landed, options);
  const processes: StreamProcess[] = [];
  const stopAll = () => {
    for (const p of processes) p.close();
  };
  options.signal?.addEventListener('abort', stopAll, { once: true });
  try {
    const running = channels.map(async (state, index) => {
      const ranges = state.remaining();
      if (ranges.length === 0) return;
      const lane = lanes[index % lanes.length]!;
      const process = await lane.runner.start(readRanges(remotePath, ranges, options.background), options.signal ? { signal: options.signal } : {});
      processes.push(process);
      if (options.signal?.aborted) process.close();
      const consumed = widenReceiveWindow(process.stdout, options.windowBytes ?? 0);
      const writer = new BlockWriter(fd, state, (blockStart, bytes) => {
        consumed(bytes);
        landed(blockStart, bytes);
      });
      await pipeline(process.stdout, writer);
      const code = await process.exit;
      if (code !== 0 || !state.complete) throw new SnapdebugError(`Reading ${remotePath} on ${lane.name} failed.`, { detail: process.stderrText() });
    });
    const settled = await Promise.allSettled(running.map((c) => c.catch((error: Error) => (stopAll(), Promise.reject(error)))));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    options.signal?.removeEventListener('abort', stopAll);
  }
}

/** A runner that can have the host's output written straight into a file (opensshRunner.ts). */
interface WritesToFiles {
  startToFile(argv: readonly string[], fd: number, options: { signal?: AbortSignal }): FileStream;
}

function writesToFiles(runner: unknown): WritesToFiles | undefined {
  return typeof (runner as Partial<WritesToFiles>).startToFile === 'function' ? (runner as WritesToFiles) : undefined;
}

/** How often the file's size is read while ssh writes it: progress and hashing follow at this pace. */
const growthPollMs = 20;

/**
 * One channel whose bytes ssh writes into the file itself, appending (so the file is exactly what
 * arrived, in order, from the start): we only watch it grow, and report the growth as landed.
 * After a dropped link the file holds exactly the bytes received, so the next pass asks for the rest.
 */
async function fillDirect(
  runner: WritesToFiles,
  hostName: string,
  remotePath: string,
  dest: string,
  fd: number,
  state: ChannelBlocks,
  landed: (blockStart: number, bytes: number) => void,
  options: { signal?: AbortSignal; background?: boolean },
): Promise<void> {
  const ranges = state.remaining();
  if (ranges.length === 0) return;
  // Only when the file holds more than was counted: ext4 (auto_da_alloc) takes a truncate to zero
  // as "replace this file" and writes the whole file out when it is closed, 250 ms a GiB here.
  if ((await statFd(fd)).size !== state.received) await truncateFd(fd, state.received);
  // The file was created by pullFile (exclusively, 0600); this is a second handle, for appending.
  const appendFd = await openFile(dest, 'a');
  try {
    const stream = runner.startToFile(readRanges(remotePath, ranges, options.background), appendFd, options.signal ? { signal: options.signal } : {});
    let seen = state.received;
    const follow = async () => {
      const { size } = await statFd(fd);
      if (size > seen) {
        state.advance(size - seen, landed);
        seen = size;
      }
    };
    let done = false;
    const exited = stream.exit.finally(() => (done = true));
    while (!done) {
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, growthPollMs))]);
      await follow();
    }
    const code = await exited;
    await follow();
    if (code !== 0 || !state.complete) throw new SnapdebugError(`Reading ${remotePath} on ${hostName} failed.`, { detail: stream.stderrText() });
  } finally {
    await closeFile(appendFd).catch(() => undefined);
  }
}
