// The notes of an x86_64 Linux core file, built from CRIU's images the way the kernel's
// fs/binfmt_elf.c lays them out: NT_PRSTATUS (pid, registers), NT_PRPSINFO (name, arguments),
// NT_AUXV, NT_FILE (which file each mapping came from), then NT_FPREGSET and NT_X86_XSTATE
// (floating point, SSE and AVX registers) for the main thread, then the same per other thread.
import type { Long } from 'protobufjs/light';
import { u64 } from '../criu/image';

export const noteType = { prstatus: 1, fpregset: 2, prpsinfo: 3, auxv: 6, file: 0x46494c45, x86Xstate: 0x202 } as const;

export interface X86Registers {
  gpregs?: Record<string, Long | number | undefined>;
  fpregs?: {
    cwd?: number; swd?: number; twd?: number; fop?: number; rip?: Long | number; rdp?: Long | number; mxcsr?: number; mxcsrMask?: number;
    stSpace?: number[]; xmmSpace?: number[]; xsave?: { xstateBv?: Long | number; ymmhSpace?: number[] };
  };
}

export interface ThreadState {
  tid: number;
  registers: X86Registers;
  blockedSignals: bigint;
}

export interface ProcessIdentity {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  uid: number;
  gid: number;
  command: string;
  args: string[];
}

export interface FileMapping {
  start: number;
  end: number;
  /** Offset into the file, in bytes. */
  offset: number;
  path: string;
}

/** user_regs_struct's order, which is also CRIU's user_x86_regs_entry field order. */
const registerOrder = [
  'r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'origAx', 'ip', 'cs', 'flags', 'sp', 'ss',
  'fsBase', 'gsBase', 'ds', 'es', 'fs', 'gs',
];
const prstatusBytes = 336;
const prpsinfoBytes = 136;
const fxsaveBytes = 512;
const xsaveHeaderBytes = 64;
const ymmHighBytes = 256;
/** Where the kernel keeps XCR0 inside the fxsave area's software-reserved bytes (gdb reads it there). */
const xcr0Offset = 464;

function note(name: string, type: number, desc: Buffer): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const pad = (n: number) => (4 - (n % 4)) % 4;
  const head = Buffer.alloc(12);
  head.writeUInt32LE(nameBytes.length, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  return Buffer.concat([head, nameBytes, Buffer.alloc(pad(nameBytes.length)), desc, Buffer.alloc(pad(desc.length))]);
}

function prstatus(thread: ThreadState, process: ProcessIdentity): Buffer {
  const out = Buffer.alloc(prstatusBytes);
  out.writeBigUInt64LE(thread.blockedSignals, 24); // pr_sighold
  out.writeInt32LE(thread.tid, 32);
  out.writeInt32LE(process.ppid, 36);
  out.writeInt32LE(process.pgid, 40);
  out.writeInt32LE(process.sid, 44);
  registerOrder.forEach((name, i) => out.writeBigUInt64LE(u64(thread.registers.gpregs?.[name]), 112 + i * 8));
  out.writeInt32LE(1, 328); // pr_fpvalid
  return out;
}

function prpsinfo(process: ProcessIdentity): Buffer {
  const out = Buffer.alloc(prpsinfoBytes);
  out.write('S', 1, 'latin1'); // pr_sname: sleeping, as a checkpointed task is
  out.writeUInt32LE(process.uid, 16);
  out.writeUInt32LE(process.gid, 20);
  out.writeInt32LE(process.pid, 24);
  out.writeInt32LE(process.ppid, 28);
  out.writeInt32LE(process.pgid, 32);
  out.writeInt32LE(process.sid, 36);
  Buffer.from(process.command, 'utf8').copy(out, 40, 0, 15);
  Buffer.from(process.args.join(' '), 'utf8').copy(out, 56, 0, 79);
  return out;
}

function words(values: number[] | undefined, count: number): Buffer {
  const out = Buffer.alloc(count * 4);
  (values ?? []).slice(0, count).forEach((value, i) => out.writeUInt32LE(value >>> 0, i * 4));
  return out;
}

