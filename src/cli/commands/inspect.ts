// Looking inside a snapshot from the terminal: `inspect` (processes, files, sockets, mounts,
// statistics, and environment values only with --env) and `diff` (what changed between two).
import {
  diffSnapshots,
  diffText,
  formatBytes,
  formatDuration,
  getSnapshot,
  inspectSnapshot,
  snapshotArchiveFile,
  SnapdebugError,
  validateSnapshotRef,
  type ProcessInfo,
  type SnapshotContents,
  type SnapshotMeta,
} from '../../core';
import { defineCommand, flag, stringOption, type OptionValues } from '../context';
import { table } from '../output';

const sections = ['ps-tree', 'files', 'sockets', 'mounts', 'env', 'stats'] as const;
type Section = (typeof sections)[number];

export function pidOption(values: OptionValues): number | undefined {
  const text = stringOption(values, 'pid');
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new SnapdebugError(`--pid ${text}: give a process id (a positive number).`);
  return Number(text);
}

/** The sections asked for; none named means all (environment values still only with --env). */
function chosen(values: OptionValues): Set<Section> {
  const named = sections.filter((s) => flag(values, s));
  return new Set(named.length === 0 ? sections.filter((s) => s !== 'env') : named);
}

function selectProcess(process: ProcessInfo, show: Set<Section>): Record<string, unknown> {
  const { pid, ppid, command, args, cwd, exe, threads, state, files, sockets, env, envNames, residentBytes } = process;
  return {
    pid, ppid, command, args, cwd, exe, threads, state, residentBytes,
    ...(show.has('files') && { files }),
    ...(show.has('sockets') && { sockets }),
    ...(env ? { env } : { envNames }),
  };
}

export function jsonContents(contents: SnapshotContents, show: Set<Section>, pid: number | undefined): Record<string, unknown> {
  return {
    container: contents.container,
    processes: contents.processes.filter((p) => pid === undefined || p.pid === pid).map((p) => selectProcess(p, show)),
    ...(show.has('mounts') && { mounts: contents.mounts }),
    ...(show.has('stats') && { stats: contents.stats }),
  };
}

function tree(processes: ProcessInfo[]): string[] {
  const lines: string[] = [];
  const children = (ppid: number) => processes.filter((p) => p.ppid === ppid && p.pid !== ppid);
  const roots = processes.filter((p) => !processes.some((q) => q.pid === p.ppid));
  const walk = (p: ProcessInfo, depth: number) => {
    const threads = p.threads.length > 1 ? `  (${p.threads.length} threads)` : '';
    lines.push(`${'  '.repeat(depth)}${depth ? '└─ ' : ''}[${p.pid}] ${p.args.join(' ') || p.command}${threads}`);
    for (const child of children(p.pid)) walk(child, depth + 1);
  };
  for (const root of roots) walk(root, 0);
  return lines;
}

