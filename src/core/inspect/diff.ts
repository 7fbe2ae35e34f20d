// `snapdebug diff A B`: what changed inside a container between two snapshots — processes that
// appeared or went away, changed arguments, files and sockets opened and closed, memory per
// process grown or shrunk. A process is the same one in both when its PID and name match (a PID
// reused by another program counts as one gone and one new).
import { formatBytes } from '../util/format';
import type { OpenFile, ProcessInfo, SnapshotContents, SocketInfo } from './model';

export interface ProcessSummary {
  pid: number;
  ppid: number;
  command: string;
  args: string[];
  files: OpenFile[];
  sockets: SocketInfo[];
  residentBytes: number;
}

export interface ProcessChanges {
  pid: number;
  command: string;
  args?: { before: string[]; after: string[] };
  filesOpened: OpenFile[];
  filesClosed: OpenFile[];
  socketsOpened: SocketInfo[];
  socketsClosed: SocketInfo[];
  memory?: { beforeBytes: number; afterBytes: number; changeBytes: number };
}

export interface SnapshotDiff {
  processesAdded: ProcessSummary[];
  processesGone: ProcessSummary[];
  /** Processes in both snapshots that changed (unchanged ones are left out). */
  changed: ProcessChanges[];
}

function summary(process: ProcessInfo): ProcessSummary {
  const { pid, ppid, command, args, files, sockets, residentBytes } = process;
  return { pid, ppid, command, args, files, sockets, residentBytes };
}

const fileKey = (file: OpenFile) => `${file.fd}\0${file.type}\0${file.path}`;
const socketKey = (socket: SocketInfo) =>
  [socket.fd, socket.family, socket.protocol, socket.state, socket.source, socket.sourcePort, socket.destination, socket.destinationPort].join('\0');

function difference<T>(from: T[], without: T[], key: (item: T) => string): T[] {
  const keys = new Set(without.map(key));
  return from.filter((item) => !keys.has(key(item)));
}

const sameArgs = (a: string[], b: string[]) => a.length === b.length && a.every((arg, i) => arg === b[i]);

export function diffSnapshots(before: SnapshotContents, after: SnapshotContents): SnapshotDiff {
  const identity = (process: ProcessInfo) => `${process.pid}\0${process.command}`;
  const earlier = new Map(before.processes.map((p) => [identity(p), p]));
  const later = new Map(after.processes.map((p) => [identity(p), p]));
  const changed: ProcessChanges[] = [];
  for (const [key, now] of later) {
    const then = earlier.get(key);
    if (!then) continue;
    // Descriptors of directories and the program do not open or close: leave them out of the diff.
    const real = (files: OpenFile[]) => files.filter((f) => /^\d+$/.test(f.fd));
    const changes: ProcessChanges = {
      pid: now.pid,
      command: now.command,
      filesOpened: difference(real(now.files), real(then.files), fileKey),
      filesClosed: difference(real(then.files), real(now.files), fileKey),
      socketsOpened: difference(now.sockets, then.sockets, socketKey),
      socketsClosed: difference(then.sockets, now.sockets, socketKey),
      ...(!sameArgs(then.args, now.args) && { args: { before: then.args, after: now.args } }),
      ...(then.residentBytes !== now.residentBytes && {
        memory: { beforeBytes: then.residentBytes, afterBytes: now.residentBytes, changeBytes: now.residentBytes - then.residentBytes },
      }),
    };
    const anything = changes.args || changes.memory || changes.filesOpened.length || changes.filesClosed.length || changes.socketsOpened.length || changes.socketsClosed.length;
    if (anything) changed.push(changes);
  }
  return {
    processesAdded: [...later].filter(([key]) => !earlier.has(key)).map(([, p]) => summary(p)),
    processesGone: [...earlier].filter(([key]) => !later.has(key)).map(([, p]) => summary(p)),
    changed,
  };
}

/** The diff as lines people read: + new, - gone, ~ changed. */
export function diffText(diff: SnapshotDiff): string {
  const lines: string[] = [];
  for (const p of diff.processesAdded) {
    lines.push(`+ process ${p.pid} (${p.command}) ${p.args.join(' ')}`);
    for (const f of p.files.filter((f) => /^\d+$/.test(f.fd))) lines.push(`    fd ${f.fd} ${f.type} ${f.path}`);
  }
  for (const p of diff.processesGone) lines.push(`- process ${p.pid} (${p.command}) ${p.args.join(' ')}`);
  for (const c of diff.changed) {
    lines.push(`~ process ${c.pid} (${c.command})`);
    if (c.args) lines.push(`    arguments: ${c.args.before.join(' ')}  →  ${c.args.after.join(' ')}`);
    for (const f of c.filesOpened) lines.push(`    + fd ${f.fd} ${f.type} ${f.path}`);
    for (const f of c.filesClosed) lines.push(`    - fd ${f.fd} ${f.type} ${f.path}`);
    for (const s of c.socketsOpened) lines.push(`    + socket fd ${s.fd} ${s.protocol} ${s.state} ${s.source ?? ''}:${s.sourcePort ?? ''}`);
    for (const s of c.socketsClosed) lines.push(`    - socket fd ${s.fd} ${s.protocol} ${s.state} ${s.source ?? ''}:${s.sourcePort ?? ''}`);
    if (c.memory) lines.push(`    memory ${formatBytes(c.memory.beforeBytes)} → ${formatBytes(c.memory.afterBytes)} (${c.memory.changeBytes >= 0 ? '+' : '-'}${formatBytes(Math.abs(c.memory.changeBytes))})`);
  }
  return lines.length ? lines.join('\n') : 'no differences in processes, files, sockets or memory';
}
