// Searching memory as it streams past, without copying it: each piece is searched where it lies,
// and only a small tail of what came before (the pattern's reach plus the context asked for) is
// kept, copied, to find matches that straddle two pieces and to show the bytes before a hit. A
// 1 GiB snapshot so allocates a few bytes per piece instead of the piece itself (garbage that V8
// would let pile up to its external-memory limit before collecting). Only contiguous pieces are
// joined: a jump in addresses ends the run and starts afresh.
import type { Matcher } from './matcher';

export interface RawHit {
  address: number;
  length: number;
  /** Address of context[0]. */
  contextAddress: number;
  context: Buffer;
}

interface Pending {
  address: number;
  length: number;
  contextAddress: number;
  context: Buffer;
  /** The address the context must reach. */
  until: number;
}

/** Searches one stream of memory pieces. `onHit` returns false to stop; call `flush` at the end. */
export class StreamSearch {
  /** A copy of the last bytes of the current run, from tailAddress. */
  private tail: Buffer = Buffer.alloc(0);
  private tailAddress = 0;
  /** Every match starting before this address has been found. */
  private searchedUpTo = 0;
  private pending: Pending[] = [];
  private stopped = false;
  private readonly keepBytes: number;

  constructor(
    private readonly matcher: Matcher,
    private readonly contextBytes: number,
    private readonly onHit: (hit: RawHit) => boolean,
  ) {
    this.keepBytes = matcher.overlapBytes + contextBytes;
  }

  get done(): boolean {
    return this.stopped;
  }

  private get runEnd(): number {
    return this.tailAddress + this.tail.length;
  }

  feed(address: number, bytes: Buffer): void {
    if (this.stopped || bytes.length === 0) return;
    if (this.tail.length > 0 && address !== this.runEnd) this.flush();
    if (this.tail.length === 0) {
      this.tailAddress = address;
      this.searchedUpTo = address;
    }
    this.complete(address, bytes);
    const overlap = this.matcher.overlapBytes;
    if (bytes.length < this.keepBytes) {
      // A small piece: join it to the tail (both small) and search that.
      const joined = Buffer.concat([this.tail, bytes]);
      this.scan(joined, this.tailAddress, joined.length - overlap);
      this.keepTail(joined, this.tailAddress);
      return;
    }
    // Matches that start in the tail and reach into this piece: a small join of both ends.
    if (this.searchedUpTo < address) {
      const head = Buffer.concat([this.tail, bytes.subarray(0, this.keepBytes)]);
      this.scan(head, this.tailAddress, address - this.tailAddress);
    }
    // The piece itself, where it lies; matches starting in its last `overlap` bytes wait for more.
    this.scan(bytes, address, bytes.length - overlap);
    this.keepTail(bytes, address);
  }

  /** Ends the current run of contiguous memory: every match left is final. */
  flush(): void {
    if (!this.stopped && this.tail.length > 0) {
      this.scan(this.tail, this.tailAddress, this.tail.length);
      for (const hit of this.pending.splice(0)) this.report(hit);
    }
    this.tail = Buffer.alloc(0);
    this.pending = [];
  }

  /** Extends the context of hits waiting for the bytes after them. */
  private complete(address: number, bytes: Buffer): void {
    // A waiting hit's context ends where this piece begins (or is already whole): extend each,
    // then report, in address order, those now complete.
    for (const hit of this.pending) {
      const have = hit.contextAddress + hit.context.length;
      const take = Math.min(hit.until - have, bytes.length);
      if (take > 0 && have === address) hit.context = Buffer.concat([hit.context, bytes.subarray(0, take)]);
    }
    while (this.pending.length > 0 && !this.stopped) {
      const hit = this.pending[0]!;
      if (hit.contextAddress + hit.context.length < hit.until) return;
      this.pending.shift();
      this.report(hit);
    }
  }

  /** Finds the matches in `buffer` (at `base`) starting at searchedUpTo and before offset `limit`. */
  private scan(buffer: Buffer, base: number, limit: number): void {
    let from = Math.max(0, this.searchedUpTo - base);
    while (!this.stopped && from < limit) {
      const match = this.matcher.find(buffer, from);
      if (!match || match.index >= limit) break;
      this.hit(buffer, base, match.index, match.length);
      from = match.index + match.length;
      this.searchedUpTo = base + from;
    }
    this.searchedUpTo = Math.max(this.searchedUpTo, base + Math.max(from, limit));
  }

  private hit(buffer: Buffer, base: number, index: number, length: number): void {
    const address = base + index;
    // The bytes before may be in the tail (when `buffer` is the new piece).
    const contextAddress = Math.max(address - this.contextBytes, Math.min(base, this.tailAddress));
    const before = contextAddress < base ? this.tail.subarray(contextAddress - this.tailAddress, base - this.tailAddress) : Buffer.alloc(0);
    const start = Math.max(0, contextAddress - base);
    const until = address + length + this.contextBytes;
    const context = Buffer.concat([before, buffer.subarray(start, Math.min(buffer.length, until - base))]);
    const hit = { address, length, contextAddress, context, until };
    if (contextAddress + context.length < until || this.pending.length > 0) this.pending.push(hit);
    else this.report(hit);
  }

  private report(hit: Pending): void {
    if (this.stopped) return;
    const { address, length, contextAddress, context } = hit;
    if (!this.onHit({ address, length, contextAddress, context })) this.stopped = true;
  }

  /** Keeps a copy of the run's last bytes: what a later match or context can need. */
  private keepTail(buffer: Buffer, base: number): void {
    const keep = Math.min(buffer.length, this.keepBytes);
    this.tail = Buffer.from(buffer.subarray(buffer.length - keep));
    this.tailAddress = base + buffer.length - keep;
  }
}
