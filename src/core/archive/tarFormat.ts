// The bytes of tar headers: reading one 512-byte ustar/GNU header block (checksum, numbers in
// octal or GNU base-256), pax records, and writing the plain headers the relabeller emits.
// Nothing here decides what is allowed: tarParser.ts does, with these as its vocabulary.

export const blockBytes = 512;

/** A header block as it stands, before pax or GNU long names are applied. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** The type flag as a character ('0', '5', 'x', 'L'…); '\0' is an old-style regular file. */
  flag: string;
  linkName: string;
  /** 'ustar' (POSIX: the prefix field extends the name) or 'gnu' (that area holds other fields). */
  magic: 'ustar' | 'gnu';
  /** The POSIX prefix field ('' for GNU headers). */
  prefix: string;
}

/** Why a header block cannot be read, in words for an error message. */
export class HeaderError extends Error {}

function field(block: Buffer, offset: number, length: number): Buffer {
  const bytes = block.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return end < 0 ? bytes : bytes.subarray(0, end);
}

/** A name field as text; refused when it is not valid UTF-8 (podman writes UTF-8 names). */
export function utf8Text(bytes: Buffer, what: string): string {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new HeaderError(`has a ${what} that is not valid UTF-8`);
  return text;
}

/** A numeric field: octal digits (space/NUL padded) or, for large values, GNU base-256. */
export function readNumber(block: Buffer, offset: number, length: number, what: string): number {
  const first = block[offset]!;
  if (first & 0x80) {
    if (first === 0xff) throw new HeaderError(`has a negative ${what}`);
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) {
      value = value * 256 + block[offset + i]!;
      if (value > Number.MAX_SAFE_INTEGER) throw new HeaderError(`has a ${what} too large to be real`);
    }
    return value;
  }
  const text = block.toString('latin1', offset, offset + length).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new HeaderError(`has a ${what} field that is not a number`);
  return parseInt(text, 8);
}

/** The checksum as stored, and the sums it may legitimately equal (unsigned, or historic signed). */
function checksumMatches(block: Buffer): boolean {
  const stored = readNumber(block, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < blockBytes; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < blockBytes; i++) if (block[i] !== 0) return false;
  return true;
}

/** Reads a header block; throws HeaderError on a wrong checksum or an unknown format. */
export function decodeHeader(block: Buffer): RawHeader {
  if (!checksumMatches(block)) throw new HeaderError('has a wrong checksum (the archive is damaged or forged)');
  const magicBytes = block.toString('latin1', 257, 265);
  const magic = magicBytes === 'ustar\u000000' ? 'ustar' : magicBytes === 'ustar  \u0000' ? 'gnu' : undefined;
  if (!magic) throw new HeaderError('is not in ustar or GNU format');
  return {
    name: utf8Text(field(block, 0, 100), 'name'),
    mode: readNumber(block, 100, 8, 'mode') & 0o7777,
    uid: readNumber(block, 108, 8, 'uid'),
    gid: readNumber(block, 116, 8, 'gid'),
    size: readNumber(block, 124, 12, 'size'),
    mtime: readNumber(block, 136, 12, 'mtime'),
    flag: String.fromCharCode(block[156]!),
    linkName: utf8Text(field(block, 157, 100), 'link name'),
    magic,
    prefix: magic === 'ustar' ? utf8Text(field(block, 345, 155), 'name prefix') : '',
  };
}

/** The body of a GNU long name or link record: the name up to its terminating NUL. */
export function decodeLongName(body: Buffer, what: string): string {
  return utf8Text(field(body, 0, body.length), what);
}

/**
 * pax extended header records ("LEN key=value\n", LEN counting the whole record). Strict: a
 * record whose length does not match its bytes is refused, as is a key given twice.
 */
