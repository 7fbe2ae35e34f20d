// The frame of an x86_64 ELF core file (ET_CORE): the ELF header, one PT_NOTE and one PT_LOAD per
// memory area, laid out so the memory can be written as it streams and the notes last.
import { pageBytes } from '../criu/names';

const elfHeaderBytes = 64;
const programHeaderBytes = 56;
const pt = { load: 1, note: 4 } as const;
const pf = { x: 1, w: 2, r: 4 } as const;

export interface LoadSegment {
  start: number;
  end: number;
  /** PROT_READ | PROT_WRITE | PROT_EXEC bits. */
  prot: number;
  /** Whether the core carries this area's bytes (else gdb reads the mapped file, or nothing). */
  withContents: boolean;
  /** Where its bytes begin in the core file (set by layoutCore). */
  fileOffset: number;
}

/** Places each segment with contents, page-aligned, after the headers; returns where notes go. */
export function layoutCore(segments: LoadSegment[]): number {
  const headers = elfHeaderBytes + programHeaderBytes * (segments.length + 1);
  let offset = Math.ceil(headers / pageBytes) * pageBytes;
  for (const segment of segments) {
    segment.fileOffset = segment.withContents ? offset : 0;
    if (segment.withContents) offset += segment.end - segment.start;
  }
  return offset;
}

/** The ELF header and the program headers, to write at offset 0 once the notes' place is known. */
export function coreHeaders(segments: LoadSegment[], notesOffset: number, notesBytes: number): Buffer {
  const out = Buffer.alloc(elfHeaderBytes + programHeaderBytes * (segments.length + 1));
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(out, 0); // ELF, 64-bit, little-endian, v1, System V
  out.writeUInt16LE(4, 16); // ET_CORE
  out.writeUInt16LE(62, 18); // EM_X86_64
  out.writeUInt32LE(1, 20); // EV_CURRENT
  out.writeBigUInt64LE(BigInt(elfHeaderBytes), 32); // e_phoff
  out.writeUInt16LE(elfHeaderBytes, 52); // e_ehsize
  out.writeUInt16LE(programHeaderBytes, 54);
  out.writeUInt16LE(segments.length + 1, 56); // e_phnum
  out.writeUInt16LE(64, 58); // e_shentsize (no sections)
  const header = (index: number, type: number, flags: number, offset: number, vaddr: number, filesz: number, memsz: number, align: number) => {
    const at = elfHeaderBytes + index * programHeaderBytes;
    out.writeUInt32LE(type, at);
    out.writeUInt32LE(flags, at + 4);
    out.writeBigUInt64LE(BigInt(offset), at + 8);
    out.writeBigUInt64LE(BigInt(vaddr), at + 16);
    out.writeBigUInt64LE(0n, at + 24);
    out.writeBigUInt64LE(BigInt(filesz), at + 32);
    out.writeBigUInt64LE(BigInt(memsz), at + 40);
    out.writeBigUInt64LE(BigInt(align), at + 48);
  };
  header(0, pt.note, 0, notesOffset, 0, notesBytes, 0, 4);
  segments.forEach((segment, i) => {
    const flags = (segment.prot & 1 ? pf.r : 0) | (segment.prot & 2 ? pf.w : 0) | (segment.prot & 4 ? pf.x : 0);
    const size = segment.end - segment.start;
    header(i + 1, pt.load, flags, segment.fileOffset, segment.start, segment.withContents ? size : 0, size, pageBytes);
  });
  return out;
}
