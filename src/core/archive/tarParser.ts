// The one tar reader of snapdebug: the relabeller, the archive inspector and tarEntries() all read
// through it. It is fed bytes as they arrive and answers with what they held, as events that
// carry the very bytes read (so a rewriter can pass entries on unchanged). It understands ustar
// prefix names, GNU long names and links, and pax path/linkpath/size/mtime; it refuses, naming
// the entry, whatever podman never writes: bad checksums, duplicate names, `..`, absolute paths,
// links and devices (checkpointLayout.ts), an archive that ends inside an entry. Memory is
// bounded whatever the input: one header block, one pax/GNU record (64 KiB at most), the bodies
// asked to be kept (maxKeptBytes), and the set of names seen (maxEntries names of ≤ 1 KiB).
// A caller may reuse its buffer for the next chunk once push() has returned and its events are
// handled (the inspector reads a 1 GiB archive through one buffer): whatever the parser keeps
// across calls — a record, a header block, a kept body — it copies.
import { SnapdebugError } from '../util/errors';
import { describeType, EntryRefusal, normaliseName, SeenEntries, shown } from './checkpointLayout';
import { blockBytes, decodeHeader, decodeLongName, decodePax, HeaderError, isZeroBlock, paddingFor, type RawHeader } from './tarFormat';

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  name: string;
  size: number;
  type: TarEntryType;
  linkName?: string;
  mode: number;
  mtime?: number;
}

export interface TarLimits {
  /** Entries an archive may hold (default 20,000; podman's hold tens to a few thousand). */
  maxEntries?: number;
  /** Largest body read whole into memory (default 4 MiB; config.dump and spec.dump are tens of KiB). */
  maxKeptBytes?: number;
}

export const defaultMaxEntries = 20_000;
export const defaultMaxKeptBytes = 4 * 1024 * 1024;
/** pax and GNU long-name records: names are ≤ 1 KiB, so 64 KiB is generous. */
const maxRecordBytes = 64 * 1024;

export type TarEvent =
  /** A new entry. `header`: its header blocks as read (pax and GNU records included); `owner` for rewriting it. */
  | { kind: 'entry'; entry: TarEntry; header: Buffer[]; owner: { uid: number; gid: number } }
  /** A piece of the body of an entry that is not kept. */
  | { kind: 'data'; chunk: Buffer }
  /** The whole body of a kept entry. */
  | { kind: 'kept'; contents: Buffer }
  /** The entry's body is complete (its padding follows as raw bytes). */
  | { kind: 'entryEnd' }
  /** The end-of-archive marker was read; raw bytes after it are ignored by readers. */
  | { kind: 'archiveEnd' }
  /** Bytes without meaning of their own: padding, the end marker, what follows it. */
  | { kind: 'raw'; bytes: Buffer };

const typeOfFlag: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // "contiguous file": a regular file to every reader
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};

type RecordKind = 'x' | 'g' | 'L' | 'K';
const recordWords: Record<RecordKind, string> = { x: 'pax header', g: 'global pax header', L: 'GNU long name', K: 'GNU long link name' };

type State =
  | { at: 'header' }
  | { at: 'record'; kind: RecordKind; size: number; remaining: number; padding: number; parts: Buffer[] }
  | { at: 'body'; entry: TarEntry; remaining: number; padding: number; keep: { into: Buffer; filled: number } | undefined }
  | { at: 'padding'; remaining: number }
  | { at: 'secondZero' }
  | { at: 'ended' };

/** What pax and GNU records said about the entry that follows them. */
interface Pending {
  header: Buffer[];
  sawPax: boolean;
  path?: string;
  linkPath?: string;
  size?: number;
  mtime?: number;
  longName?: string;
  longLink?: string;
}

export class TarParser {
  private state: State = { at: 'header' };
  private block = Buffer.alloc(blockBytes);
  private blockFill = 0;
  private pending: Pending = { header: [], sawPax: false };
  private readonly seen: SeenEntries;
  private lastName: string | undefined;
  private readonly maxKeptBytes: number;

  constructor(
    /** Decides, per entry, whether its body is wanted whole (a 'kept' event) rather than in pieces. */
    private readonly keep: (entry: TarEntry) => boolean = () => false,
    limits: TarLimits = {},
  ) {
    this.seen = new SeenEntries(limits.maxEntries ?? defaultMaxEntries);
    this.maxKeptBytes = limits.maxKeptBytes ?? defaultMaxKeptBytes;
  }

  /** Whether the end-of-archive marker has been read. */
  get ended(): boolean {
    return this.state.at === 'ended' || this.state.at === 'secondZero';
  }

  /** Reads the next bytes; throws a SnapdebugError on anything malformed or refused. */
  push(chunk: Buffer): TarEvent[] {
    const events: TarEvent[] = [];
    let offset = 0;
    while (offset < chunk.length) offset = this.step(chunk, offset, events);
    return events;
  }

