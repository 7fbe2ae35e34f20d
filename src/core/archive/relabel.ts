// Restored copies carry labels (snapdebug.origin=<snapshot>) although `podman container restore`
// takes no --label: podman recreates the container from the archive's config.dump, so we rewrite
// that one small entry while the archive streams to the target; likewise spec.dump (the OCI spec)
// when the copy needs annotations (tcpClose.ts: runc's org.criu.config) or volumes of its own
// (restore.ts: named volumes renamed in config.dump, in spec.dump's mount sources, and in the
// names of the archive's volumes/NAME.tar entries). The output is an
// uncompressed tar (podman imports those as well; decompress.ts undoes the compression first);
// every other entry passes through byte for byte.
import { Transform, type TransformCallback } from 'node:stream';

const blockBytes = 512;

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

/** A ustar header with a new size or name, and a recomputed checksum. */
function withFields(header: Buffer, fields: { size?: number; name?: string }): Buffer {
  const copy = Buffer.from(header);
  if (fields.size !== undefined) copy.write(octal(fields.size, 12), 124, 12, 'ascii');
  if (fields.name !== undefined) {
    if (Buffer.byteLength(fields.name) >= 100) throw new Error(`archive entry name too long to rename to: ${fields.name}`);
    copy.fill(0, 0, 100);
    copy.write(fields.name, 0, 100, 'utf8');
  }
  copy.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of copy) sum += byte;
  copy.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return copy;
}

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

export function addLabels(configDump: Buffer, labels: Record<string, string>): Buffer {
  const config = JSON.parse(configDump.toString('utf8')) as { labels?: Record<string, string> | null };
  config.labels = { ...(config.labels ?? {}), ...labels };
  return Buffer.from(JSON.stringify(config));
}

export function addAnnotations(specDump: Buffer, annotations: Record<string, string>): Buffer {
  const spec = JSON.parse(specDump.toString('utf8')) as { annotations?: Record<string, string> | null };
  spec.annotations = { ...(spec.annotations ?? {}), ...annotations };
  return Buffer.from(JSON.stringify(spec));
}

/** config.dump's named volumes under their new names (old → new). */
export function renameConfigVolumes(configDump: Buffer, volumes: Record<string, string>): Buffer {
  const config = JSON.parse(configDump.toString('utf8')) as { namedVolumes?: Array<{ volumeName: string }> | null };
  for (const volume of config.namedVolumes ?? []) volume.volumeName = volumes[volume.volumeName] ?? volume.volumeName;
  return Buffer.from(JSON.stringify(config));
}

/**
 * spec.dump's bind mounts of named volumes pointed at the renamed volumes: CRIU restores the
 * mounts from the spec, so without this the copy would write into the old name's volume.
 */
export function renameSpecVolumes(specDump: Buffer, volumes: Record<string, string>): Buffer {
  const spec = JSON.parse(specDump.toString('utf8')) as { mounts?: Array<{ source?: string }> | null };
  for (const mount of spec.mounts ?? []) {
    for (const [from, to] of Object.entries(volumes)) {
      const suffix = `/volumes/${from}/_data`;
      if (mount.source?.endsWith(suffix)) mount.source = `${mount.source.slice(0, -suffix.length)}/volumes/${to}/_data`;
    }
  }
  return Buffer.from(JSON.stringify(spec));
}

/** What a copy's archive gains on its way to the target. */
export interface CopyRewrite {
  labels: Record<string, string>;
  /** OCI annotations, written into spec.dump. */
  annotations?: Record<string, string>;
  /** Named volumes the copy gets under new names: old → new. */
  volumes?: Record<string, string>;
}

/** The archive entries a rewrite changes, and how. */
export function entryRewrites(rewrite: CopyRewrite): Record<string, (contents: Buffer) => Buffer> {
  const { labels, annotations, volumes } = rewrite;
  const spec = (dump: Buffer) => {
    const annotated = annotations ? addAnnotations(dump, annotations) : dump;
    return volumes ? renameSpecVolumes(annotated, volumes) : annotated;
  };
  return {
    'config.dump': (config) => (volumes ? renameConfigVolumes(addLabels(config, labels), volumes) : addLabels(config, labels)),
    ...((annotations || volumes) && { 'spec.dump': spec }),
  };
}

/** The archive entries a rewrite renames: each volume's content, volumes/NAME.tar. */
export function entryRenames(rewrite: CopyRewrite): Record<string, string> {
  return Object.fromEntries(Object.entries(rewrite.volumes ?? {}).map(([from, to]) => [`volumes/${from}.tar`, `volumes/${to}.tar`]));
}

/** Rewrites named small entries (config.dump, spec.dump) of an uncompressed tar stream. */
export class DumpRewriter extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private state: { kind: 'header' } | { kind: 'pass'; remaining: number } | { kind: 'collect'; name: string; header: Buffer; size: number } = {
    kind: 'header',
  };
  /** Names of the entries rewritten so far. */
  readonly rewritten = new Set<string>();

  /** Names of the entries renamed so far. */
  readonly renamed = new Set<string>();

  constructor(
    private readonly rewrites: Record<string, (contents: Buffer) => Buffer>,
    private readonly renames: Record<string, string> = {},
  ) {
    super();
  }

  /** Whether every entry named in the rewrites was found and rewritten. */
  get complete(): boolean {
    return Object.keys(this.rewrites).every((name) => this.rewritten.has(name));
  }

  /** Nothing left to look for: the rest of the stream passes straight on. */
  private get finished(): boolean {
    return this.complete && Object.keys(this.renames).every((name) => this.renamed.has(name));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending.length) this.push(this.pending);
    callback();
  }

  private drain(): void {
    while (this.pending.length > 0) {
      if (this.finished) {
        this.push(this.pending);
        this.pending = Buffer.alloc(0);
        return;
      }
      const state = this.state;
      if (state.kind === 'pass') {
        const take = Math.min(state.remaining, this.pending.length);
        this.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        state.remaining -= take;
        if (state.remaining === 0) this.state = { kind: 'header' };
        continue;
      }
      if (state.kind === 'collect') {
        // These entries are small (tens of KiB): wait until all of one and its padding are here.
        const padded = Math.ceil(state.size / blockBytes) * blockBytes;
        if (this.pending.length < padded) return;
        const contents = this.rewrites[state.name]!(Buffer.from(this.pending.subarray(0, state.size)));
        this.pending = this.pending.subarray(padded);
        const body = Buffer.alloc(Math.ceil(contents.length / blockBytes) * blockBytes);
        contents.copy(body);
        this.push(withFields(state.header, { size: contents.length }));
        this.push(body);
        this.rewritten.add(state.name);
        this.state = { kind: 'header' };
        continue;
      }
      if (this.pending.length < blockBytes) return;
      const header = this.pending.subarray(0, blockBytes);
      this.pending = this.pending.subarray(blockBytes);
      const name = readString(header, 0, 100).replace(/^\.\//, '');
      const size = parseInt(readString(header, 124, 12).trim() || '0', 8);
      const type = String.fromCharCode(header[156] || 0x30);
      if (Object.hasOwn(this.rewrites, name) && !this.rewritten.has(name) && (type === '0' || type === '\0')) {
        this.state = { kind: 'collect', name, header: Buffer.from(header), size };
        continue;
      }
      const newName = Object.hasOwn(this.renames, name) ? this.renames[name] : undefined;
      if (newName !== undefined) this.renamed.add(name);
      this.push(newName === undefined ? header : withFields(header, { name: newName }));
      const body = Math.ceil(size / blockBytes) * blockBytes;
      if (body > 0) this.state = { kind: 'pass', remaining: body };
    }
  }
}
