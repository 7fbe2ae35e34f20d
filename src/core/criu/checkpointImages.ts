// One pass over a checkpoint archive, straight from the file (zstd, gzip or plain): the small CRIU
// images and podman's metadata are kept in memory (capped), the pages images are handed, as they
// stream, to whoever wants memory. podman writes the archive in name order, so every
// pagemap-PID.img arrives before the pages-N.img it names; should an archive come in another order,
// a pages image that arrives before its pagemap is asked for again in a second pass over the file.
import { archiveStream, tarEntries } from '../archive/tar';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { decodePagemap, type Pagemap } from './pagemap';

/** Largest single image or metadata file held in memory (mm images of big processes are ~1 MiB). */
const maxImageBytes = 16 * 1024 * 1024;
/** Everything held in memory together, so a hostile archive cannot make us hold more. */
const maxHeldBytes = 48 * 1024 * 1024;
const metadataFiles = new Set(['config.dump', 'spec.dump', 'stats-dump', 'network.status']);
const pagesPattern = /^checkpoint\/pages-(\d+)\.img$/;

export class CheckpointImages {
  /** checkpoint/*.img except pages, by file name ("core-1.img"). */
  readonly images = new Map<string, Buffer>();
  /** podman's files at the top of the archive (config.dump, spec.dump, stats-dump). */
  readonly metadata = new Map<string, Buffer>();
  /** Sizes of the pages images and of the whole archive's entries, for statistics. */
  readonly pagesBytes = new Map<number, number>();
  entriesBytes = 0;
  private pagemaps: Map<number, Pagemap> | undefined;

  image(name: string): Buffer | undefined {
    return this.images.get(name);
  }

  /** Every pagemap in the checkpoint, by PID. */
  allPagemaps(): Map<number, Pagemap> {
    if (!this.pagemaps) {
      this.pagemaps = new Map();
      for (const [name, image] of this.images) {
        const pid = /^pagemap-(\d+)\.img$/.exec(name)?.[1];
        if (pid !== undefined) this.pagemaps.set(Number(pid), decodePagemap(name, Number(pid), image));
      }
    }
    return this.pagemaps;
  }

  /** The pagemap whose pages are in pages-N.img, if already seen. */
  pagemapForPages(pagesId: number): Pagemap | undefined {
    return [...this.allPagemaps().values()].find((map) => map.pagesId === pagesId);
  }

  /** Call when images arrive, so pagemaps are decoded again with the new ones. */
  changed(): void {
    this.pagemaps = undefined;
  }
}

/**
 * What a reader of memory answers when pages-N.img streams past: 'done' (it read the body),
 * 'skip' (it does not want it), 'later' (it cannot tell yet: ask again in a second pass) or 'stop'
 * (it has what it wanted: the pass ends here, and the rest of the archive is not read).
 */
export type PagesAnswer = 'done' | 'skip' | 'later' | 'stop';
export type PagesVisitor = (pagesId: number, body: AsyncIterable<Buffer>, images: CheckpointImages) => Promise<PagesAnswer>;

export interface ScanOptions {
  pages?: PagesVisitor;
  signal?: AbortSignal;
}

/** Entries a checkpoint may hold (one image set per process: big process trees have thousands). */
const limits = { maxEntries: 100_000, maxKeptBytes: maxImageBytes };

/** Reads an archive's images in one pass (two if its order needs it). */
export async function scanCheckpoint(path: string, options: ScanOptions = {}): Promise<CheckpointImages> {
  const images = new CheckpointImages();
  const later = new Set<number>();
  let kept = 0;
  let sawCheckpoint = false;
  for await (const { entry, body, contents } of tarEntries(archiveStream(path, options.signal), limits)) {
    throwIfAborted(options.signal);
    if (entry.type !== 'file') continue;
    images.entriesBytes += entry.size;
    const pages = pagesPattern.exec(entry.name);
    if (pages) {
      const pagesId = Number(pages[1]);
      images.pagesBytes.set(pagesId, entry.size);
      const answer = options.pages ? await options.pages(pagesId, body, images) : 'skip';
      if (answer === 'later') later.add(pagesId);
      if (answer === 'stop') return images;
      continue;
    }
    const isImage = entry.name.startsWith('checkpoint/') && entry.name.endsWith('.img') && !entry.name.slice(11).includes('/');
    if (!isImage && !metadataFiles.has(entry.name)) continue;
    if (isImage) sawCheckpoint = true;
    kept += entry.size;
    if (kept > maxHeldBytes) throw new SnapdebugError(`The archive's CRIU images add up to more than ${maxHeldBytes} bytes; snapdebug will not hold that much.`);
    const bytes = await contents(); // a copy of its own: the archive's chunks are reused
    if (isImage) {
      images.images.set(entry.name.slice(11), bytes);
      images.changed();
    } else images.metadata.set(entry.name, bytes);
  }
  if (!sawCheckpoint) {
    throw new SnapdebugError(`${path} holds no CRIU images.`, { fix: { text: 'Only a full checkpoint can be inspected (not a rootfs-only export).' } });
  }
  if (later.size > 0 && options.pages) await secondPass(path, later, options.pages, images, options.signal);
  return images;
}

async function secondPass(path: string, wanted: Set<number>, visit: PagesVisitor, images: CheckpointImages, signal?: AbortSignal): Promise<void> {
  for await (const { entry, body } of tarEntries(archiveStream(path, signal), limits)) {
    throwIfAborted(signal);
    const pages = pagesPattern.exec(entry.name);
    if (!pages || !wanted.has(Number(pages[1]))) continue;
    if ((await visit(Number(pages[1]), body, images)) === 'stop') return;
    wanted.delete(Number(pages[1]));
    if (wanted.size === 0) return;
  }
}
