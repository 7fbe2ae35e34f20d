// What a podman checkpoint archive says about itself, read from its first bytes while it streams
// past: CRIU's dump statistics (frozen time) and podman's container config (name, image). podman
// writes these small files before the memory pages, so nothing large is ever buffered, and the
// decompressor stops as soon as they are found. The tar reader is the product's one
// (tarParser.ts): an archive it refuses only means less is learnt here (`refused` says why).
import { createReadStream } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { SnapdebugError } from '../util/errors';
import { decodeDumpStats, type CriuDumpStats } from './criuStats';
import { TarParser, type TarEvent } from './tarParser';
import { ZstdFrameCheck } from './zstdFrames';

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
  /** Why the tar reader refused the archive, if it did (reading stopped there). */
  refused?: string;
}

const metadataFiles = new Set(['stats-dump', 'config.dump']);

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  return 'none';
}

export class ArchiveInspector {
  private compression: Compression | undefined;
  private readonly tar = new TarParser((entry) => metadataFiles.has(entry.name) && entry.type === 'file');
  private entryName: string | undefined;
  private zstd: Decompress | undefined;
  private zstdFrames: ZstdFrameCheck | undefined;
  private gunzip: Gunzip | undefined;
  private readonly facts: ArchiveFacts = { compression: 'none', hasCheckpointImages: false };
  private done = false;

  /** True once every fact has been read (or the archive cannot tell more). */
  get complete(): boolean {
    return this.done;
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    if (this.compression === undefined) {
      this.compression = detectCompression(chunk);
      this.facts.compression = this.compression;
      if (this.compression === 'zstd') {
        this.zstdFrames = new ZstdFrameCheck();
        this.zstd = new Decompress((data) => this.feedTar(Buffer.from(data)));
      }
      if (this.compression === 'gzip') {
        this.gunzip = createGunzip();
        this.gunzip.on('data', (data: Buffer) => this.feedTar(data));
        this.gunzip.on('error', (error) => this.stop(error));
      }
    }
    try {
      if (this.zstd) {
        // Checked before fzstd allocates what a frame header asks for, and fed a megabyte of
        // output at a time: fzstd decodes all it is given, and the rest may not be needed.
        for (const piece of this.zstdFrames!.cut(chunk, 1024 * 1024)) {
          this.zstd.push(piece);
          if (this.done) break;
        }
      } else if (this.gunzip) this.gunzip.write(chunk);
      else this.feedTar(chunk);
    } catch (error) {
      this.stop(error);
    }
  }

  /** A damaged or refused stream only means we learn less; the sha256 decides integrity. */
  private stop(error: unknown): void {
    this.done = true;
    if (error instanceof SnapdebugError) this.facts.refused = error.message;
    this.gunzip?.destroy();
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
    try {
      for (const event of this.tar.push(data)) {
        this.onEvent(event);
        if (this.done) return;
      }
    } catch (error) {
      this.stop(error);
    }
    if (this.tar.ended) this.done = true;
  }

  private onEvent(event: TarEvent): void {
    if (event.kind === 'entry') {
      this.entryName = event.entry.name;
      if (this.entryName.startsWith('checkpoint/')) this.facts.hasCheckpointImages = true;
    } else if (event.kind === 'kept') {
      if (this.entryName === 'stats-dump') this.facts.criu = decodeDumpStats(event.contents);
      if (this.entryName === 'config.dump') this.readConfig(event.contents);
    } else if (event.kind === 'entryEnd' && this.facts.hasCheckpointImages && this.facts.containerName !== undefined) {
      // The memory images follow the metadata: once they start, there is nothing more to learn.
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
