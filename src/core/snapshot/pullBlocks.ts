// The pieces pull.ts fills a file with: which blocks each channel owns and where it stands in them,
// positional writes of a channel's stream into its blocks, and the hash that follows the writes.
import { createHash } from 'node:crypto';
import { read, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { SnapdebugError } from '../util/errors';

const hashReadBytes = 4 * 1024 * 1024;
const readAt = promisify(read);
const writeAt = promisify(writev);

/**
 * Hashes the file in order while blocks are still being written anywhere in it: it reads back
 * (from the page cache) whatever is written contiguously past what it has hashed, so the digest
 * is ready moments after the last byte lands instead of after a second pass over the whole file.
 */
export class FollowingHasher {
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
export class ChannelBlocks {
  block = 0;
  offset = 0;

  constructor(readonly blocks: Array<{ start: number; length: number }>) {}

  get complete(): boolean {
    return this.block === this.blocks.length;
  }

  /** Counts `bytes` more received in order, reporting each block's share to `landed`. */
  advance(bytes: number, landed: (blockStart: number, bytes: number) => void): void {
    while (bytes > 0) {
      const block = this.blocks[this.block];
      if (!block) throw new SnapdebugError('A channel sent more bytes than its blocks hold.');
      const take = Math.min(bytes, block.length - this.offset);
      landed(block.start, take);
      bytes -= take;
      this.offset += take;
      if (this.offset === block.length) {
        this.block++;
        this.offset = 0;
      }
    }
  }

  /** Bytes received so far. */
  get received(): number {
    return this.blocks.slice(0, this.block).reduce((sum, b) => sum + b.length, 0) + this.offset;
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
export class BlockWriter extends Writable {
  constructor(
    private readonly fd: number,
    private readonly state: ChannelBlocks,
    private readonly landed: (blockStart: number, bytes: number) => void,
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
      for (const buffer of buffers) this.landed(this.state.blocks[pendingBlock]!.start, buffer.length);
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

