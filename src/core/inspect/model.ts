// What snapdebug shows of a snapshot's insides, read from the archive alone: the shapes both faces
// render and `--json` prints. PIDs are those the container saw (CRIU dumps its PID namespace).
import type { CriuDumpStats } from '../archive/criuStats';

export interface OpenFile {
  /** The descriptor number, or "cwd" / "root" / "exe" for the process's directories and program. */
  fd: string;
  /** CRIU's kind: REG, PIPE, INETSK, UNIXSK, EVENTPOLL, … */
  type: string;
  /** A path, or what /proc/PID/fd would show (pipe:[123], socket:[456], anon_inode:[eventpoll]). */
  path: string;
  /** The file offset, for regular files. */
  position?: number;
}

export interface SocketInfo {
  fd: number;
  /** IPv4, IPv6, UNIX, NETLINK, PACKET */
  family: string;
  /** TCP, UDP, STREAM, DGRAM, … */
  protocol: string;
  state: string;
  source?: string;
  sourcePort?: number;
  destination?: string;
  destinationPort?: number;
  /** socket:[inode], as /proc shows it. */
  inode: number;
  sendBufferBytes?: number;
  receiveBufferBytes?: number;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The kernel's short name (comm), 15 characters at most. */
  command: string;
  /** argv, read from the process's own memory. */
  args: string[];
  cwd: string;
  exe: string;
  /** Thread IDs, the main thread first. */
  threads: number[];
  state: string;
  uid?: number;
  gid?: number;
  files: OpenFile[];
  sockets: SocketInfo[];
  /** Only when asked for (`--env`, "Show Values"): environment values are secrets. */
  env?: Record<string, string>;
  /** The environment's variable names (shown even when the values are not). */
  envNames: string[];
  /** Bytes of memory the checkpoint holds for this process (its dumped pages). */
  residentBytes: number;
  /** Bytes of address space mapped (the sum of its memory areas). */
  mappedBytes: number;
}

export interface MountInfo {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface CheckpointedContainer {
  name?: string;
  id?: string;
  image?: string;
  runtime?: string;
  created?: string;
  checkpointedAt?: string;
}

export interface CheckpointStats {
  criu?: CriuDumpStats;
  /** Bytes of the archive's entries once decompressed. */
  archiveBytes: number;
  /** Bytes of the pages images: the memory the checkpoint carries. */
  memoryBytes: number;
}

export interface SnapshotContents {
  container: CheckpointedContainer;
  processes: ProcessInfo[];
  mounts: MountInfo[];
  stats: CheckpointStats;
}

/** One memory area of a process, as /proc/PID/maps would show it. */
export interface MemoryArea {
  start: number;
  end: number;
  /** r, w, x and p (private) or s (shared), as in /proc/PID/maps. */
  permissions: string;
  offset: number;
  /** The file mapped, or [heap], [stack], [vdso], [vvar], [anon]. */
  mapping: string;
  /** Bytes of this area the checkpoint holds. */
  residentBytes: number;
}

export interface ProcessMaps {
  pid: number;
  command: string;
  areas: MemoryArea[];
}

export interface MemoryHit {
  pid: number;
  /** Address of the first byte that matched, as hex (0x…). */
  address: string;
  mapping: string;
  /** Address of the first byte of `context`. */
  contextAddress: string;
  /** The bytes around the match: printable ASCII as is, everything else as ".". */
  context: string;
  contextHex: string;
  /** Where the match begins and how long it is, inside `context`. */
  matchOffset: number;
  matchLength: number;
}