  /** The input is over: throws if it stopped inside an entry or before the end marker. */
  end(): TarEvent[] {
    const state = this.state;
    if (state.at === 'ended' || state.at === 'secondZero') return [];
    if (state.at === 'body') {
      throw this.refusal(state.entry.name, `ends after ${state.entry.size - state.remaining} of its ${state.entry.size} bytes: the archive is truncated`);
    }
    if (state.at === 'record') throw this.headerRefusal(`${recordWords[state.kind]} is cut off: the archive is truncated`);
    throw new SnapdebugError(`The archive ends without its end-of-archive marker${this.lastName === undefined ? '' : ` (the last entry read was ${shown(this.lastName)})`}: it is truncated, and refused.`);
  }

  private step(chunk: Buffer, offset: number, events: TarEvent[]): number {
    const state = this.state;
    const available = chunk.length - offset;
    switch (state.at) {
      case 'ended':
        events.push({ kind: 'raw', bytes: chunk.subarray(offset) });
        return chunk.length;
      case 'padding': {
        const take = Math.min(state.remaining, available);
        events.push({ kind: 'raw', bytes: chunk.subarray(offset, offset + take) });
        state.remaining -= take;
        if (state.remaining === 0) this.state = { at: 'header' };
        return offset + take;
      }
      case 'body': {
        const take = Math.min(state.remaining, available);
        if (state.keep) state.keep.filled += chunk.copy(state.keep.into, state.keep.filled, offset, offset + take);
        else events.push({ kind: 'data', chunk: chunk.subarray(offset, offset + take) });
        state.remaining -= take;
        if (state.remaining === 0) this.finishBody(state, events);
        return offset + take;
      }
      case 'record': {
        const take = Math.min(state.remaining + state.padding, available);
        state.parts.push(Buffer.from(chunk.subarray(offset, offset + take))); // a copy: it outlives the chunk
        const fromBody = Math.min(take, state.remaining);
        state.remaining -= fromBody;
        state.padding -= take - fromBody;
        if (state.remaining === 0 && state.padding === 0) this.finishRecord(state);
        return offset + take;
      }
      case 'header':
      case 'secondZero': {
        // Whole blocks straight from the chunk; a block split across chunks is copied together.
        let block: Buffer;
        if (this.blockFill === 0 && available >= blockBytes) {
          block = chunk.subarray(offset, offset + blockBytes);
          offset += blockBytes;
        } else {
          const take = Math.min(blockBytes - this.blockFill, available);
          chunk.copy(this.block, this.blockFill, offset, offset + take);
          this.blockFill += take;
          offset += take;
          if (this.blockFill < blockBytes) return offset;
          block = this.block;
          this.block = Buffer.alloc(blockBytes);
          this.blockFill = 0;
        }
        if (state.at === 'secondZero') this.secondZero(block, events);
        else this.header(block, events);
        return offset;
      }
    }
  }

  private secondZero(block: Buffer, events: TarEvent[]): void {
    // As Go's archive/tar (podman's own reader): two zero blocks end it, a lone one is an error.
    if (!isZeroBlock(block)) throw this.headerRefusal('follows a lone zero block: entries are hidden behind an end marker');
    events.push({ kind: 'raw', bytes: block });
    this.state = { at: 'ended' };
  }

  private header(block: Buffer, events: TarEvent[]): void {
    if (isZeroBlock(block)) {
      if (this.pending.header.length > 0) throw this.headerRefusal('is a pax or GNU record with no entry after it');
      events.push({ kind: 'archiveEnd' }, { kind: 'raw', bytes: block });
      this.state = { at: 'secondZero' };
      return;
    }
    let raw: RawHeader;
    try {
      raw = decodeHeader(block);
    } catch (error) {
      if (error instanceof HeaderError) throw this.headerRefusal(error.message);
      throw error;
    }
    if (raw.flag === 'x' || raw.flag === 'g' || raw.flag === 'L' || raw.flag === 'K') {
      this.pending.header.push(Buffer.from(block)); // a copy: the entry it belongs to comes later
      return this.startRecord(raw.flag, raw.size);
    }
    this.pending.header.push(block);
    this.startEntry(raw, events);
  }

  private startRecord(kind: RecordKind, size: number): void {
    const p = this.pending;
    const again = kind === 'x' ? p.sawPax : kind === 'g' ? false : kind === 'L' ? p.longName !== undefined : p.longLink !== undefined;
    if (again) throw this.headerRefusal(`is a second ${recordWords[kind]} for one entry`);
    if (size > maxRecordBytes) throw this.headerRefusal(`is a ${recordWords[kind]} of ${size} bytes (at most ${maxRecordBytes} are read)`);
    this.state = { at: 'record', kind, size, remaining: size, padding: paddingFor(size), parts: [] };
    if (size === 0) this.finishRecord(this.state);
  }

