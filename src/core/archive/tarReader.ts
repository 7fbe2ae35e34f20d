// An incremental tar reader: fed bytes as they arrive, it reports each entry's name and size and
// hands over the contents of the entries a caller wants (small metadata files), skipping the rest
// without buffering them. Enough of ustar/pax for what podman writes.

export interface TarEntry {
  name: string;
  size: number;
  type: string;
}

const blockBytes = 512;

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function readOctal(block: Buffer, offset: number, length: number): number {
  const text = readString(block, offset, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

export class TarReader {
  private pending: Buffer = Buffer.alloc(0);
  private current: { entry: TarEntry; remaining: number; padding: number; keep: Buffer[] | undefined } | undefined;
  private paxName: string | undefined;
  private ended = false;

  constructor(
    /** Decides, per entry, whether its bytes are wanted. */
    private readonly wants: (entry: TarEntry) => boolean,
    private readonly onEntry: (entry: TarEntry, contents: Buffer | undefined) => void,
  ) {}

  get finished(): boolean {
    return this.ended;
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (!this.ended) {
      if (this.current) {
        if (!this.consumeBody()) return;
        continue;
      }
      if (this.pending.length < blockBytes) return;
      const header = this.pending.subarray(0, blockBytes);
      this.pending = this.pending.subarray(blockBytes);
      if (header.every((b) => b === 0)) {
        this.ended = true; // end-of-archive marker
        return;
      }
      const size = readOctal(header, 124, 12);
      const type = String.fromCharCode(header[156] || 0x30);
      const prefix = readString(header, 345, 155);
      let name = prefix ? `${prefix}/${readString(header, 0, 100)}` : readString(header, 0, 100);
      if (this.paxName !== undefined && type !== 'x' && type !== 'g') {
        name = this.paxName;
        this.paxName = undefined;
      }
      const entry: TarEntry = { name: name.replace(/^\.\//, ''), size, type };
      const isPax = type === 'x';
      const keep = isPax || this.wants(entry) ? [] : undefined;
      this.current = { entry, remaining: size, padding: (blockBytes - (size % blockBytes)) % blockBytes, keep };
    }
  }

  /** Consumes what it can of the current entry's body; true when the entry is complete. */
  private consumeBody(): boolean {
    const current = this.current!;
    if (current.remaining > 0) {
      const take = Math.min(current.remaining, this.pending.length);
      if (take === 0) return false;
      current.keep?.push(this.pending.subarray(0, take));
      this.pending = this.pending.subarray(take);
      current.remaining -= take;
      if (current.remaining > 0) return false;
    }
    if (this.pending.length < current.padding) return false;
    this.pending = this.pending.subarray(current.padding);
    this.current = undefined;
    const contents = current.keep ? Buffer.concat(current.keep) : undefined;
    if (current.entry.type === 'x' && contents) {
      this.paxName = /\d+ path=([^\n]*)\n/.exec(contents.toString('utf8'))?.[1];
    } else {
      this.onEntry(current.entry, contents);
    }
    return true;
  }
}
