// Where a process's memory is in a checkpoint: pagemap-PID.img names the pages-N.img that holds
// its pages and lists runs of pages by virtual address; pages-N.img is those pages back to back,
// in pagemap order, for the runs marked present. walkPages turns a streamed pages image into
// (address, bytes) pieces, so a 1 GiB image is searched or copied without being held.
import type { Long } from 'protobufjs/light';
import { SnapdebugError } from '../util/errors';
import { decodeEntry, imageEntries, u64n } from './image';
import { pageBytes, pagemapFlags } from './names';

export interface PageRun {
  /** First virtual address of the run. */
  address: number;
  pages: number;
  /** Whether its bytes are in pages-N.img (else they live in a parent checkpoint, or nowhere). */
  present: boolean;
}

export interface Pagemap {
  pid: number;
  pagesId: number;
  runs: PageRun[];
  /** Pages whose bytes this checkpoint holds. */
  presentPages: number;
}

interface PagemapEntryMessage {
  vaddr?: Long | number;
  compatNrPages?: number;
  nrPages?: Long | number;
  inParent?: boolean;
  flags?: number;
}

export function decodePagemap(name: string, pid: number, image: Buffer): Pagemap {
  const entries = imageEntries(name, image, 'pagemap');
  if (entries.length === 0) throw new SnapdebugError(`The CRIU image ${name} has no pagemap head.`);
  const head = decodeEntry<{ pagesId?: number }>(name, entries[0]!, 'PagemapHead');
  const runs = entries.slice(1).map((entry): PageRun => {
    const message = decodeEntry<PagemapEntryMessage>(name, entry, 'PagemapEntry');
    // protobufjs answers absent fields with defaults from the prototype: ask what was written.
    const has = (field: keyof PagemapEntryMessage) => Object.prototype.hasOwnProperty.call(message, field);
    const pages = has('nrPages') ? u64n(message.nrPages) : (message.compatNrPages ?? 0);
    // Images older than the flags field say only whether a run is in the parent.
    const present = has('flags') ? ((message.flags ?? 0) & pagemapFlags.present) !== 0 : !message.inParent;
    return { address: u64n(message.vaddr), pages, present };
  });
  return { pid, pagesId: head.pagesId ?? 0, runs, presentPages: runs.reduce((sum, run) => sum + (run.present ? run.pages : 0), 0) };
}

/**
 * Bytes of memory from a pages image, as they stream: `address` is where `bytes` begins. Returning
 * false stops the walk (a search that has found enough).
 */
export type PageVisitor = (address: number, bytes: Buffer) => void | boolean | Promise<void | boolean>;

/**
 * Feeds a streamed pages image to `visit` as (address, bytes) pieces, one run at a time; a piece
 * never spans two runs, so consecutive pieces are contiguous in memory only when their addresses
 * say so. Fails when the image is shorter or longer than its pagemap says.
 */
export async function walkPages(map: Pagemap, body: AsyncIterable<Buffer>, visit: PageVisitor): Promise<void> {
  const runs = map.runs.filter((run) => run.present && run.pages > 0);
  let index = 0;
  let offsetInRun = 0;
  for await (const chunk of body) {
    let at = 0;
    while (at < chunk.length) {
      const run = runs[index];
      if (!run) throw new SnapdebugError(`pages-${map.pagesId}.img holds more than pagemap-${map.pid}.img describes.`);
      const runBytes = run.pages * pageBytes;
      const take = Math.min(runBytes - offsetInRun, chunk.length - at);
      if ((await visit(run.address + offsetInRun, chunk.subarray(at, at + take))) === false) return;
      at += take;
      offsetInRun += take;
      if (offsetInRun === runBytes) {
        index++;
        offsetInRun = 0;
      }
    }
  }
  if (index < runs.length) throw new SnapdebugError(`pages-${map.pagesId}.img is shorter than pagemap-${map.pid}.img describes.`);
}

/** Collects the bytes of a few address ranges (arguments, environment) while pages stream past. */
export class RangeCollector {
  private readonly buffers: Buffer[];

  constructor(private readonly ranges: ReadonlyArray<{ start: number; end: number }>) {
    this.buffers = ranges.map((range) => Buffer.alloc(Math.max(0, range.end - range.start)));
  }

  readonly visit: PageVisitor = (address, bytes) => {
    const end = address + bytes.length;
    this.ranges.forEach((range, i) => {
      const from = Math.max(range.start, address);
      const to = Math.min(range.end, end);
      if (from < to) bytes.copy(this.buffers[i]!, from - range.start, from - address, to - address);
    });
  };

  /** The bytes of range i (zeros where the checkpoint held no page; empty if there is no range i). */
  bytes(i: number): Buffer {
    return this.buffers[i] ?? Buffer.alloc(0);
  }
}
