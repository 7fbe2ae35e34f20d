// Reading checkpoint archives in order, entry by entry: tarEntries() walks an uncompressed tar
// stream, archiveStream() gives an archive file's decompressed bytes. Both stand on the one tar
// reader (tarParser.ts), which the relabeller and the archive inspector push bytes into; its
// refusals (duplicates, `..`, links, bad checksums, truncation…) apply here as well.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { SnapdebugError } from '../util/errors';
import { decompressor } from './decompress';
import { defaultMaxKeptBytes, TarParser, type TarEntry, type TarEvent, type TarLimits } from './tarParser';

export type { TarEntry, TarEntryType, TarLimits } from './tarParser';

export interface TarItem {
  entry: TarEntry;
  /** The entry's bytes, in pieces; readable once, and only until the next entry is asked for. */
  body: AsyncIterable<Buffer>;
  /** The whole body in one buffer, refused above the limits' maxKeptBytes (default 4 MiB). */
  contents(): Promise<Buffer>;
}

/**
 * Entries of an uncompressed tar stream in order; each body must be consumed (or is skipped)
 * before the next entry is yielded. Throws a SnapdebugError naming the entry on anything
 * malformed or refused. Reads the source only as fast as entries and bodies are asked for.
 */
export async function* tarEntries(source: AsyncIterable<Buffer>, limits: TarLimits = {}): AsyncGenerator<TarItem> {
  const parser = new TarParser(() => false, limits);
  const maxKeptBytes = limits.maxKeptBytes ?? defaultMaxKeptBytes;
  const input = source[Symbol.asyncIterator]();
  let queue: TarEvent[] = [];
  let at = 0;
  let inputDone = false;
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
        const parts: Buffer[] = [];
        for await (const part of body) parts.push(part);
        return Buffer.concat(parts, entry.size);
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

/** The decompressed bytes of an archive file (zstd, gzip or none, detected from its first bytes), streamed. */
export function archiveStream(path: string, signal?: AbortSignal): AsyncIterable<Buffer> {
  const file = createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal && { signal }) });
  const plain = decompressor();
  // pipeline() destroys the decompressor with the file's error (or the abort), which the reader sees.
  pipeline(file, plain).catch(() => undefined);
  return plain;
}
