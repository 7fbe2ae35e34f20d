// What a podman checkpoint archive says about itself, read from its first bytes while it streams
// past: CRIU's dump statistics (frozen time) and podman's container config (name, image). podman
// writes these small files before the memory pages, so nothing large is ever buffered, and the
// decompressor stops as soon as they are found.
import { createReadStream } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { decodeDumpStats, type CriuDumpStats } from './criuStats';
import { TarReader } from './tarReader';

export type Compression = 'zstd' | 'gzip' | 'none';

export interface ArchiveFacts {
  compression: Compression;
  containerName?: string;
  containerId?: string;
  imageName?: string;
  imageId?: string;
  /** The image reference the container was created from, as typed (RawImageName). */
  rawImageName?: string;
  /** The OCI runtime that took the checkpoint (config.dump "runtime"): podman restores with it. */
  runtime?: string;
  labels?: Record<string, string>;
  criu?: CriuDumpStats;
  /** Whether the archive holds a full checkpoint (checkpoint/ images), not only a rootfs diff. */
  hasCheckpointImages: boolean;
}

const metadataFiles = new Set(['stats-dump', 'config.dump']);
const maxMetadataBytes = 4 * 1024 * 1024;

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  return 'none';
}

export class ArchiveInspector {
  private compression: Compression | undefined;
  private tar: TarReader;
  private zstd: Decompress | undefined;
  private gunzip: Gunzip | undefined;
  private readonly facts: ArchiveFacts = { compression: 'none', hasCheckpointImages: false };
  private done = false;

  constructor() {
    this.tar = new TarReader(
      (entry) => metadataFiles.has(entry.name) && entry.size <= maxMetadataBytes,
      (entry, contents) => this.onEntry(entry.name, contents),
    );
  }

  /** True once every fact has been read (or the archive cannot tell more). */
  get complete(): boolean {
    return this.done;
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    if (this.compression === undefined) {
      this.compression = detectCompression(chunk);
      this.facts.compression = this.compression;
      if (this.compression === 'zstd') this.zstd = new Decompress((data) => this.feedTar(Buffer.from(data)));
      if (this.compression === 'gzip') {
        this.gunzip = createGunzip();
        this.gunzip.on('data', (data: Buffer) => this.feedTar(data));
        this.gunzip.on('error', () => (this.done = true));
      }
    }
    try {
      if (this.zstd) this.zstd.push(chunk);
      else if (this.gunzip) this.gunzip.write(chunk);
      else this.feedTar(chunk);
    } catch {
      this.done = true; // a damaged stream only means we learn less; the sha256 decides integrity
    }
  }

  result(): ArchiveFacts {
    return { ...this.facts };
  }

  /** Call at the end of the input: gunzip may still hold output that carries facts. */
  async finish(): Promise<ArchiveFacts> {
    const gunzip = this.gunzip;
    if (gunzip && !this.done && !gunzip.destroyed) {
      await new Promise<void>((resolve) => {
        gunzip.once('end', resolve);
        gunzip.once('error', () => resolve());
        gunzip.once('close', resolve);
        gunzip.end();
      });
    }
    return this.result();
  }

  private feedTar(data: Buffer): void {
    if (this.done) return;
    this.tar.push(data);
    if (this.tar.finished) this.done = true;
  }

  private onEntry(name: string, contents: Buffer | undefined): void {
    if (name.startsWith('checkpoint/')) this.facts.hasCheckpointImages = true;
    if (name === 'stats-dump' && contents) this.facts.criu = decodeDumpStats(contents);
    if (name === 'config.dump' && contents) this.readConfig(contents);
    // The memory images follow the metadata: once they start, there is nothing more to learn.
    if (this.facts.hasCheckpointImages && this.facts.containerName !== undefined) {
      this.done = true;
      this.gunzip?.destroy();
    }
  }

  private readConfig(contents: Buffer): void {
    try {
      const config = JSON.parse(contents.toString('utf8')) as Record<string, unknown>;
      const text = (key: string) => (typeof config[key] === 'string' ? (config[key] as string) : undefined);
      this.facts.containerName = text('name');
      this.facts.containerId = text('id');
      this.facts.imageName = text('rootfsImageName');
      this.facts.imageId = text('rootfsImageID');
      this.facts.rawImageName = text('RawImageName');
      const runtime = text('runtime');
      if (runtime) this.facts.runtime = runtime;
      if (config.labels && typeof config.labels === 'object') this.facts.labels = config.labels as Record<string, string>;
    } catch {
      // not JSON: leave the facts unset
    }
  }
}

/** Reads the facts of an archive on disk, stopping as soon as they are known. */
export async function inspectArchiveFile(path: string): Promise<ArchiveFacts> {
  const inspector = new ArchiveInspector();
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  for await (const chunk of stream) {
    inspector.push(chunk as Buffer);
    if (inspector.complete) break;
  }
  stream.destroy();
  return inspector.finish();
}
