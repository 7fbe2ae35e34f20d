// CRIU image framing (criu/include/magic.h, criu/protobuf.c): a 4-byte common magic (or the
// service magic for stats), the image's own 4-byte magic (inventory.img has only its own), then
// entries, each a 4-byte little-endian length and that many bytes of protobuf. pages-N.img has no
// framing at all: it is the raw pages the pagemap describes. Archives are untrusted, so lengths are
// checked against what is there and a bad image fails with its name, never reads out of bounds.
import type { Long } from 'protobufjs/light';
import { SnapdebugError } from '../util/errors';
import { criuType, type CriuMessageName } from './schema';

const commonMagic = 0x54564319;
const serviceMagic = 0x55105940;

/** Each image's own magic, from criu/include/magic.h. */
export const imageMagic = {
  inventory: 0x58313116,
  pstree: 0x50273030,
  fdinfo: 0x56213732,
  pagemap: 0x56084025,
  core: 0x55053847,
  ids: 0x54432030,
  fs: 0x51403912,
  mm: 0x57492820,
  files: 0x56303138,
} as const;

export type ImageKind = keyof typeof imageMagic;

/** The raw protobuf entries of one image, after checking its magic. */
export function imageEntries(name: string, image: Buffer, kind: ImageKind): Buffer[] {
  if (image.length < 4) throw new SnapdebugError(`The CRIU image ${name} is truncated.`);
  let offset = 0;
  const first = image.readUInt32LE(0);
  if (first === commonMagic || first === serviceMagic) {
    if (image.length < 8) throw new SnapdebugError(`The CRIU image ${name} is truncated.`);
    offset = 4;
  }
  const magic = image.readUInt32LE(offset);
  if (magic !== imageMagic[kind]) {
    throw new SnapdebugError(`${name} is not a CRIU ${kind} image (magic 0x${magic.toString(16)}).`);
  }
  offset += 4;
  const entries: Buffer[] = [];
  while (offset < image.length) {
    if (offset + 4 > image.length) throw new SnapdebugError(`The CRIU image ${name} ends inside an entry length.`);
    const length = image.readUInt32LE(offset);
    offset += 4;
    if (offset + length > image.length) throw new SnapdebugError(`The CRIU image ${name} ends inside an entry (${length} bytes claimed).`);
    entries.push(image.subarray(offset, offset + length));
    offset += length;
  }
  return entries;
}

/** Decodes one entry as a message of ours; a malformed entry fails with the image's name. */
export function decodeEntry<T>(name: string, entry: Buffer, type: CriuMessageName): T {
  try {
    return criuType(type).decode(entry) as unknown as T;
  } catch (error) {
    throw new SnapdebugError(`The CRIU image ${name} has a malformed ${type}: ${(error as Error).message}`);
  }
}

/** Every entry of an image decoded as one message type. */
export function decodeImage<T>(name: string, image: Buffer, kind: ImageKind, type: CriuMessageName): T[] {
  return imageEntries(name, image, kind).map((entry) => decodeEntry<T>(name, entry, type));
}

/** A protobuf 64-bit field (a Long from protobufjs, a number when small, or absent) as a bigint. */
export function u64(value: Long | number | undefined | null): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

/**
 * A 64-bit field holding an address or a size, as a number. User space fits in 2^47; the one area
 * above 2^53, [vsyscall] at 0xffffffffff600000, is page-aligned and so still exact as a double.
 * Anything a double cannot hold exactly is refused rather than silently rounded.
 */
export function u64n(value: Long | number | undefined | null): number {
  const big = u64(value);
  const small = Number(big);
  if (BigInt(small) !== big) throw new SnapdebugError(`A CRIU value cannot be used as an address: 0x${big.toString(16)}.`);
  return small;
}
