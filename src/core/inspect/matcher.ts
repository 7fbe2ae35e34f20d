// Finding text or a regular expression in memory as it streams past, with the bytes around each
// hit. Memory arrives in pieces; a match may straddle two of them, so a small window of what came
// before is kept (the pattern's length, or a regex's reach, plus the context asked for) and
// nothing else. Only contiguous pieces are joined: a jump in addresses starts afresh.
import { SnapdebugError } from '../util/errors';

export interface Matcher {
  /** The first match at or after `from`, as byte offsets into `haystack`. */
  find(haystack: Buffer, from: number): { index: number; length: number } | undefined;
  /** Bytes a match can extend past where it starts, minus one: how much to keep between pieces. */
  overlapBytes: number;
}

/** How far a regular expression match may reach: longer matches across two pieces can be missed. */
export const regexReachBytes = 4096;

export function textMatcher(text: string): Matcher {
  const needle = Buffer.from(text, 'utf8');
  if (needle.length === 0) throw new SnapdebugError('Search for at least one character.');
  return {
    overlapBytes: needle.length - 1,
    find: (haystack, from) => {
      const index = haystack.indexOf(needle, from);
      return index < 0 ? undefined : { index, length: needle.length };
    },
  };
}

export function regexMatcher(source: string): Matcher {
  let regex: RegExp;
  try {
    // Memory is bytes: each byte becomes one latin1 character, and non-ASCII characters in the
    // pattern become their UTF-8 bytes, so "é" finds the UTF-8 "é" a program stored.
    regex = new RegExp(Buffer.from(source, 'utf8').toString('latin1'), 'gs');
  } catch (error) {
    throw new SnapdebugError(`"${source}" is not a regular expression: ${(error as Error).message}`);
  }
  let cached: { buffer: Buffer; text: string } | undefined;
  return {
    overlapBytes: regexReachBytes,
    find: (haystack, from) => {
      if (cached?.buffer !== haystack) cached = { buffer: haystack, text: haystack.toString('latin1') };
      for (let at = from; at <= cached.text.length; ) {
        regex.lastIndex = at;
        const match = regex.exec(cached.text);
        if (!match) return undefined;
        if (match[0].length > 0) return { index: match.index, length: match[0].length };
        at = match.index + 1; // an empty match finds nothing worth showing
      }
      return undefined;
    },
  };
}

export interface RawHit {
  address: number;
  length: number;
  /** Address of context[0]. */
  contextAddress: number;
  context: Buffer;
}

/**
 * Searches one stream of memory pieces. `onHit` returns false to stop. Call `flush` at the end of
 * the stream (it is also called whenever addresses jump).
 */
export class StreamSearch {
  private window: Buffer = Buffer.alloc(0);
  private windowAddress = 0;
  private searchFrom = 0;
  private pending: Array<{ index: number; length: number }> = [];
  private stopped = false;

  constructor(
    private readonly matcher: Matcher,
    private readonly contextBytes: number,
    private readonly onHit: (hit: RawHit) => boolean,
  ) {}

  get done(): boolean {
    return this.stopped;
  }

  feed(address: number, bytes: Buffer): void {
    if (this.stopped) return;
    if (this.window.length > 0 && address !== this.windowAddress + this.window.length) this.flush();
    if (this.window.length === 0) {
      this.windowAddress = address;
      this.searchFrom = 0;
    }
    this.window = this.window.length === 0 ? bytes : Buffer.concat([this.window, bytes]);
    this.search(this.window.length - this.matcher.overlapBytes);
    this.release(false);
    this.trim();
  }

  /** Ends the current run of contiguous memory: every match left is final. */
  flush(): void {
    if (!this.stopped && this.window.length > 0) {
      this.search(this.window.length);
      this.release(true);
    }
    this.window = Buffer.alloc(0);
    this.pending = [];
  }

  /** Finds the matches that start before `safeEnd` (later ones may still grow). */
  private search(safeEnd: number): void {
    while (this.searchFrom < safeEnd) {
      const match = this.matcher.find(this.window, this.searchFrom);
      if (!match || match.index >= safeEnd) {
        this.searchFrom = Math.max(this.searchFrom, safeEnd);
        return;
      }
      this.pending.push(match);
      this.searchFrom = match.index + match.length;
    }
  }

  /** Reports the hits whose context after is complete (or all of them, at the end of a run). */
  private release(all: boolean): void {
    while (this.pending.length > 0 && !this.stopped) {
      const hit = this.pending[0]!;
      const contextEnd = hit.index + hit.length + this.contextBytes;
      if (!all && contextEnd > this.window.length) return;
      this.pending.shift();
      const contextStart = Math.max(0, hit.index - this.contextBytes);
      const keepGoing = this.onHit({
        address: this.windowAddress + hit.index,
        length: hit.length,
        contextAddress: this.windowAddress + contextStart,
        context: Buffer.from(this.window.subarray(contextStart, Math.min(contextEnd, this.window.length))),
      });
      if (!keepGoing) this.stopped = true;
    }
  }

  /** Drops what no later match or context can need. */
  private trim(): void {
    const firstPending = this.pending[0]?.index ?? this.searchFrom;
    const keepFrom = Math.max(0, Math.min(firstPending, this.searchFrom) - this.contextBytes);
    if (keepFrom === 0) return;
    this.window = this.window.subarray(keepFrom);
    this.windowAddress += keepFrom;
    this.searchFrom -= keepFrom;
    for (const hit of this.pending) hit.index -= keepFrom;
  }
}