export function decodePax(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < body.length) {
    // Some writers pad the record area with NULs.
    if (body[offset] === 0 && body.subarray(offset).every((b) => b === 0)) break;
    const space = body.indexOf(0x20, offset);
    const lengthText = space < 0 ? '' : body.toString('latin1', offset, space);
    if (!/^[1-9][0-9]{0,6}$/.test(lengthText)) throw new HeaderError('is a pax header with a record that has no length');
    const end = offset + Number(lengthText);
    if (end > body.length || body[end - 1] !== 0x0a) throw new HeaderError('is a pax header with a record whose length is wrong');
    const record = utf8Text(body.subarray(space + 1, end - 1), 'pax record');
    const equals = record.indexOf('=');
    if (equals <= 0) throw new HeaderError('is a pax header with a record that has no key');
    const key = record.slice(0, equals);
    if (records.has(key)) throw new HeaderError(`is a pax header that gives ${key} twice`);
    records.set(key, record.slice(equals + 1));
    offset = end;
  }
  return records;
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

/** Largest size the 11 octal digits of a ustar size field hold; beyond it a pax size record is written. */
const maxOctalSize = 0o77777777777;

function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const bytes = Buffer.byteLength(rest);
  let digits = String(bytes).length;
  while (String(bytes + digits).length !== digits) digits++;
  return `${bytes + digits}${rest}`;
}

/** Splits a name into ustar's prefix and name fields, if it fits them. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let slash = name.indexOf('/'); slash >= 0; slash = name.indexOf('/', slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { prefix, name: rest };
  }
  return undefined;
}

export interface HeaderFields {
  name: string;
  size: number;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  /** '0' file, '2' symbolic link (to `linkname`), '5' directory. */
  flag: '0' | '2' | '5';
  linkname?: string;
}

function ustarBlock(fields: HeaderFields, name: string, prefix: string, size: number, flag: string, linkname = ''): Buffer {
  const block = Buffer.alloc(blockBytes);
  block.write(name, 0, 100, 'utf8');
  block.write(linkname, 157, 100, 'utf8');
  block.write(octal(fields.mode & 0o7777, 8), 100, 8, 'latin1');
  block.write(octal(fields.uid, 8), 108, 8, 'latin1');
  block.write(octal(fields.gid, 8), 116, 8, 'latin1');
  block.write(octal(size, 12), 124, 12, 'latin1');
  block.write(octal(Math.max(0, Math.floor(fields.mtime)), 12), 136, 12, 'latin1');
  block.write(flag, 156, 1, 'latin1');
  block.write('ustar\u000000', 257, 8, 'latin1');
  block.write(prefix, 345, 155, 'utf8');
  block.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 8, 'latin1');
  return block;
}

/**
 * The header blocks of one entry as the relabeller writes it: plain ustar when the name (prefix
 * included) and link target fit, with a pax header before it for a longer one or a size beyond 8 GiB.
 */
export function encodeHeader(fields: HeaderFields): Buffer {
  const split = splitName(fields.name);
  const bigSize = fields.size > maxOctalSize;
  const linkname = fields.linkname ?? '';
  const longLink = Buffer.byteLength(linkname) > 100;
  if (split && !bigSize && !longLink) return ustarBlock(fields, split.name, split.prefix, fields.size, fields.flag, linkname);
  const records = Buffer.from(
    (split ? '' : paxRecord('path', fields.name)) + (longLink ? paxRecord('linkpath', linkname) : '') + (bigSize ? paxRecord('size', String(fields.size)) : ''),
    'utf8',
  );
  const padded = Buffer.alloc(Math.ceil(records.length / blockBytes) * blockBytes);
  records.copy(padded);
  const pax = ustarBlock({ ...fields, mode: 0o644 }, 'PaxHeader', '', records.length, 'x');
  // Readers that honour pax take the name from it; the fields below only need to be harmless.
  const name = split ?? { prefix: '', name: fields.name.replace(/[^\x20-\x7e]/g, '_').slice(-100) };
  return Buffer.concat([pax, padded, ustarBlock(fields, name.name, name.prefix, bigSize ? 0 : fields.size, fields.flag, longLink ? '' : linkname)]);
}

export function paddingFor(size: number): number {
  return (blockBytes - (size % blockBytes)) % blockBytes;
}