  private finishRecord(state: Extract<State, { at: 'record' }>): void {
    const bytes = Buffer.concat(state.parts);
    this.pending.header.push(bytes);
    this.state = { at: 'header' };
    const record = bytes.subarray(0, state.size);
    try {
      if (state.kind === 'L') this.pending.longName = decodeLongName(record, 'long name');
      else if (state.kind === 'K') this.pending.longLink = decodeLongName(record, 'long link name');
      else this.applyPax(decodePax(record), state.kind === 'g');
    } catch (error) {
      if (error instanceof HeaderError) throw this.headerRefusal(error.message);
      throw error;
    }
  }

  private applyPax(records: Map<string, string>, global: boolean): void {
    if (global) {
      // A global header would rename or resize every entry after it: podman never writes one,
      // so it is read conservatively, and only harmless keys are let through (and ignored).
      for (const key of ['path', 'linkpath', 'size']) {
        if (records.has(key)) throw this.headerRefusal(`is a global pax header that sets ${key} for every entry after it`);
      }
      return;
    }
    const p = this.pending;
    p.sawPax = true;
    for (const [key, value] of records) {
      if (key.startsWith('GNU.sparse.')) throw this.headerRefusal('describes a sparse file, which podman never writes');
      if (key === 'path') p.path = value;
      else if (key === 'linkpath') p.linkPath = value;
      else if (key === 'size') {
        if (!/^[0-9]{1,16}$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) throw this.headerRefusal(`has a pax size that is not a byte count (${JSON.stringify(value.slice(0, 40))})`);
        p.size = Number(value);
      } else if (key === 'mtime') {
        if (!/^-?[0-9]{1,15}(\.[0-9]*)?$/.test(value)) throw this.headerRefusal('has a pax mtime that is not a time');
        p.mtime = Number(value);
      }
      // Other keys (atime, uid, xattrs…) change nothing we rely on.
    }
  }

  private startEntry(raw: RawHeader, events: TarEvent[]): void {
    const p = this.pending;
    this.pending = { header: [], sawPax: false };
    const type = typeOfFlag[raw.flag];
    const headerName = raw.prefix ? `${raw.prefix}/${raw.name}` : raw.name;
    const given = p.path ?? p.longName ?? headerName;
    if (type === undefined) throw this.refusal(given, `has the entry type ${JSON.stringify(raw.flag)}, which podman never writes`);
    if (p.path !== undefined && p.longName !== undefined) throw this.refusal(given, 'is named twice, by a pax header and a GNU long name');
    let name: string;
    try {
      name = normaliseName(given, type);
    } catch (error) {
      throw this.converted(error);
    }
    if (p.size !== undefined && raw.size !== 0 && raw.size !== p.size) {
      throw this.refusal(name, `has a pax size of ${p.size} bytes but a header size of ${raw.size}`);
    }
    const size = p.size ?? raw.size;
    if (type !== 'file' && size !== 0) throw this.refusal(name, `is a ${describeType(type)} with ${size} bytes of content`);
    const entry: TarEntry = { name, size, type, mode: raw.mode, mtime: p.mtime ?? raw.mtime };
    if (type === 'symlink' || type === 'hardlink') {
      entry.linkName = p.linkPath ?? p.longLink ?? raw.linkName;
      if (entry.linkName === '') throw this.refusal(name, `is a ${describeType(type)} to nothing`);
    }
    try {
      this.seen.admit(entry);
    } catch (error) {
      throw this.converted(error);
    }
    this.lastName = name;
    const keep = this.keep(entry);
    if (keep && size > this.maxKeptBytes) {
      throw this.refusal(name, `is ${size} bytes, more than the ${this.maxKeptBytes} read into memory (podman writes tens of KiB)`);
    }
    events.push({ kind: 'entry', entry, header: p.header, owner: { uid: raw.uid, gid: raw.gid } });
    const body: Extract<State, { at: 'body' }> = { at: 'body', entry, remaining: size, padding: paddingFor(size), keep: keep ? { into: Buffer.allocUnsafe(size), filled: 0 } : undefined };
    this.state = body;
    if (size === 0) this.finishBody(body, events);
  }

  private finishBody(state: Extract<State, { at: 'body' }>, events: TarEvent[]): void {
    if (state.keep) events.push({ kind: 'kept', contents: state.keep.into });
    events.push({ kind: 'entryEnd' });
    this.state = state.padding > 0 ? { at: 'padding', remaining: state.padding } : { at: 'header' };
  }

  private converted(error: unknown): unknown {
    return error instanceof EntryRefusal ? this.refusal(error.entryName, error.message) : error;
  }

  private refusal(name: string, reason: string): SnapdebugError {
    return new SnapdebugError(`Archive entry ${shown(name)} ${reason}: the archive is refused.`);
  }

  /** For a header whose entry has no trustworthy name yet: placed after the last good one. */
  private headerRefusal(reason: string): SnapdebugError {
    const where = this.lastName === undefined ? 'The first archive header' : `The archive header after entry ${shown(this.lastName)}`;
    return new SnapdebugError(`${where} ${reason}: the archive is refused.`);
  }
}
