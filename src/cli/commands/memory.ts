// A snapshot's memory from the terminal: `memory --maps` (each process's memory areas) and
// `memory --search TEXT | --regex RE` (hits with hex and text around them), and `core` (an ELF core
// file and a gdbinit, to read a process's state in gdb with no debug host).
import {
  coreFromSnapshot,
  defaultContextBytes,
  defaultMaxHits,
  formatBytes,
  getSnapshot,
  hexDump,
  memoryMaps,
  searchMemory,
  shellJoin,
  snapshotArchiveFile,
  SnapdebugError,
  validateMemoryQuery,
  validateSnapshotRef,
} from '../../core';
import { defineCommand, flag, required, stringOption, type OptionValues } from '../context';
import { table } from '../output';
import { pidOption } from './inspect';

function count(values: OptionValues, name: string, fallback: number): number {
  const text = stringOption(values, name);
  if (text === undefined) return fallback;
  if (!/^\d{1,7}$/.test(text)) throw new SnapdebugError(`--${name} ${text}: give a number.`);
  return Number(text);
}

type MemoryRequest = { snapshot: string; pid: number | undefined } & (
  | { mode: 'maps' }
  | { mode: 'search'; query: { text: string } | { regex: string }; contextBytes: number; maxHits: number }
);

export const memoryCommand = defineCommand({
  name: 'memory',
  usage: 'memory SNAPSHOT [--pid N] (--search TEXT | --regex RE | --maps) [--context BYTES] [--max-hits N]',
  summary: "Search a snapshot's process memory, or list its memory areas, without restoring it",
  options: {
    pid: { type: 'string', value: 'N', help: 'only this process (as the container saw it)' },
    search: { type: 'string', value: 'TEXT', help: 'text to find (UTF-8)' },
    regex: { type: 'string', value: 'RE', help: 'a JavaScript regular expression to find (matches reach at most 4 KiB)' },
    maps: { type: 'boolean', help: 'list memory areas instead of searching' },
    context: { type: 'string', value: 'BYTES', help: `bytes shown around each hit (default ${defaultContextBytes})` },
    'max-hits': { type: 'string', value: 'N', help: `stop after this many hits (default ${defaultMaxHits})` },
  },
  positionals: [1, 1],
  parse: ({ positionals, values }): MemoryRequest => {
    const snapshot = validateSnapshotRef(positionals[0]!);
    const pid = pidOption(values);
    const search = stringOption(values, 'search');
    const regex = stringOption(values, 'regex');
    const modes = [search !== undefined, regex !== undefined, flag(values, 'maps')].filter(Boolean).length;
    if (modes !== 1) throw new SnapdebugError('give exactly one of --search TEXT, --regex RE or --maps.');
    if (flag(values, 'maps')) return { snapshot, pid, mode: 'maps' };
    const query = search !== undefined ? { text: search } : { regex: regex! };
    validateMemoryQuery(query);
    return { snapshot, pid, mode: 'search', query, contextBytes: count(values, 'context', defaultContextBytes), maxHits: count(values, 'max-hits', defaultMaxHits) };
  },
  async run({ core, out, signal }, request) {
    const archive = snapshotArchiveFile(core, getSnapshot(core, request.snapshot));
    const pid = request.pid;
    if (request.mode === 'maps') {
      const maps = await memoryMaps(archive, { ...(pid !== undefined && { pid }), signal });
      const hex = (n: number) => n.toString(16);
      out.result({ processes: maps.map((m) => ({ ...m, areas: m.areas.map((a) => ({ ...a, start: `0x${hex(a.start)}`, end: `0x${hex(a.end)}` })) })) }, () =>
        maps
          .map((m) => `process ${m.pid} (${m.command}):\n${table(m.areas.map((a) => [`${hex(a.start)}-${hex(a.end)}`, a.permissions, hex(a.offset), formatBytes(a.residentBytes), a.mapping])).split('\n').map((l) => `  ${l}`).join('\n')}`)
          .join('\n\n'),
      );
      return;
    }
    const result = await searchMemory(archive, { ...request.query, ...(pid !== undefined && { pid }), contextBytes: request.contextBytes, maxHits: request.maxHits, signal });
    out.result(result, () => {
      const lines = result.hits.flatMap((hit) => [`process ${hit.pid} at ${hit.address} in ${hit.mapping}`, ...hexDump(hit)]);
      const summary = `${result.hits.length} hit${result.hits.length === 1 ? '' : 's'}${result.truncated ? ' (stopped at --max-hits)' : ''} in ${formatBytes(result.searchedBytes)} of memory of process${result.pids.length === 1 ? '' : 'es'} ${result.pids.join(', ')}`;
      return [...lines, summary].join('\n');
    });
  },
});

export const coreCommand = defineCommand({
  name: 'core',
  usage: 'core SNAPSHOT --pid N --out DIR [--no-fetch]',
  summary: 'Write an ELF core file of a process (and a gdbinit) from a snapshot: gdb -x DIR/gdbinit',
  options: {
    pid: { type: 'string', value: 'N', help: 'the process (as the container saw it)' },
    out: { type: 'string', value: 'DIR', help: 'folder for core.PID, gdbinit and the fetched program and libraries' },
    fetch: { type: 'boolean', onByDefault: true, help: "fetch the program and libraries from the container's image on the source host" },
  },
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const snapshot = validateSnapshotRef(positionals[0]!);
    const pid = pidOption(values);
    if (pid === undefined) throw new SnapdebugError('--pid is missing: the process whose core to write.');
    return { snapshot, pid, outDir: required(values, 'out', 'the folder to write the core into'), fetchFiles: values.fetch !== false };
  },
  async run({ core, out, signal }, { snapshot, pid, outDir, fetchFiles }) {
    const meta = getSnapshot(core, snapshot);
    const result = await coreFromSnapshot(core, meta, { pid, outDir, fetchFiles }, { signal, progress: (e) => out.progress(e) });
    out.result(result, () =>
      [
        `wrote ${result.corePath} (${formatBytes(result.bytes)}, ${result.threads} thread${result.threads === 1 ? '' : 's'}) and ${result.gdbinitPath}`,
        `fetched ${result.fetched.length} file${result.fetched.length === 1 ? '' : 's'} into ${result.rootDir}${result.fetchedFrom ? ` from ${result.fetchedFrom}` : ''}`,
        ...result.missing.map((m) => `not fetched: ${m.path}: ${m.reason}`),
        `it holds process memory: delete the folder when done`,
        `open it with: ${shellJoin(result.gdbCommand)}`,
      ].join('\n'),
    );
  },
});
