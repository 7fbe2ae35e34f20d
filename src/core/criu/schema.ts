// The subset of CRIU's image messages that snapdebug reads, described for protobufjs. Written from
// CRIU's documented image format (criu/images/*.proto in checkpoint-restore/criu: core.proto,
// core-x86.proto, creds.proto, mm.proto, vma.proto, pagemap.proto, pstree.proto, fdinfo.proto,
// regfile.proto, sk-inet.proto, sk-unix.proto, sk-opts.proto, pipe.proto, fifo.proto, fs.proto,
// inventory.proto, memfd.proto, tty.proto), field numbers as CRIU writes them. Only the fields we
// use are named: protobuf skips the rest. Every field is optional here, even where CRIU says
// required: archives are untrusted input, and a missing field must mean "unknown", not a throw.
import protobuf from 'protobufjs/light';

type FieldSpec = [id: number, type: string, rule?: 'repeated'];

function message(fields: Record<string, FieldSpec>): protobuf.IType {
  return {
    fields: Object.fromEntries(
      Object.entries(fields).map(([name, [id, type, rule]]) => [name, { id, type, ...(rule && { rule }) }]),
    ),
  };
}

const descriptions = {
  // inventory.proto
  InventoryEntry: message({ imgVersion: [1, 'uint32'], rootIds: [3, 'TaskKobjIdsEntry'], dumpUptime: [8, 'uint64'] }),
  // pstree.proto
  PstreeEntry: message({ pid: [1, 'uint32'], ppid: [2, 'uint32'], pgid: [3, 'uint32'], sid: [4, 'uint32'], threads: [5, 'uint32', 'repeated'] }),
  // core.proto
  TaskKobjIdsEntry: message({ vmId: [1, 'uint32'], filesId: [2, 'uint32'], fsId: [3, 'uint32'], sighandId: [4, 'uint32'], pidNsId: [5, 'uint32'], netNsId: [6, 'uint32'], mntNsId: [9, 'uint32'] }),
  TaskCoreEntry: message({ taskState: [1, 'uint32'], exitCode: [2, 'uint32'], personality: [3, 'uint32'], flags: [4, 'uint32'], blkSigset: [5, 'uint64'], comm: [6, 'string'] }),
  ThreadCoreEntry: message({ blkSigset: [6, 'uint64'], creds: [10, 'CredsEntry'] }),
  CredsEntry: message({ uid: [1, 'uint32'], gid: [2, 'uint32'], euid: [3, 'uint32'], egid: [4, 'uint32'] }),
  CoreEntry: message({ mtype: [1, 'uint32'], threadInfo: [2, 'ThreadInfoX86'], tc: [3, 'TaskCoreEntry'], ids: [4, 'TaskKobjIdsEntry'], threadCore: [5, 'ThreadCoreEntry'] }),
  // core-x86.proto
  ThreadInfoX86: message({ clearTidAddr: [1, 'uint64'], gpregs: [2, 'UserX86RegsEntry'], fpregs: [3, 'UserX86FpregsEntry'] }),
  UserX86RegsEntry: message({
    r15: [1, 'uint64'], r14: [2, 'uint64'], r13: [3, 'uint64'], r12: [4, 'uint64'], bp: [5, 'uint64'], bx: [6, 'uint64'],
    r11: [7, 'uint64'], r10: [8, 'uint64'], r9: [9, 'uint64'], r8: [10, 'uint64'], ax: [11, 'uint64'], cx: [12, 'uint64'],
    dx: [13, 'uint64'], si: [14, 'uint64'], di: [15, 'uint64'], origAx: [16, 'uint64'], ip: [17, 'uint64'], cs: [18, 'uint64'],
    flags: [19, 'uint64'], sp: [20, 'uint64'], ss: [21, 'uint64'], fsBase: [22, 'uint64'], gsBase: [23, 'uint64'],
    ds: [24, 'uint64'], es: [25, 'uint64'], fs: [26, 'uint64'], gs: [27, 'uint64'], mode: [28, 'uint32'],
  }),
  UserX86FpregsEntry: message({
    cwd: [1, 'uint32'], swd: [2, 'uint32'], twd: [3, 'uint32'], fop: [4, 'uint32'], rip: [5, 'uint64'], rdp: [6, 'uint64'],
    mxcsr: [7, 'uint32'], mxcsrMask: [8, 'uint32'], stSpace: [9, 'uint32', 'repeated'], xmmSpace: [10, 'uint32', 'repeated'],
    xsave: [13, 'UserX86XsaveEntry'],
  }),
  UserX86XsaveEntry: message({ xstateBv: [1, 'uint64'], ymmhSpace: [2, 'uint32', 'repeated'] }),
  // mm.proto, vma.proto
  MmEntry: message({
    mmStartCode: [1, 'uint64'], mmEndCode: [2, 'uint64'], mmStartData: [3, 'uint64'], mmEndData: [4, 'uint64'],
    mmStartStack: [5, 'uint64'], mmStartBrk: [6, 'uint64'], mmBrk: [7, 'uint64'], mmArgStart: [8, 'uint64'],
    mmArgEnd: [9, 'uint64'], mmEnvStart: [10, 'uint64'], mmEnvEnd: [11, 'uint64'], exeFileId: [12, 'uint32'],
    mmSavedAuxv: [13, 'uint64', 'repeated'], vmas: [14, 'VmaEntry', 'repeated'],
  }),
  VmaEntry: message({ start: [1, 'uint64'], end: [2, 'uint64'], pgoff: [3, 'uint64'], shmid: [4, 'uint64'], prot: [5, 'uint32'], flags: [6, 'uint32'], status: [7, 'uint32'] }),
  // pagemap.proto
  PagemapHead: message({ pagesId: [1, 'uint32'] }),
  // CRIU 4.2 moved the page count to a 64-bit field 5 and writes 0 in the old field 2 (which
  // checkpointctl 1.3.0 still reads): both are described, the new one wins when present.
  PagemapEntry: message({ vaddr: [1, 'uint64'], compatNrPages: [2, 'uint32'], inParent: [3, 'bool'], flags: [4, 'uint32'], nrPages: [5, 'uint64'] }),
  // fs.proto
  FsEntry: message({ cwdId: [1, 'uint32'], rootId: [2, 'uint32'] }),
  // fdinfo.proto: fdinfo-N.img holds FdinfoEntry, files.img holds FileEntry
  FdinfoEntry: message({ id: [1, 'uint32'], flags: [2, 'uint32'], type: [3, 'uint32'], fd: [4, 'uint32'] }),
  FileEntry: message({
    type: [1, 'uint32'], id: [2, 'uint32'], reg: [3, 'RegFileEntry'], isk: [4, 'InetSkEntry'], usk: [16, 'UnixSkEntry'],
    fifo: [17, 'FifoEntry'], pipe: [18, 'PipeEntry'], tty: [19, 'TtyFileEntry'], memfd: [20, 'MemfdFileEntry'],
  }),
  // regfile.proto
  RegFileEntry: message({ id: [1, 'uint32'], flags: [2, 'uint32'], pos: [3, 'uint64'], name: [6, 'string'], size: [8, 'uint64'], mode: [10, 'uint32'] }),
  // sk-inet.proto, sk-opts.proto
  InetSkEntry: message({
    id: [1, 'uint32'], ino: [2, 'uint32'], family: [3, 'uint32'], type: [4, 'uint32'], proto: [5, 'uint32'], state: [6, 'uint32'],
    srcPort: [7, 'uint32'], dstPort: [8, 'uint32'], backlog: [10, 'uint32'], srcAddr: [11, 'uint32', 'repeated'],
    dstAddr: [12, 'uint32', 'repeated'], opts: [14, 'SkOptsEntry'],
  }),
  SkOptsEntry: message({ soSndbuf: [1, 'uint32'], soRcvbuf: [2, 'uint32'] }),
  // sk-unix.proto
  UnixSkEntry: message({ id: [1, 'uint32'], ino: [2, 'uint32'], type: [3, 'uint32'], state: [4, 'uint32'], peer: [8, 'uint32'], opts: [10, 'SkOptsEntry'], name: [11, 'bytes'] }),
  // pipe.proto, fifo.proto (a FIFO's path is the regular file entry regfId names)
  PipeEntry: message({ id: [1, 'uint32'], pipeId: [2, 'uint32'] }),
  FifoEntry: message({ id: [1, 'uint32'], pipeId: [2, 'uint32'], regfId: [3, 'uint32'] }),
  // tty.proto, memfd.proto
  TtyFileEntry: message({ id: [1, 'uint32'], ttyInfoId: [2, 'uint32'] }),
  MemfdFileEntry: message({ id: [1, 'uint32'], inodeId: [5, 'uint32'] }),
} satisfies Record<string, protobuf.IType>;

const root = protobuf.Root.fromJSON({ nested: descriptions });

export type CriuMessageName = keyof typeof descriptions;

/** The protobufjs type of one of our message descriptions. */
export function criuType(name: CriuMessageName): protobuf.Type {
  return root.lookupType(name);
}
