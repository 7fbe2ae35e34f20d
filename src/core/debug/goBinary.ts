// Telling a Go program from other native code by its executable: Go's linker writes a
// `.note.go.buildid` ELF note (owner "Go", type 4) into a PT_NOTE segment at the start of the
// file, in front of the code, in internally and externally linked programs alike. Only the first
// bytes of /proc/PID/exe are read, and the ELF is parsed as untrusted data with bounds checks.
import type { Host } from '../host';
import { assertTargetPid } from './tunnel';

/** Go's notes sit in the first page; a little more covers externally linked programs. */
export const executableHeadBytes = 64 * 1024;

const ptNote = 4;
const goBuildIdNoteType = 4;

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Whether an ELF64 little-endian image (its first bytes) carries Go's build id note. */
export function isGoExecutable(head: Buffer): boolean {
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false;
  const phoff = Number(head.readBigUInt64LE(32));
  const phentsize = head.readUInt16LE(54);
  const phnum = head.readUInt16LE(56);
  if (phentsize < 56) return false;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > head.length) break;
    if (head.readUInt32LE(at) !== ptNote) continue;
    const offset = Number(head.readBigUInt64LE(at + 8));
    const end = Math.min(offset + Number(head.readBigUInt64LE(at + 32)), head.length);
    for (let note = offset; note + 12 <= end; ) {
      const nameSize = head.readUInt32LE(note);
      const descSize = head.readUInt32LE(note + 4);
      const type = head.readUInt32LE(note + 8);
      const nameAt = note + 12;
      if (type === goBuildIdNoteType && nameSize === 4 && nameAt + 4 <= end && head.toString('latin1', nameAt, nameAt + 4) === 'Go\0\0') return true;
      const next = nameAt + align4(nameSize) + align4(descSize);
      if (next <= note) break;
      note = next;
    }
  }
  return false;
}

/** The first bytes of a process's executable, read through /proc on its host (cat, stopped early). */
export async function readExecutableHead(host: Host, hostPid: number, bytes = executableHeadBytes): Promise<Buffer> {
  assertTargetPid(hostPid);
  const reader = await host.runner.start(host.privileged(['cat', `/proc/${hostPid}/exe`]));
  const chunks: Buffer[] = [];
  let length = 0;
  await new Promise<void>((resolve) => {
    const done = () => {
      reader.stdout.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) done();
    };
    reader.stdout.on('data', onData);
    reader.stdout.once('end', done);
    reader.stdout.once('error', done);
  });
  reader.close();
  reader.stdout.resume();
  return Buffer.concat(chunks).subarray(0, bytes);
}
