// TEMPORARY ADAPTER (issue 16, until issue 13 lands): the archive engineer is writing the
// product's one tar reader with exactly this API in src/core/archive/tar.ts; at merge the lead
// replaces this file with theirs. Until then, a minimal pull reader (ustar, pax path/size, GNU long
// names) over the same decompression as the rest of the product (decompress.ts), so the inspector
// can stream a 1 GiB pages image without holding it.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { AbortError, onAbort } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { detectCompression } from './checkpointArchive';
import { decompressor, zstdProgram } from './decompress';
import { canUseFifo, zstdFileChunks } from './zstdFile';

let fifo: boolean | undefined;
const fifoAvailable = () => (fifo ??= canUseFifo());

export interface TarEntry {
  name: string;
  size: number;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  linkName?: string;
  mode: number;
  mtime?: number;
}

const blockBytes = 512;
const maxMetaEntryBytes = 1024 * 1024;
const typeFlags: Record<string, TarEntry['type']> = {
  '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '2': 'symlink', '1': 'hardlink', '3': 'char', '4': 'block', '6': 'fifo',
};

/** Pulls exact byte counts out of an async chunk source. */
class ByteSource {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  /** Up to `max` bytes (at least one), or undefined at the end of the input. */
  async some(max: number): Promise<Buffer | undefined> {
    if (this.pending.length === 0) {
      const next = await this.chunks.next();
      if (next.done) return undefined;
      this.pending = next.value;
    }
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    return out;
  }

  /** Exactly `count` bytes (fewer at the end of the input); copied when they span chunks, which may be reused. */
  async exactly(count: number): Promise<Buffer | undefined> {
    const first = await this.some(count);
    if (!first || first.length === count) return first;
    const parts: Buffer[] = [Buffer.from(first)];
    let have = first.length;
    while (have < count) {
      const part = await this.some(count - have);
      if (!part) break;
      parts.push(Buffer.from(part));
      have += part.length;
    }
    return Buffer.concat(parts);
  }

  /** Lets the source go (a decompressor stops, its file closes) when the reader stops early. */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }

  async skip(count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      const part = await this.some(left);
      if (!part) throw new SnapdebugError('The archive ends inside an entry.');
      left -= part.length;
    }
  }
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function octal(block: Buffer, offset: number, length: number): number {
  const value = text(block, offset, length).trim();
  return value === '' ? 0 : parseInt(value, 8);
}

function paxRecords(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  for (const match of body.toString('utf8').matchAll(/\d+ ([^=\n]+)=([^\n]*)\n/g)) records.set(match[1]!, match[2]!);
  return records;
}

/**
 * The entries of a tar stream; each body must be consumed or left before asking for the next. A
 * body's chunks are valid until the next chunk is asked for (the source may reuse its buffer).
 */
export async function* tarEntries(
  source: AsyncIterable<Buffer>,
  limits: { maxEntries?: number; maxKeptBytes?: number } = {},
): AsyncGenerator<{ entry: TarEntry; body: AsyncIterable<Buffer> }> {
  const input = new ByteSource(source[Symbol.asyncIterator]());
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let count = 0;
  try {
    for (;;) {
      const header = await input.exactly(blockBytes);
      if (!header || header.length < blockBytes || header.every((b) => b === 0)) return;
      const flag = String.fromCharCode(header[156] ?? 0);
      let size = octal(header, 124, 12);
      if (flag === 'x' || flag === 'g' || flag === 'L') {
        if (size > (limits.maxKeptBytes ?? maxMetaEntryBytes)) throw new SnapdebugError(`A tar header record claims ${size} bytes.`);
        const body = (await input.exactly(size)) ?? Buffer.alloc(0);
        await input.skip((blockBytes - (size % blockBytes)) % blockBytes);
        if (flag === 'x') pax = paxRecords(body);
        if (flag === 'L') longName = text(body, 0, body.length);
        continue;
      }
      if (++count > (limits.maxEntries ?? Infinity)) throw new SnapdebugError(`The archive has more than ${limits.maxEntries} entries.`);
      const prefix = text(header, 345, 155);
      let name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
      if (pax.has('size')) size = Number(pax.get('size'));
      name = name.replace(/^\.\//, '');
      const type = typeFlags[flag] ?? 'file';
      const linkName = pax.get('linkpath') ?? text(header, 157, 100);
      const entry: TarEntry = { name, size, type, mode: octal(header, 100, 8), mtime: octal(header, 136, 12), ...(linkName && { linkName }) };
      pax = new Map();
      longName = undefined;
      let remaining = size;
      const body = (async function* () {
        while (remaining > 0) {
          const part = await input.some(remaining);
          if (!part) throw new SnapdebugError(`The archive ends inside ${name}.`);
          remaining -= part.length;
          yield part;
        }
      })();
      yield { entry, body };
      await input.skip(remaining);
      await input.skip((blockBytes - (size % blockBytes)) % blockBytes);
    }
  } finally {
    await input.close();
  }
}

/** A plain tar read into one reused buffer: each chunk is valid until the next is asked for. */
async function* plainFileChunks(path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      if (signal?.aborted) throw new AbortError();
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

function firstBytes(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    return head.subarray(0, readSync(fd, head, 0, 4, 0));
  } finally {
    closeSync(fd);
  }
}

/** The decompressed bytes of an archive file (zstd, gzip or plain, told apart by its first bytes). */
export function archiveStream(path: string, signal?: AbortSignal): AsyncIterable<Buffer> {
  const program = zstdProgram();
  // zstd reading the file itself, into one reused buffer (zstdFile.ts): no gigabyte of garbage.
  const compression = detectCompression(firstBytes(path));
  if (program && compression === 'zstd' && fifoAvailable()) return zstdFileChunks(program, path, signal);
  if (compression === 'none') return plainFileChunks(path, signal);
  const file = createReadStream(path, { highWaterMark: 1024 * 1024 });
  const plain = decompressor();
  file.on('error', (error) => plain.destroy(error));
  file.pipe(plain);
  plain.once('close', () => file.destroy());
  const stop = onAbort(signal, () => plain.destroy(new AbortError()));
  plain.once('close', stop);
  return plain;
}
