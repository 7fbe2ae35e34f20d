// `snapdebug memory`: the memory areas of each process (--maps) and a search of their memory for
// text or a regular expression, streamed page by page from the archive so a 1 GiB snapshot is
// searched without holding it. Memory holds secrets: hits are returned to the caller, never logged.
import { scanCheckpoint, type CheckpointImages } from '../criu/checkpointImages';
import { u64n } from '../criu/image';
import { mapFlags, pageBytes, vmaStatus } from '../criu/names';
import { walkPages, type Pagemap } from '../criu/pagemap';
import { SnapdebugError } from '../util/errors';
import { describeFile, fileTable, type FileEntryMessage } from './files';
import { queryMatcher } from './matcher';
import { StreamSearch, type RawHit } from './streamSearch';
import type { MemoryArea, MemoryHit, ProcessMaps } from './model';
import { coreOf, mmOf, pstree, type VmaMessage } from './processes';

export interface MemorySearchRequest {
  pid?: number;
  text?: string;
  regex?: string;
  /** Bytes shown before and after each hit. */
  contextBytes?: number;
  /** Stop after this many hits. */
  maxHits?: number;
  signal?: AbortSignal;
}

export interface MemorySearchResult {
  hits: MemoryHit[];
  /** True when the search stopped at maxHits. */
  truncated: boolean;
  /** Bytes of memory searched. */
  searchedBytes: number;
  /** The processes searched. */
  pids: number[];
}

export const defaultContextBytes = 32;
export const defaultMaxHits = 1000;
const maxContextBytes = 4096;

export const hex = (value: number): string => `0x${value.toString(16)}`;

/** What /proc/PID/maps would print in its last column for a memory area. */
export function mappingName(vma: VmaMessage, files: Map<number, FileEntryMessage>): string {
  const status = vma.status ?? 0;
  if (status & (vmaStatus.filePrivate | vmaStatus.fileShared)) return describeFile(1, u64n(vma.shmid), files).path;
  if (status & vmaStatus.heap) return '[heap]';
  if (status & vmaStatus.stack || (vma.flags ?? 0) & mapFlags.growsDown) return '[stack]';
  if (status & vmaStatus.vdso) return '[vdso]';
  if (status & vmaStatus.vvar) return '[vvar]';
  if (status & vmaStatus.vsyscall) return '[vsyscall]';
  if (status & vmaStatus.sysvIpc) return '[sysvipc]';
  if (status & vmaStatus.anonShared) return '[shmem]';
  return '[anon]';
}

function permissions(vma: VmaMessage): string {
  const prot = vma.prot ?? 0;
  return `${prot & 1 ? 'r' : '-'}${prot & 2 ? 'w' : '-'}${prot & 4 ? 'x' : '-'}${(vma.flags ?? 0) & mapFlags.shared ? 's' : 'p'}`;
}

/** Bytes of [start, end) that a pagemap holds. */
function residentIn(map: Pagemap | undefined, start: number, end: number): number {
  let bytes = 0;
  for (const run of map?.runs ?? []) {
    if (!run.present) continue;
    const from = Math.max(start, run.address);
    const to = Math.min(end, run.address + run.pages * pageBytes);
    if (from < to) bytes += to - from;
  }
  return bytes;
}

export function areasOf(images: CheckpointImages, pid: number, files = fileTable(images.image('files.img'))): MemoryArea[] {
  const map = images.allPagemaps().get(pid);
  return (mmOf(images, pid)?.vmas ?? []).map((vma) => {
    const start = u64n(vma.start);
    const end = u64n(vma.end);
    return { start, end, permissions: permissions(vma), offset: u64n(vma.pgoff), mapping: mappingName(vma, files), residentBytes: residentIn(map, start, end) };
  });
}

function requirePid(images: CheckpointImages, pid: number | undefined): number[] {
  const pids = pstree(images).map((entry) => entry.pid ?? 0);
  if (pid === undefined) return pids;
  if (!pids.includes(pid)) throw new SnapdebugError(`The snapshot has no process ${pid}; it has ${pids.join(', ')}.`);
  return [pid];
}

export async function memoryMaps(archivePath: string, options: { pid?: number; signal?: AbortSignal } = {}): Promise<ProcessMaps[]> {
  const images = await scanCheckpoint(archivePath, options.signal ? { signal: options.signal } : {});
  const files = fileTable(images.image('files.img'));
  return requirePid(images, options.pid).map((pid) => ({ pid, command: coreOf(images, pid)?.tc?.comm ?? '', areas: areasOf(images, pid, files) }));
}

function toHit(pid: number, raw: RawHit, areas: MemoryArea[]): MemoryHit {
  const area = areas.find((a) => raw.address >= a.start && raw.address < a.end);
  const printable = [...raw.context].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
  return {
    pid,
    address: hex(raw.address),
    mapping: area?.mapping ?? '?',
    contextAddress: hex(raw.contextAddress),
    context: printable,
    contextHex: raw.context.toString('hex'),
    matchOffset: raw.address - raw.contextAddress,
    matchLength: raw.length,
  };
}

export async function searchMemory(archivePath: string, request: MemorySearchRequest): Promise<MemorySearchResult> {
  const matcher = queryMatcher(request);
  const contextBytes = Math.min(Math.max(0, request.contextBytes ?? defaultContextBytes), maxContextBytes);
  const maxHits = request.maxHits ?? defaultMaxHits;
  const hits: MemoryHit[] = [];
  const searched = new Set<number>();
  let truncated = false;
  let searchedBytes = 0;
  const images = await scanCheckpoint(archivePath, {
    ...(request.signal && { signal: request.signal }),
    pages: async (pagesId, body, seen) => {
      if (truncated) return 'stop';
      const map = seen.pagemapForPages(pagesId);
      if (!map) return 'later';
      if (request.pid !== undefined && map.pid !== request.pid) return 'skip';
      const areas = areasOf(seen, map.pid);
      const search = new StreamSearch(matcher, contextBytes, (raw) => {
        hits.push(toHit(map.pid, raw, areas));
        if (hits.length < maxHits) return true;
        truncated = true;
        return false;
      });
      searched.add(map.pid);
      await walkPages(map, body, (address, bytes) => {
        searchedBytes += bytes.length;
        search.feed(address, bytes);
        return !search.done;
      });
      search.flush();
      return truncated ? 'stop' : 'done';
    },
  });
  if (!truncated) requirePid(images, request.pid);
  return { hits, truncated, searchedBytes, pids: [...searched].sort((a, b) => a - b) };
}

/** A hit as a hex dump, 16 bytes a line, addresses on the left, text on the right. */
export function hexDump(hit: Pick<MemoryHit, 'contextHex' | 'contextAddress'>): string[] {
  const bytes = Buffer.from(hit.contextHex, 'hex');
  const base = BigInt(hit.contextAddress);
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(47);
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`  ${(base + BigInt(at)).toString(16).padStart(16, '0')}  ${hex}  |${text}|`);
  }
  return lines;
}
