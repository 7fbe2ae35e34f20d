// A core file of one process of a snapshot, ready for gdb: the core (coreFile.ts), the program and
// libraries it mapped fetched from the container's image on the snapshot's source host
// (hostFiles.ts) under DIR/root, and DIR/gdbinit pointing gdb at all three, so that
// `gdb -batch -x DIR/gdbinit -ex bt` shows the backtrace here, with no debug host.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Core, WorkControl } from '../core';
import type { SnapshotMeta } from '../snapshot/store';
import { SnapdebugError } from '../util/errors';
import { writeCoreFile } from './coreFile';
import { fetchHostFiles, type FetchReport } from './hostFiles';

export interface SnapshotCoreRequest {
  pid: number;
  outDir: string;
  /** Fetch the program and libraries from the source host (default true). */
  fetchFiles?: boolean;
}

export interface SnapshotCoreResult {
  corePath: string;
  gdbinitPath: string;
  /** The program and libraries, at their container paths under this folder. */
  rootDir: string;
  program: string;
  threads: number;
  bytes: number;
  fetched: string[];
  /** Where the files came from: "image …" or "container …" on the source host. */
  fetchedFrom?: string;
  missing: FetchReport['missing'];
  /** argv that opens the core in gdb. */
  gdbCommand: string[];
}

/** `file` splits its argument like a shell (double quotes, escaped); `set` and `core-file` take the rest of the line as is. */
function quoted(path: string): string {
  return `"${path.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function gdbinitText(options: { rootDir: string; corePath: string; program?: string; libraryDirs: string[]; snapshot: string; pid: number }): string {
  return [
    `# Written by snapdebug: the core of process ${options.pid} of snapshot ${options.snapshot}.`,
    '# Use: gdb -x THIS-FILE   (or: gdb -batch -x THIS-FILE -ex bt)',
    'set pagination off',
    'set confirm off',
    `set sysroot ${options.rootDir}`,
    ...(options.libraryDirs.length ? [`set solib-search-path ${options.libraryDirs.join(':')}`] : []),
    ...(options.program ? [`file ${quoted(options.program)}`] : ['# the program was not fetched: symbols are missing']),
    `core-file ${options.corePath}`,
    '',
  ].join('\n');
}

/** Where the extension keeps a snapshot's core files: in the store (0700), removed with the snapshot. */
export function snapshotCoresFolder(core: Core, meta: Pick<SnapshotMeta, 'id'>): string {
  return core.store.coresDir(meta.id);
}

export async function coreFromSnapshot(core: Core, meta: SnapshotMeta, request: SnapshotCoreRequest, control: WorkControl = {}): Promise<SnapshotCoreResult> {
  if (!Number.isInteger(request.pid) || request.pid <= 0) throw new SnapdebugError(`"${request.pid}" is not a process id.`);
  const rootDir = join(request.outDir, 'root');
  let report: FetchReport & { from?: string } = { fetched: [], missing: [] };
  const image = meta.source.imageId ?? meta.source.image;
  const container = meta.source.containerId;
  const result = await writeCoreFile(
    { archivePath: core.store.archivePath(meta), pid: request.pid, outDir: request.outDir, filesRoot: rootDir, ...(control.signal && { signal: control.signal }) },
    async (_images, layout) => {
      const paths = [...new Set(layout.mappings.map((m) => m.path))];
      if (request.fetchFiles === false) {
        report = { fetched: [], missing: paths.map((path) => ({ path, reason: 'not fetched (asked not to)' })) };
        return;
      }
      if (!image && !container) {
        report = { fetched: [], missing: paths.map((path) => ({ path, reason: 'the snapshot names neither its image nor its container' })) };
        return;
      }
      control.progress?.({ phase: 'fetch', message: `Fetching ${paths.length} mapped files from ${meta.source.host}` });
      try {
        const sources = { ...(image && { image }), ...(container && { container }) };
        report = await fetchHostFiles(core.hosts.get(meta.source.host), sources, paths, rootDir, { ...(control.signal && { signal: control.signal }), log: core.log });
      } catch (error) {
        if (control.signal?.aborted) throw error;
        const reason = `could not read the image on ${meta.source.host}: ${(error as Error).message}`;
        report = { fetched: [], missing: paths.map((path) => ({ path, reason })) };
      }
    },
  );
  const programFetched = report.fetched.includes(result.program);
  const libraryDirs = [...new Set(report.fetched.filter((p) => p !== result.program).map((p) => join(rootDir, dirname(p))))];
  const gdbinitPath = join(request.outDir, 'gdbinit');
  const gdbinit = gdbinitText({
    rootDir,
    corePath: result.corePath,
    ...(programFetched && { program: join(rootDir, result.program) }),
    libraryDirs,
    snapshot: meta.id,
    pid: request.pid,
  });
  writeFileSync(gdbinitPath, gdbinit, { mode: 0o600 });
  return {
    corePath: result.corePath,
    gdbinitPath,
    rootDir,
    program: result.program,
    threads: result.threads,
    bytes: result.bytes,
    fetched: report.fetched,
    ...(report.from && { fetchedFrom: `${report.from} on ${meta.source.host}` }),
    missing: report.missing,
    gdbCommand: ['gdb', '-x', gdbinitPath],
  };
}