/** The 512-byte fxsave image (user_fpregs_struct). */
function fxsave(registers: X86Registers): Buffer {
  const fp = registers.fpregs ?? {};
  const out = Buffer.alloc(fxsaveBytes);
  out.writeUInt16LE((fp.cwd ?? 0) & 0xffff, 0);
  out.writeUInt16LE((fp.swd ?? 0) & 0xffff, 2);
  out.writeUInt16LE((fp.twd ?? 0) & 0xffff, 4);
  out.writeUInt16LE((fp.fop ?? 0) & 0xffff, 6);
  out.writeBigUInt64LE(u64(fp.rip), 8);
  out.writeBigUInt64LE(u64(fp.rdp), 16);
  out.writeUInt32LE((fp.mxcsr ?? 0) >>> 0, 24);
  out.writeUInt32LE((fp.mxcsrMask ?? 0) >>> 0, 28);
  words(fp.stSpace, 32).copy(out, 32);
  words(fp.xmmSpace, 64).copy(out, 160);
  return out;
}

/** The xsave image: fxsave, XCR0 where gdb looks for it, the xsave header, and AVX's upper halves. */
function xstate(registers: X86Registers): Buffer {
  const ymmh = registers.fpregs?.xsave?.ymmhSpace ?? [];
  const hasAvx = ymmh.length >= 64;
  const xcr0 = hasAvx ? 0x7n : 0x3n; // x87 | SSE (| AVX)
  const out = Buffer.alloc(fxsaveBytes + xsaveHeaderBytes + (hasAvx ? ymmHighBytes : 0));
  fxsave(registers).copy(out, 0);
  out.writeBigUInt64LE(xcr0, xcr0Offset);
  out.writeBigUInt64LE(u64(registers.fpregs?.xsave?.xstateBv) & xcr0, fxsaveBytes);
  if (hasAvx) words(ymmh, 64).copy(out, fxsaveBytes + xsaveHeaderBytes);
  return out;
}

function fileNote(mappings: FileMapping[]): Buffer {
  const pageSize = 4096n;
  const head = Buffer.alloc(16 + mappings.length * 24);
  head.writeBigUInt64LE(BigInt(mappings.length), 0);
  head.writeBigUInt64LE(pageSize, 8);
  mappings.forEach((m, i) => {
    head.writeBigUInt64LE(BigInt(m.start), 16 + i * 24);
    head.writeBigUInt64LE(BigInt(m.end), 24 + i * 24);
    head.writeBigUInt64LE(BigInt(m.offset) / pageSize, 32 + i * 24);
  });
  return Buffer.concat([head, ...mappings.map((m) => Buffer.from(`${m.path}\0`, 'utf8'))]);
}

function auxvNote(auxv: Array<Long | number>): Buffer {
  const out = Buffer.alloc(auxv.length * 8);
  auxv.forEach((value, i) => out.writeBigUInt64LE(u64(value), i * 8));
  return out;
}

/** Every note of the core, in the kernel's order; threads[0] must be the main thread. */
export function coreNotes(process: ProcessIdentity, threads: ThreadState[], auxv: Array<Long | number>, mappings: FileMapping[]): Buffer {
  const perThread = (thread: ThreadState) => [note('CORE', noteType.fpregset, fxsave(thread.registers)), note('LINUX', noteType.x86Xstate, xstate(thread.registers))];
  const [main, ...others] = threads;
  if (!main) throw new Error('a core needs at least one thread');
  return Buffer.concat([
    note('CORE', noteType.prstatus, prstatus(main, process)),
    note('CORE', noteType.prpsinfo, prpsinfo(process)),
    note('CORE', noteType.auxv, auxvNote(auxv)),
    note('CORE', noteType.file, fileNote(mappings)),
    ...perThread(main),
    ...others.flatMap((thread) => [note('CORE', noteType.prstatus, prstatus(thread, process)), ...perThread(thread)]),
  ]);
}
