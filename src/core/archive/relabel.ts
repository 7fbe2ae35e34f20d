// Restored copies carry labels (snapdebug.origin=<snapshot>) although `podman container restore`
// takes no --label: podman recreates the container from the archive's config.dump, so we rewrite
// that one small entry while the archive streams to the target. The output is an uncompressed tar
// (podman imports those as well; decompress.ts undoes the compression first); every other entry
// passes through byte for byte.
import { Transform, type TransformCallback } from 'node:stream';

const blockBytes = 512;

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

/** A ustar header with a new size and a recomputed checksum. */
function withSize(header: Buffer, size: number): Buffer {
  const copy = Buffer.from(header);
  copy.write(octal(size, 12), 124, 12, 'ascii');
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

/** Rewrites config.dump in an uncompressed tar stream. */
export class ConfigDumpRewriter extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private state: { kind: 'header' } | { kind: 'pass'; remaining: number } | { kind: 'collect'; header: Buffer; size: number } = {
    kind: 'header',
  };
  private done = false;
  rewritten = false;

  constructor(private readonly rewrite: (contents: Buffer) => Buffer) {
    super();
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
      if (this.done) {
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
        // config.dump is small (tens of KiB): wait until all of it and its padding are here.
        const padded = Math.ceil(state.size / blockBytes) * blockBytes;
        if (this.pending.length < padded) return;
        const contents = this.rewrite(Buffer.from(this.pending.subarray(0, state.size)));
        this.pending = this.pending.subarray(padded);
        const body = Buffer.alloc(Math.ceil(contents.length / blockBytes) * blockBytes);
        contents.copy(body);
        this.push(withSize(state.header, contents.length));
        this.push(body);
        this.rewritten = true;
        this.done = true; // nothing after config.dump needs changing: pass the rest straight on
        continue;
      }
      if (this.pending.length < blockBytes) return;
      const header = this.pending.subarray(0, blockBytes);
      this.pending = this.pending.subarray(blockBytes);
      const name = readString(header, 0, 100).replace(/^\.\//, '');
      const size = parseInt(readString(header, 124, 12).trim() || '0', 8);
      const type = String.fromCharCode(header[156] || 0x30);
      if (name === 'config.dump' && (type === '0' || type === '\0')) {
        this.state = { kind: 'collect', header: Buffer.from(header), size };
        continue;
      }
      this.push(header);
      const body = Math.ceil(size / blockBytes) * blockBytes;
      if (body > 0) this.state = { kind: 'pass', remaining: body };
    }
  }
}
