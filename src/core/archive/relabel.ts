// Restored copies carry labels (snapdebug.origin=<snapshot>) although `podman container restore`
// takes no --label: podman recreates the container from the archive's config.dump, so we rewrite
// that one small entry while the archive streams to the target; likewise spec.dump (the OCI spec)
// when the copy needs annotations (tcpClose.ts: runc's org.criu.config) or volumes of its own
// (restore.ts: named volumes renamed in config.dump, in spec.dump's mount sources, and in the
// names of the archive's volumes/NAME.tar entries), or a network (fence/). Both dumps are held (a few MiB at most)
// until both are read and approved (copyPolicy.ts), then written anew, in plain ustar headers
// under their plain names; every other entry passes through byte for byte. The archive is read
// by the product's one tar reader (tarParser.ts), so a dump found under any name encoding (ustar
// prefix, pax path, GNU long name) is the one rewritten, and a second one is refused. The output
// is an uncompressed tar (podman imports those as well; decompress.ts undoes the compression).
import { Transform, type TransformCallback } from 'node:stream';
import { SnapdebugError } from '../util/errors';
import { encodeHeader, paddingFor } from './tarFormat';
import { TarParser, type TarEntry, type TarEvent, type TarLimits } from './tarParser';

export { addAnnotations, addLabels, attachToNetwork, entryRenames, entryRewrites, renameConfigVolumes, renameSpecVolumes, type CopyNetwork, type CopyRewrite } from './dumpEdits';

/** The two files podman rebuilds a container from. */
export interface CopyDumps {
  configDump: Buffer;
  specDump: Buffer;
}

export interface DumpRewriterOptions {
  /**
   * Called once both config.dump and spec.dump are read, before their bytes go on: a throw
   * (a SnapdebugError saying why) fails the stream, with nothing of the dumps sent.
   */
  approve?: (dumps: CopyDumps) => Promise<void>;
  limits?: TarLimits;
}

interface Held {
  entry: TarEntry;
  owner: { uid: number; gid: number };
  contents?: Buffer;
}

/** Rewrites named small entries (config.dump, spec.dump) of an uncompressed tar stream. */
export class DumpRewriter extends Transform {
  private readonly parser: TarParser;
  /** The dumps held back until all are read: the rewritten ones, and both when approval is asked. */
  private readonly wanted: Set<string>;
  private readonly held: Held[] = [];
  private current: Held | undefined;
  private droppingPadding = false;
  private released = false;
  /** Names of the entries rewritten so far. */
  readonly rewritten = new Set<string>();
  /** Names of the entries renamed so far. */
  readonly renamed = new Set<string>();

  constructor(
    private readonly rewrites: Record<string, (contents: Buffer) => Buffer>,
    private readonly renames: Record<string, string> = {},
    private readonly options: DumpRewriterOptions = {},
  ) {
    super();
    this.wanted = new Set([...Object.keys(rewrites), ...(options.approve ? ['config.dump', 'spec.dump'] : [])]);
    this.parser = new TarParser((entry) => this.wanted.has(entry.name), options.limits);
  }

  /** Whether every entry named in the rewrites was found and rewritten. */
  get complete(): boolean {
    return Object.keys(this.rewrites).every((name) => this.rewritten.has(name));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let events: TarEvent[];
    try {
      events = this.parser.push(chunk);
    } catch (error) {
      return callback(error as Error);
    }
    this.handle(events).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.parser.end();
      this.requireReleased();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private async handle(events: TarEvent[]): Promise<void> {
    for (const event of events) {
      switch (event.kind) {
        case 'entry':
          this.droppingPadding = false;
          this.startEntry(event.entry, event.header, event.owner);
          break;
        case 'data':
          this.push(event.chunk);
          break;
        case 'kept':
          this.current!.contents = event.contents;
          break;
        case 'entryEnd':
          if (this.current?.contents) {
            // A held dump's padding stays behind: it is written anew with its new body.
            this.droppingPadding = true;
            if (!this.released && this.held.length === this.wanted.size) await this.release();
          }
          break;
        case 'archiveEnd':
          this.droppingPadding = false;
          this.requireReleased();
          break;
        case 'raw':
          if (!this.droppingPadding) this.push(event.bytes);
          break;
      }
    }
  }

  private startEntry(entry: TarEntry, header: Buffer[], owner: Held['owner']): void {
    if (this.wanted.has(entry.name)) {
      if (entry.type !== 'file') throw new SnapdebugError(`The archive's ${entry.name} is not a file: the archive is refused.`);
      this.current = { entry, owner };
      this.held.push(this.current);
      return;
    }
    this.current = undefined;
    const newName = Object.hasOwn(this.renames, entry.name) ? this.renames[entry.name] : undefined;
    if (newName === undefined || entry.type !== 'file') {
      for (const block of header) this.push(block);
      return;
    }
    this.renamed.add(entry.name);
    this.push(encodeHeader({ name: newName, size: entry.size, mode: entry.mode, mtime: entry.mtime ?? 0, ...owner, flag: '0' }));
  }

  /** Both dumps are here: approved, rewritten and written out, in the order they came. */
  private async release(): Promise<void> {
    this.released = true;
    const dump = (name: string) => this.held.find((h) => h.entry.name === name)?.contents;
    if (this.options.approve) await this.options.approve({ configDump: dump('config.dump')!, specDump: dump('spec.dump')! });
    for (const { entry, owner, contents } of this.held) {
      const rewrite = this.rewrites[entry.name];
      const body = rewrite ? rewrite(contents!) : contents!;
      this.push(encodeHeader({ name: entry.name, size: body.length, mode: entry.mode, mtime: entry.mtime ?? 0, ...owner, flag: '0' }));
      this.push(body);
      this.push(Buffer.alloc(paddingFor(body.length)));
      if (rewrite) this.rewritten.add(entry.name);
    }
    this.held.length = 0;
  }

  private requireReleased(): void {
    if (this.released || this.wanted.size === 0) return;
    const missing = [...this.wanted].filter((name) => !this.held.some((h) => h.entry.name === name));
    throw new SnapdebugError(`The archive has no ${missing.join(' or ')}: it is not a podman checkpoint archive.`);
  }
}
