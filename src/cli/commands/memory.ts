// A snapshot's memory from the terminal: `memory --maps` (each process's memory areas) and
// `memory --search TEXT | --regex RE` (hits with hex and text around them), and `core` (an ELF core
// file and a gdbinit, to read a process's state in gdb with no debug host).
import { coreFromSnapshot, defaultContextBytes, defaultMaxHits, hexDump, memoryMaps, searchMemory } from '../../core/index';
import { SnapdebugError } from '../../core/util/errors';
import { formatBytes } from '../../core/util/format';
import { shellJoin } from '../../core/util/quote';
import { flag, stringOption, type CliCommand, type OptionValues } from '../context';
import { table } from '../output';
import { pidOption } from './inspect';

function count(values: OptionValues, name: string, fallback: number): number {
  const text = stringOption(values, name);
  if (text === undefined) return fallback;
  if (!/^\d{1,7}$/.test(text)) throw new SnapdebugError(`--${name} ${text}: give a number.`);
  return Number(text);
}

export const memoryCommand: CliCommand = {
  name: 'memory',
  usage: 'memory SNAPSHOT [--pid N] (--search TEXT | --regex RE | --maps) [--context BYTES] [--max-hits N]',
  summary: "Search a snapshot's process memory, or list its memory areas, without restoring it",
  options: {
    pid: { type: 'string', help: 'only this process (as the container saw it)' },
    search: { type: 'string', help: 'text to find (UTF-8)' },
    regex: { type: 'string', help: 'a JavaScript regular expression to find (matches reach at most 4 KiB)' },
    maps: { type: 'boolean', help: 'list memory areas instead of searching' },
    context: { type: 'string', help: `bytes shown around each hit (default ${defaultContextBytes})` },
    'max-hits': { type: 'string', help: `stop after this many hits (default ${defaultMaxHits})` },
  },
  positionals: [1, 1],
  async run({ core, out, positionals, values, signal }) {
    const meta = core.store.get(positionals[0]!);
    const pid = pidOption(values);
    const archive = core.store.archivePath(meta);
    const search = stringOption(values, 'search');
    const regex = stringOption(values, 'regex');
    const modes = [search !== undefined, regex !== undefined, flag(values, 'maps')].filter(Boolean).length;
    if (modes !== 1) throw new SnapdebugError('memory needs exactly one of --search TEXT, --regex RE or --maps.');
    if (flag(values, 'maps')) {
      const maps = await memoryMaps(archive, { ...(pid !== undefined && { pid }), signal });
      const hex = (n: number) => n.toString(16);
      out.result({ processes: maps.map((m) => ({ ...m, areas: m.areas.map((a) => ({ ...a, start: `0x${hex(a.start)}`, end: `0x${hex(a.end)}` })) })) }, () =>
        maps
          .map((m) => `process ${m.pid} (${m.command}):\n${table(m.areas.map((a) => [`${hex(a.start)}-${hex(a.end)}`, a.permissions, hex(a.offset), formatBytes(a.residentBytes), a.mapping])).split('\n').map((l) => `  ${l}`).join('\n')}`)
          .join('\n\n'),
      );
      return;
    }
    const result = await searchMemory(archive, {
      ...(search !== undefined && { text: search }),
      ...(regex !== undefined && { regex }),
      ...(pid !== undefined && { pid }),
      contextBytes: count(values, 'context', defaultContextBytes),
      maxHits: count(values, 'max-hits', defaultMaxHits),
      signal,
    });
    out.result(result, () => {
      const lines = result.hits.flatMap((hit) => [`process ${hit.pid} at ${hit.address} in ${hit.mapping}`, ...hexDump(hit)]);
      const summary = `${result.hits.length} hit${result.hits.length === 1 ? '' : 's'}${result.truncated ? ' (stopped at --max-hits)' : ''} in ${formatBytes(result.searchedBytes)} of memory of process${result.pids.length === 1 ? '' : 'es'} ${result.pids.join(', ')}`;
      return [...lines, summary].join('\n');
    });
  },
};

export const coreCommand: CliCommand = {
  name: 'core',
  usage: 'core SNAPSHOT --pid N --out DIR [--no-fetch]',
  summary: 'Write an ELF core file of a process (and a gdbinit) from a snapshot: gdb -x DIR/gdbinit',
  options: {
    pid: { type: 'string', help: 'the process (as the container saw it)' },
    out: { type: 'string', help: 'folder for core.PID, gdbinit and the fetched program and libraries' },
    'no-fetch': { type: 'boolean', help: "do not fetch the program and libraries from the container's image on the source host" },
  },
  positionals: [1, 1],
  async run({ core, out, positionals, values, signal }) {
    const pid = pidOption(values);
    const dir = stringOption(values, 'out');
    if (pid === undefined || dir === undefined) throw new SnapdebugError('core needs --pid N and --out DIR.');
    const meta = core.store.get(positionals[0]!);
    const result = await coreFromSnapshot(core, meta, { pid, outDir: dir, fetchFiles: !flag(values, 'no-fetch') }, { signal, progress: (e) => out.progress(e) });
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
};
