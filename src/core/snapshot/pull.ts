// Pulling a file from a host into the store over several SSH channels at once, spread over one or
// more connections ("lanes"): one encrypted stream is bound by one core on each side, and one
// ssh2 channel by its receive window (see defaultRangesPerLane). The file is cut into blocks dealt
// out in turn to the channels (striping), so it fills in roughly from the start and is hashed
// here as it lands; the host hashes it too (sha256sum) while the blocks travel, and both must agree.
// When the link drops and the host still holds the work the file belongs to, each channel asks
// again for exactly the bytes it is missing.
import { createHash } from 'node:crypto';
import { close, open, read, rmSync, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Host } from '../host';
import { SessionLostError } from '../remote/session';
import type { RemoteWork } from '../remote/work';
import type { StreamProcess } from '../ssh/runner';
import { AbortError, isAbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { widenReceiveWindow } from '../ssh/receiveWindow';
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
const hashReadBytes = 4 * 1024 * 1024;

const openFile = promisify(open);
const closeFile = promisify(close);
const readAt = promisify(read);
const writeAt = promisify(writev);

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

const maxResumes = 5;

/**
 * Hashes the file in order while blocks are still being written anywhere in it: it reads back
 * (from the page cache) whatever is written contiguously past what it has hashed, so the digest
 * is ready moments after the last byte lands instead of after a second pass over the whole file.
 */
class FollowingHasher {
  private readonly hash = createHash('sha256');
  private hashed = 0;
  /** Bytes written so far from the start of each block. */
  private readonly written = new Map<number, number>();
  private wake: (() => void) | undefined;
  private stopped: Error | undefined;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly blockBytes: number,
  ) {}

  wrote(blockStart: number, bytes: number): void {
    this.written.set(blockStart, (this.written.get(blockStart) ?? 0) + bytes);
    this.wake?.();
  }

  stop(error: Error): void {
    this.stopped = error;
    this.wake?.();
  }

  async digest(): Promise<string> {
    const buffer = Buffer.allocUnsafe(hashReadBytes);
    while (this.hashed < this.size) {
      if (this.stopped) throw this.stopped;
      const blockStart = Math.floor(this.hashed / this.blockBytes) * this.blockBytes;
      const ready = blockStart + (this.written.get(blockStart) ?? 0) - this.hashed;
      if (ready <= 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const { bytesRead } = await readAt(this.fd, buffer, 0, Math.min(ready, hashReadBytes), this.hashed);
      if (bytesRead <= 0) throw new SnapdebugError('The file being pulled could not be read back for hashing.');
      this.hash.update(buffer.subarray(0, bytesRead));
      this.hashed += bytesRead;
    }
    return this.hash.digest('hex');
  }
}

/** writev until every byte is written (a regular file takes them all at once, but be sure). */
async function writeAll(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let rest = [...buffers];
  while (rest.length > 0) {
    const { bytesWritten } = await writeAt(fd, rest, position);
    position += bytesWritten;
    let skip = bytesWritten;
    while (rest.length > 0 && skip >= rest[0]!.length) skip -= rest.shift()!.length;
    if (rest.length > 0 && skip > 0) rest = [rest[0]!.subarray(skip), ...rest.slice(1)];
  }
}

/** Where one channel stands in its blocks: kept across a resume, so it asks only for what it misses. */
class ChannelBlocks {
  block = 0;
  offset = 0;

  constructor(readonly blocks: Array<{ start: number; length: number }>) {}

  get complete(): boolean {
    return this.block === this.blocks.length;
  }

  /** What this channel still has to receive, as "start:length" ranges. */
  remaining(): string[] {
    return this.blocks.slice(this.block).map((block, index) => {
      const skip = index === 0 ? this.offset : 0;
      return `${block.start + skip}:${block.length - skip}`;
    });
  }
}

/** Writes one channel's stream into its blocks of the file (positional writes, batched). */
class BlockWriter extends Writable {
  constructor(
    private readonly fd: number,
    private readonly state: ChannelBlocks,
    private readonly landed: (blockStart: number, chunk: Buffer) => void,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    this.put(chunks.map((c) => c.chunk)).then(() => done(), done);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.put([chunk]).then(() => done(), done);
  }

  private async put(chunks: Buffer[]): Promise<void> {
    // Split at block boundaries, then one writev per block touched.
    let pending: Buffer[] = [];
    let pendingStart = -1;
    let pendingBlock = -1;
    const flush = async () => {
      if (pending.length === 0) return;
      const buffers = pending;
      pending = [];
      await writeAll(this.fd, buffers, pendingStart);
      for (const buffer of buffers) this.landed(this.state.blocks[pendingBlock]!.start, buffer);
    };
    for (let chunk of chunks) {
      while (chunk.length > 0) {
        const state = this.state;
        const block = state.blocks[state.block];
        if (!block) throw new SnapdebugError('A channel sent more bytes than its blocks hold.');
        const take = Math.min(chunk.length, block.length - state.offset);
        if (pendingBlock !== state.block) {
          await flush();
          pendingBlock = state.block;
          pendingStart = block.start + state.offset;
        }
        pending.push(chunk.subarray(0, take));
        chunk = chunk.subarray(take);
        state.offset += take;
        if (state.offset === block.length) {
          state.block++;
          state.offset = 0;
        }
      }
    }
    await flush();
  }
}

export async function pullFile(
  lanes: Host[],
  remotePath: string,
  dest: string,
  options: {
    signal?: AbortSignal;
    onChunk?: (chunk: Buffer, total: number) => void;
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
  const landed = (blockStart: number, chunk: Buffer) => {
    total += chunk.length;
    hasher.wrote(blockStart, chunk.length);
    options.onChunk?.(chunk, total);
  };
  const hashRemote = () => {
    const hashed = host.runner.run(['sha256sum', remotePath], options.signal ? { signal: options.signal } : {});
    hashed.catch(() => undefined); // awaited on success; after a failure or cancel nobody waits for it
    return hashed;
  };
  let remoteHash = hashRemote();
  try {
    for (let attempt = 0; ; attempt++) {
      const dropsBefore = lanes.map((lane) => lane.runner.drops());
      try {
        await pullRanges(lanes, remotePath, fd, channels, landed, options);
        break;
      } catch (error) {
        if (options.signal?.aborted || isAbortError(error)) throw new AbortError();
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
    const remoteSha = /^([0-9a-f]{64})/.exec(remote.stdout)?.[1];
    if (remoteSha !== local) {
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
  fd: number,
  channels: ChannelBlocks[],
  landed: (blockStart: number, chunk: Buffer) => void,
  options: { signal?: AbortSignal; windowBytes?: number },
): Promise<void> {
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
      const process = await lane.runner.start(['sh', '-c', rangesScript, 'sh', remotePath, ...ranges], options.signal ? { signal: options.signal } : {});
      processes.push(process);
      if (options.signal?.aborted) process.close();
      const consumed = widenReceiveWindow(process.stdout, options.windowBytes ?? 0);
      const writer = new BlockWriter(fd, state, (blockStart, chunk) => {
        consumed(chunk.length);
        landed(blockStart, chunk);
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
