// Reading checkpoint archives in order, entry by entry: tarEntries() walks an uncompressed tar
// stream, archiveStream() gives an archive file's decompressed bytes. Both stand on the one tar
// reader (tarParser.ts), which the relabeller and the archive inspector push bytes into; its
// refusals (duplicates, `..`, links, bad checksums, truncation…) apply here as well.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { detectCompression } from './checkpointArchive';
import { decompressor, zstdProgram } from './decompress';
import { defaultMaxKeptBytes, TarParser, type TarEntry, type TarEvent, type TarLimits } from './tarParser';
import { canUseFifo, zstdFileChunks } from './zstdFile';

export type { TarEntry, TarEntryType, TarLimits } from './tarParser';

export interface TarItem {
  entry: TarEntry;
  /**
   * The entry's bytes, in pieces; readable once, and only until the next entry is asked for. A
   * piece may live in a buffer the source reuses (archiveStream does): it is valid until the
   * next piece is asked for, so whoever keeps bytes copies them.
   */
  body: AsyncIterable<Buffer>;
  /** The whole body in one buffer of its own, refused above the limits' maxKeptBytes (default 4 MiB). */
  contents(): Promise<Buffer>;
}

/**
 * Entries of an uncompressed tar stream in order; each body must be consumed (or is skipped)
 * before the next entry is yielded. Throws a SnapdebugError naming the entry on anything
 * malformed or refused. Reads the source only as fast as entries and bodies are asked for, and
 * never holds on to a source chunk once the next is asked for (the source may reuse it).
 */
export async function* tarEntries(source: AsyncIterable<Buffer>, limits: TarLimits = {}): AsyncGenerator<TarItem> {
  const parser = new TarParser(() => false, limits);
  const maxKeptBytes = limits.maxKeptBytes ?? defaultMaxKeptBytes;
  const input = source[Symbol.asyncIterator]();
  let queue: TarEvent[] = [];
  let at = 0;
  let inputDone = false;
  // The next chunk is asked for only once every event of this one has been handed on.
  const nextEvent = async (): Promise<TarEvent | undefined> => {
    while (at === queue.length) {
      if (inputDone) return undefined;
      const { value, done } = await input.next();
      inputDone = done === true;
      queue = inputDone ? parser.end() : parser.push(value as Buffer);
      at = 0;
    }
    return queue[at++];
  };
  try {
    for (;;) {
      const event = await nextEvent();
      if (event === undefined || event.kind === 'archiveEnd') return;
      if (event.kind !== 'entry') continue;
      const { entry } = event;
      // An object, so the body's reads are seen here after the yield.
      const progress: { reading: 'not yet' | 'started' | 'finished' | 'too late' } = { reading: 'not yet' };
      const body: AsyncIterable<Buffer> = {
        async *[Symbol.asyncIterator]() {
          if (progress.reading === 'too late') throw new Error(`the body of ${entry.name} was read after the next entry was asked for`);
          if (progress.reading !== 'not yet') throw new Error(`the body of ${entry.name} can be read only once`);
          progress.reading = 'started';
          for (;;) {
            const part = await nextEvent();
            if (part === undefined || part.kind === 'entryEnd') break;
            if (part.kind === 'data') yield part.chunk;
          }
          progress.reading = 'finished';
        },
      };
      const contents = async (): Promise<Buffer> => {
        if (entry.size > maxKeptBytes) {
          throw new SnapdebugError(`Archive entry ${JSON.stringify(entry.name)} is ${entry.size} bytes, more than the ${maxKeptBytes} read into memory.`);
        }
        // Each piece copied as it comes: the source may reuse the buffer it lies in.
        const whole = Buffer.allocUnsafe(entry.size);
        let filled = 0;
        for await (const part of body) filled += part.copy(whole, filled);
        return whole.subarray(0, filled);
      };
      yield { entry, body, contents };
      const skipped = progress.reading !== 'finished';
      progress.reading = 'too late';
      if (skipped) {
        for (let part = await nextEvent(); part !== undefined && part.kind !== 'entryEnd'; part = await nextEvent());
      }
    }
  } finally {
    await input.return?.();
  }
}

const fileChunkBytes = 1024 * 1024;

let fifos: boolean | undefined;

/** A plain tar read into one reused buffer: each chunk is valid until the next is asked for. */
async function* plainFileChunks(path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(fileChunkBytes);
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

async function firstBytes(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * The decompressed bytes of an archive file (zstd, gzip or none, detected from its first bytes),
 * streamed. Plain archives, and zstd ones where a `zstd` program and FIFOs exist (zstdFile.ts),
 * come through ONE reused buffer: a chunk is valid until the next is asked for. Node's streams
 * would allocate a fresh Buffer per read, and V8 lets some 45 MiB of those pile up before
 * collecting; a 1 GiB snapshot would cost that much. gzip and fzstd (the fallback) still do.
 */
export async function* archiveStream(path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  throwIfAborted(signal);
  const compression = detectCompression(await firstBytes(path));
  const program = zstdProgram();
  if (compression === 'none') return yield* plainFileChunks(path, signal);
  if (compression === 'zstd' && program && (fifos ??= canUseFifo())) return yield* zstdFileChunks(program, path, signal);
  const file = createReadStream(path, { highWaterMark: fileChunkBytes, ...(signal && { signal }) });
  const plain = decompressor();
  // pipeline() destroys the decompressor with the file's error (or the abort), which the reader sees.
  pipeline(file, plain).catch(() => undefined);
  yield* plain as AsyncIterable<Buffer>;
}