function human(contents: SnapshotContents, show: Set<Section>, pid: number | undefined): string {
  const c = contents.container;
  const out = [`${c.name ?? '?'}  image ${c.image ?? '?'}  runtime ${c.runtime ?? '?'}  id ${(c.id ?? '').slice(0, 12)}`];
  const processes = contents.processes.filter((p) => pid === undefined || p.pid === pid);
  if (show.has('ps-tree')) out.push('', 'processes:', ...tree(processes).map((l) => `  ${l}`));
  for (const p of processes) {
    if (show.has('files')) out.push('', `open files of ${p.pid} (${p.command}):`, ...table(p.files.map((f) => [f.fd, f.type, f.path])).split('\n').map((l) => `  ${l}`));
    if (show.has('sockets') && p.sockets.length > 0) {
      out.push('', `sockets of ${p.pid} (${p.command}):`);
      const rows = p.sockets.map((s) => [String(s.fd), s.protocol, s.state, `${s.source ?? ''}${s.sourcePort ? `:${s.sourcePort}` : ''}`, `${s.destination ?? ''}${s.destinationPort ? `:${s.destinationPort}` : ''}`]);
      out.push(...table(rows).split('\n').map((l) => `  ${l}`));
    }
    if (p.env) out.push('', `environment of ${p.pid} (${p.command}):`, ...Object.entries(p.env).map(([k, v]) => `  ${k}=${v}`));
    else if (show.has('ps-tree')) out.push('', `environment of ${p.pid}: ${p.envNames.length} variables (${p.envNames.join(', ')}); values hidden, --env shows them`);
  }
  if (show.has('mounts')) out.push('', 'mounts:', ...table(contents.mounts.map((m) => [m.destination, m.type, m.source])).split('\n').map((l) => `  ${l}`));
  if (show.has('stats')) {
    const s = contents.stats;
    const criu = s.criu;
    out.push('', `memory in the checkpoint: ${formatBytes(s.memoryBytes)} of ${formatBytes(s.archiveBytes)}`);
    if (criu) {
      out.push(`CRIU: freezing ${formatDuration(criu.freezingTimeUs / 1000)}, frozen ${formatDuration(criu.frozenTimeUs / 1000)}, memory dump ${formatDuration(criu.memdumpTimeUs / 1000)}, memory write ${formatDuration(criu.memwriteTimeUs / 1000)}, pages scanned ${criu.pagesScanned}, written ${criu.pagesWritten}`);
    }
  }
  return out.join('\n');
}

export const inspectCommand = defineCommand({
  name: 'inspect',
  usage: 'inspect SNAPSHOT [--ps-tree] [--files] [--sockets] [--mounts] [--env] [--stats] [--pid N]',
  summary: "Show a snapshot's processes, files, sockets and mounts without restoring it",
  options: {
    'ps-tree': { type: 'boolean', help: 'the process tree with arguments' },
    files: { type: 'boolean', help: 'open files of each process' },
    sockets: { type: 'boolean', help: 'sockets of each process' },
    mounts: { type: 'boolean', help: "the container's mounts" },
    env: { type: 'boolean', help: 'environment values (secrets: only shown with this flag)' },
    stats: { type: 'boolean', help: "CRIU's dump statistics" },
    pid: { type: 'string', value: 'N', help: 'only this process (as the container saw it)' },
  },
  positionals: [1, 1],
  parse: ({ positionals, values }) => ({ snapshot: validateSnapshotRef(positionals[0]!), pid: pidOption(values), show: chosen(values) }),
  async run({ core, out, signal }, { snapshot, pid, show }) {
    const meta = getSnapshot(core, snapshot);
    const contents = await inspectSnapshot(snapshotArchiveFile(core, meta), { env: show.has('env'), signal });
    if (pid !== undefined && !contents.processes.some((p) => p.pid === pid)) {
      throw new SnapdebugError(`${meta.id} has no process ${pid}; it has ${contents.processes.map((p) => p.pid).join(', ')}.`);
    }
    out.result(jsonContents(contents, show, pid), () => human(contents, show, pid));
  },
});

export const diffCommand = defineCommand({
  name: 'diff',
  usage: 'diff SNAPSHOT-A SNAPSHOT-B',
  summary: 'What changed between two snapshots: processes, arguments, files, sockets, memory',
  options: {},
  positionals: [2, 2],
  parse: ({ positionals }) => positionals.map(validateSnapshotRef),
  async run({ core, out, signal }, refs) {
    const [a, b] = refs.map((ref) => getSnapshot(core, ref)) as [SnapshotMeta, SnapshotMeta];
    const [before, after] = await Promise.all([inspectSnapshot(snapshotArchiveFile(core, a), { signal }), inspectSnapshot(snapshotArchiveFile(core, b), { signal })]);
    const diff = diffSnapshots(before, after);
    out.result({ from: a.id, to: b.id, ...diff }, () => `${a.id} → ${b.id}\n${diffText(diff)}`);
  },
});
