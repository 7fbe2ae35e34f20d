// `snapdebug core`: an ELF core file of one process, built from the checkpoint alone. Its memory
// areas, registers (every thread), auxiliary vector and file mappings come from CRIU's images;
// the pages are written into place as they stream out of the archive, so memory stays flat. Pages
// of a mapped file that the process never changed are not in the checkpoint: they are filled in
// from the program and libraries fetched from the container's image, when those are at hand.
import { mkdirSync, openSync, closeSync, readSync, writeSync, ftruncateSync, existsSync, fstatSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { scanCheckpoint, type CheckpointImages } from '../criu/checkpointImages';
import { u64, u64n } from '../criu/image';
import { pageBytes, vmaStatus } from '../criu/names';
import { RangeCollector, walkPages, type Pagemap } from '../criu/pagemap';
import { SnapdebugError } from '../util/errors';
import { describeFile, fileTable } from '../inspect/files';
import { coreOf, mmOf, pstree, splitStrings, stringRanges, type MmMessage, type VmaMessage } from '../inspect/processes';
import { coreHeaders, layoutCore, type LoadSegment } from './elf';
import { coreNotes, type FileMapping, type ThreadState, type X86Registers } from './notes';

export interface CoreLayout {
  pid: number;
  segments: LoadSegment[];
  vmas: VmaMessage[];
  mappings: FileMapping[];
  notesOffset: number;
}

const isFileBacked = (vma: VmaMessage) => ((vma.status ?? 0) & (vmaStatus.filePrivate | vmaStatus.fileShared)) !== 0;

function hasPages(map: Pagemap | undefined, start: number, end: number): boolean {
  return (map?.runs ?? []).some((run) => run.present && run.address < end && run.address + run.pages * pageBytes > start);
}

/** Which areas the core carries: all but unreadable ones and files the process never wrote to. */
export function planCore(images: CheckpointImages, pid: number, mm: MmMessage): CoreLayout {
  const files = fileTable(images.image('files.img'));
  const map = images.allPagemaps().get(pid);
  const vmas = mm.vmas ?? [];
  const segments = vmas.map((vma): LoadSegment => {
    const start = u64n(vma.start);
    const end = u64n(vma.end);
    const status = vma.status ?? 0;
    const unreadable = (status & (vmaStatus.vvar | vmaStatus.vsyscall)) !== 0 || (vma.prot ?? 0) === 0;
    const withContents = !unreadable && (!isFileBacked(vma) || hasPages(map, start, end));
    return { start, end, prot: vma.prot ?? 0, withContents, fileOffset: 0 };
  });
  const mappings = vmas.filter(isFileBacked).map((vma) => ({
    start: u64n(vma.start),
    end: u64n(vma.end),
    offset: u64n(vma.pgoff),
    path: describeFile(1, u64n(vma.shmid), files).path,
  }));
  return { pid, segments, vmas, mappings, notesOffset: layoutCore(segments) };
}

/** Writes pages into their segments' places in the open core file. */
export function pageWriter(fd: number, layout: CoreLayout): (address: number, bytes: Buffer) => void {
  // A run of pages may cross from one memory area into the next (CRIU merges adjacent runs).
  return (address, bytes) => {
    let at = 0;
    while (at < bytes.length) {
      const here = address + at;
      const segment = layout.segments.find((s) => here >= s.start && here < s.end);
      const room = segment ? Math.min(bytes.length - at, segment.end - here) : Math.min(bytes.length - at, pageBytes);
      // Pages outside any area, or of an area left out, have nowhere to go.
      if (segment?.withContents) writeSync(fd, bytes, at, room, segment.fileOffset + (here - segment.start));
      at += room;
    }
  };
}

/**
 * Fills the pages a file-backed area kept unchanged from its file (the checkpoint does not carry
 * them), reading the fetched copy under `root`. Returns the areas whose file was not at hand.
 */
export function fillFromFiles(fd: number, layout: CoreLayout, map: Pagemap | undefined, root: string | undefined): string[] {
  const missing = new Set<string>();
  const present = (address: number) => (map?.runs ?? []).some((run) => run.present && address >= run.address && address < run.address + run.pages * pageBytes);
  layout.vmas.forEach((vma, i) => {
    const segment = layout.segments[i]!;
    if (!segment.withContents || !isFileBacked(vma)) return;
    const mapping = layout.mappings.find((m) => m.start === segment.start)!;
    const local = root ? join(root, mapping.path) : undefined;
    if (!local || !existsSync(local)) {
      missing.add(mapping.path);
      return;
    }
    const source = openSync(local, 'r');
    try {
      const page = Buffer.alloc(pageBytes);
      for (let address = segment.start; address < segment.end; address += pageBytes) {
        if (present(address)) continue;
        const read = readSync(source, page, 0, pageBytes, mapping.offset + (address - segment.start));
        if (read > 0) writeSync(fd, page, 0, read, segment.fileOffset + (address - segment.start));
      }
    } finally {
      closeSync(source);
    }
  });
  return [...missing];
}

export interface CoreFileRequest {
  archivePath: string;
  pid: number;
  /** Folder for core.PID (created 0700; the core holds the process's memory). */
  outDir: string;
  /** The program and libraries, at their container paths under this folder, when fetched. */
  filesRoot?: string;
  signal?: AbortSignal;
}

export interface CoreFileResult {
  corePath: string;
  bytes: number;
  threads: number;
  /** The program and the files mapped into the process, as the container saw them. */
  program: string;
  mappedFiles: string[];
  /** Files whose unchanged pages could not be filled in (not fetched). */
  unfilled: string[];
}

function threadStates(images: CheckpointImages, tids: number[]): ThreadState[] {
  return tids.map((tid) => {
    const message = coreOf(images, tid) as { threadInfo?: X86Registers; threadCore?: { blkSigset?: unknown }; mtype?: number } | undefined;
    if (!message?.threadInfo) throw new SnapdebugError(`core-${tid}.img holds no x86_64 registers: snapdebug writes x86_64 core files only.`);
    return { tid, registers: message.threadInfo, blockedSignals: u64(message.threadCore?.blkSigset as number | undefined) };
  });
}

/** Builds the core: one pass over the archive for the memory, then notes and headers. */
export async function writeCoreFile(request: CoreFileRequest, fetchAfterScan?: (images: CheckpointImages, layout: CoreLayout) => Promise<void>): Promise<CoreFileResult> {
  mkdirSync(request.outDir, { recursive: true, mode: 0o700 });
  const corePath = join(request.outDir, `core.${request.pid}`);
  const fd = openSync(corePath, 'w', 0o600);
  if ((fstatSync(fd).mode & 0o077) !== 0) chmodSync(corePath, 0o600);
  try {
    let layout: CoreLayout | undefined;
    let strings = new RangeCollector([]);
    const images = await scanCheckpoint(request.archivePath, {
      ...(request.signal && { signal: request.signal }),
      pages: async (pagesId, body, seen) => {
        const map = seen.pagemapForPages(pagesId);
        if (!map) return 'later';
        if (map.pid !== request.pid) return 'skip';
        const mm = mmOf(seen, request.pid);
        if (!mm) return 'later';
        strings = new RangeCollector(stringRanges(mm).slice(0, 1));
        layout = planCore(seen, request.pid, mm);
        const write = pageWriter(fd, layout);
        await walkPages(map, body, (address, bytes) => {
          write(address, bytes);
          strings.visit(address, bytes);
        });
        return 'done';
      },
    });
    const entry = pstree(images).find((p) => p.pid === request.pid);
    if (!entry) {
      const pids = pstree(images).map((p) => p.pid);
      throw new SnapdebugError(`The snapshot has no process ${request.pid}.`, { fix: { text: `Pick one of its processes: ${pids.join(', ') || 'it holds none'}.` } });
    }
    const mm = mmOf(images, request.pid);
    if (!mm) throw new SnapdebugError(`The snapshot has no memory image for process ${request.pid}.`);
    layout ??= planCore(images, request.pid, mm);
    await fetchAfterScan?.(images, layout);
    const unfilled = fillFromFiles(fd, layout, images.allPagemaps().get(request.pid), request.filesRoot);
    const core = coreOf(images, request.pid) as { tc?: { comm?: string }; threadCore?: { creds?: { uid?: number; gid?: number } } } | undefined;
    const tids = entry.threads?.length ? [request.pid, ...entry.threads.filter((t) => t !== request.pid)] : [request.pid];
    const args = splitStrings(strings.bytes(0));
    const notes = coreNotes(
      {
        pid: request.pid, ppid: entry.ppid ?? 0, pgid: entry.pgid ?? 0, sid: entry.sid ?? 0,
        uid: core?.threadCore?.creds?.uid ?? 0, gid: core?.threadCore?.creds?.gid ?? 0, command: core?.tc?.comm ?? '', args,
      },
      threadStates(images, tids),
      mm.mmSavedAuxv ?? [],
      layout.mappings,
    );
    writeSync(fd, notes, 0, notes.length, layout.notesOffset);
    const headers = coreHeaders(layout.segments, layout.notesOffset, notes.length);
    writeSync(fd, headers, 0, headers.length, 0);
    const bytes = layout.notesOffset + notes.length;
    ftruncateSync(fd, bytes);
    const files = fileTable(images.image('files.img'));
    return {
      corePath,
      bytes,
      threads: tids.length,
      program: mm.exeFileId !== undefined ? describeFile(1, mm.exeFileId, files).path : '',
      mappedFiles: [...new Set(layout.mappings.map((m) => m.path))],
      unfilled,
    };
  } finally {
    closeSync(fd);
  }
}
