// A walk over the frames of a zstd stream, ahead of fzstd, refusing a frame whose window is larger
// than any archive podman writes. fzstd allocates each frame's whole window up front, as large as
// the frame header says (up to 2 GiB; a single-segment frame's window is its declared content
// size), so a few bytes of header made it allocate 1.5 GiB. podman writes 8 MiB windows; the
// zstd program is held to the same limit with --memory (decompress.ts). The walk reads only the
// frame and block headers and copies nothing.
import { Transform } from 'node:stream';
import { SnapdebugError } from '../util/errors';

/** Largest zstd window decoded: 4× podman's 8 MiB. */
export const maxZstdWindowBytes = 32 * 1024 * 1024;

const zstdMagic = 0xfd2fb528;
const isSkippableMagic = (magic: number) => (magic & 0xfffffff0) === 0x184d2a50;

type Step =
  | { want: 'magic' }
  | { want: 'descriptor' }
  | { want: 'frameHeader'; descriptor: number }
  | { want: 'blockHeader'; checksum: boolean }
  | { want: 'skippableSize' }
  /** `decoded`: for a block's payload, how many bytes it decodes to (at most 128 KiB). */
  | { want: 'skip'; bytes: number; then: Step; decoded?: number };

/** Bytes of the frame header after its descriptor byte. */
function frameHeaderRest(descriptor: number): number {
  const singleSegment = (descriptor & 0x20) !== 0;
  const fcsFlag = descriptor >> 6;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
  const contentSizeBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
  return (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
}

/** The window a frame asks for (RFC 8878 §3.1.1.1.2), from its descriptor and the rest of its header. */
function windowBytes(descriptor: number, rest: Buffer): number {
  if ((descriptor & 0x20) === 0) {
    const exponent = rest[0]! >> 3;
    const base = 2 ** (10 + exponent);
    return base + (base / 8) * (rest[0]! & 7);
  }
  // Single segment: the window is the content size, the last field of the header.
  const fcsFlag = descriptor >> 6;
  const at = [0, 1, 2, 4][descriptor & 3]!;
  if (fcsFlag === 0) return rest[at]!;
  if (fcsFlag === 1) return rest.readUInt16LE(at) + 256;
  if (fcsFlag === 2) return rest.readUInt32LE(at);
  return Number(rest.readBigUInt64LE(at));
}

const needBytes = { magic: 4, descriptor: 1, skippableSize: 4, blockHeader: 3 } as const;

export class ZstdFrameCheck {
  private step: Step = { want: 'magic' };
  private held = Buffer.alloc(16);
  private heldBytes = 0;

  constructor(private readonly maxWindowBytes = maxZstdWindowBytes) {}

  private decodedSinceCut = 0;

  /** Whether the bytes so far end exactly between frames (a stream cut short does not). */
  get atFrameBoundary(): boolean {
    return this.step.want === 'magic' && this.heldBytes === 0;
  }

  /** Walks the next bytes of the stream; throws when a frame would need too large a window. */
  push(chunk: Buffer): void {
    this.walk(chunk, Infinity);
  }

  /**
   * Walks the next bytes like push(), and cuts them into pieces that end on block boundaries and
   * decode to about `decodedBytes` each: a decoder fed one piece at a time can wait for its
   * reader in between (a block of zeros takes 4 bytes and decodes to 128 KiB).
   */
  cut(chunk: Buffer, decodedBytes: number): Buffer[] {
    return this.walk(chunk, decodedBytes);
  }

  private walk(chunk: Buffer, decodedBytes: number): Buffer[] {
    const pieces: Buffer[] = [];
    let pieceStart = 0;
    let offset = 0;
    while (offset < chunk.length) {
      const step = this.step;
      if (step.want === 'skip') {
        const take = Math.min(step.bytes, chunk.length - offset);
        offset += take;
        step.bytes -= take;
        if (step.bytes > 0) continue;
        this.step = step.then;
        this.decodedSinceCut += step.decoded ?? 0;
        if (this.decodedSinceCut >= decodedBytes) {
          pieces.push(chunk.subarray(pieceStart, offset));
          pieceStart = offset;
          this.decodedSinceCut = 0;
        }
        continue;
      }
      const need = step.want === 'frameHeader' ? frameHeaderRest(step.descriptor) : needBytes[step.want];
      const take = Math.min(need - this.heldBytes, chunk.length - offset);
      chunk.copy(this.held, this.heldBytes, offset, offset + take);
      this.heldBytes += take;
      offset += take;
      if (this.heldBytes < need) continue;
      this.heldBytes = 0;
      this.step = this.next(step, this.held.subarray(0, need));
    }
    if (pieceStart < chunk.length) pieces.push(chunk.subarray(pieceStart));
    return pieces;
  }

  private next(step: Exclude<Step, { want: 'skip' }>, bytes: Buffer): Step {
    switch (step.want) {
      case 'magic': {
        const magic = bytes.readUInt32LE(0);
        if (magic === zstdMagic) return { want: 'descriptor' };
        if (isSkippableMagic(magic)) return { want: 'skippableSize' };
        throw new SnapdebugError('The archive is not a valid zstd stream: something other than a zstd frame follows a frame.');
      }
      case 'descriptor': {
        const descriptor = bytes[0]!;
        if (descriptor & 0x08) throw new SnapdebugError('The archive is not a valid zstd stream: a frame header sets a reserved bit.');
        return { want: 'frameHeader', descriptor };
      }
      case 'skippableSize':
        return { want: 'skip', bytes: bytes.readUInt32LE(0), then: { want: 'magic' } };
      case 'frameHeader': {
        const window = windowBytes(step.descriptor, bytes);
        if (window > this.maxWindowBytes) {
          throw new SnapdebugError(
            `The archive's zstd stream asks for a ${Math.ceil(window / 1024 / 1024)} MiB window, more than the ${this.maxWindowBytes / 1024 / 1024} MiB any podman archive needs: refused.`,
          );
        }
        return { want: 'blockHeader', checksum: (step.descriptor & 4) !== 0 };
      }
      case 'blockHeader': {
        const header = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16);
        const last = (header & 1) === 1;
        const type = (header >> 1) & 3;
        if (type === 3) throw new SnapdebugError('The archive is not a valid zstd stream: a block has the reserved type.');
        const after: Step = last ? (step.checksum ? { want: 'skip', bytes: 4, then: { want: 'magic' } } : { want: 'magic' }) : step;
        const size = header >>> 3;
        // Raw and RLE blocks decode to their size; a compressed block to at most 128 KiB.
        const decoded = type === 2 ? 128 * 1024 : size;
        return { want: 'skip', bytes: type === 1 ? 1 : size, then: after, decoded };
      }
    }
  }
}

/** ZstdFrameCheck as a pass-through stream, for the fzstd fallback of decompress.ts. */
export function zstdFrameCheck(maxWindowBytes = maxZstdWindowBytes): Transform {
  const check = new ZstdFrameCheck(maxWindowBytes);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        check.push(chunk);
        done(null, chunk);
      } catch (error) {
        done(error as Error);
      }
    },
  });
}
