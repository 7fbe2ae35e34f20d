// Hand-made tar and zstd bytes for the hostile-archive tests: every header field can be set to
// what an attacker would write (a wrong checksum, a name in the prefix field, a lying pax size),
// and zstd frames are assembled from raw and RLE blocks, so a 1 GiB body of zeros costs 32 KiB
// of input and no compressor has to run.
import { gzipSync } from 'node:zlib';

export const block = 512;

export interface HeaderSpec {
  name: string;
  size?: number;
  /** The type flag: '0' file, '5' folder, '2' symlink, 'x' pax, 'L' GNU long name… */
  flag?: string;
  linkName?: string;
  prefix?: string;
  mode?: number;
  mtime?: number;
  magic?: 'ustar' | 'gnu' | 'v7';
  /** A wrong checksum, as a damaged or forged archive has. */
  badChecksum?: boolean;
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

export function header(spec: HeaderSpec): Buffer {
  const b = Buffer.alloc(block);
  b.write(spec.name, 0, 100, 'utf8');
  b.write(octal(spec.mode ?? 0o644, 8), 100, 8, 'latin1');
  b.write(octal(0, 8), 108, 8, 'latin1');
  b.write(octal(0, 8), 116, 8, 'latin1');
  b.write(octal(spec.size ?? 0, 12), 124, 12, 'latin1');
  b.write(octal(spec.mtime ?? 1796027715, 12), 136, 12, 'latin1');
  b.write(spec.flag ?? '0', 156, 1, 'latin1');
  b.write(spec.linkName ?? '', 157, 100, 'utf8');
  const magic = spec.magic ?? 'ustar';
  if (magic === 'ustar') b.write('ustar\u000000', 257, 8, 'latin1');
  if (magic === 'gnu') b.write('ustar  \u0000', 257, 8, 'latin1');
  if (spec.prefix) b.write(spec.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(octal(spec.badChecksum ? sum + 1 : sum, 7) + ' ', 148, 8, 'latin1');
  return b;
}

export function padded(body: Buffer): Buffer {
  return Buffer.concat([body, Buffer.alloc((block - (body.length % block)) % block)]);
}

/** One entry: header, body and padding. */
export function entry(name: string, body: Buffer | string = '', spec: Partial<HeaderSpec> = {}): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([header({ name, size: data.length, ...spec }), padded(data)]);
}

export function paxRecords(records: Record<string, string>): Buffer {
  return Buffer.from(
    Object.entries(records)
      .map(([key, value]) => {
        const rest = ` ${key}=${value}\n`;
        let length = Buffer.byteLength(rest) + 1;
        while (String(length).length + Buffer.byteLength(rest) !== length) length++;
        return `${length}${rest}`;
      })
      .join(''),
  );
}

/** A pax extended header ('x') or global header ('g') with these records. */
export function pax(records: Record<string, string>, flag: 'x' | 'g' = 'x'): Buffer {
  return entry('PaxHeaders/x', paxRecords(records), { flag });
}

/** A GNU long name ('L') or long link name ('K') record. */
export function gnuLong(name: string, flag: 'L' | 'K' = 'L'): Buffer {
  return entry('././@LongLink', Buffer.from(`${name}\0`), { flag, magic: 'gnu' });
}

export const endMarker = Buffer.alloc(2 * block);

export function tar(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, endMarker]);
}

/** A plausible podman archive head: the files podman writes before the memory images. */
export function podmanEntries(config: object = { name: 'demo', labels: {} }, spec: object = minimalSpec()): Buffer[] {
  return [
    entry('artifacts/', '', { flag: '5', mode: 0o755 }),
    entry('config.dump', JSON.stringify(config), { mode: 0o600 }),
    entry('spec.dump', JSON.stringify(spec), { mode: 0o600 }),
    entry('stats-dump', Buffer.alloc(50, 1)),
    entry('checkpoint/', '', { flag: '5', mode: 0o700 }),
    entry('checkpoint/inventory.img', Buffer.alloc(86, 2)),
  ];
}

/** The spec.dump of an unprivileged podman container, as far as the copy policy reads it. */
export function minimalSpec(): Record<string, unknown> {
  const caps = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.2.0',
    process: { capabilities: { bounding: caps, effective: caps, permitted: caps } },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] }],
    annotations: { 'io.container.manager': 'libpod', 'org.systemd.property.KillSignal': '15' },
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network', path: '/run/netns/netns-1234' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

const rleMaxBytes = 128 * 1024;

/**
 * A zstd frame built from raw blocks (the given buffers) and RLE blocks ({ zeros: n }): what any
 * zstd decoder accepts, with a window of 2^windowLog bytes (podman's: 2^23).
 */
export function zstdFrame(parts: Array<Buffer | { zeros: number }>, windowLog = 23): Buffer {
  const blocks: Array<{ type: 0 | 1; size: number; payload: Buffer }> = [];
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      for (let at = 0; at < part.length; at += rleMaxBytes) {
        const piece = part.subarray(at, at + rleMaxBytes);
        blocks.push({ type: 0, size: piece.length, payload: piece });
      }
    } else {
      for (let left = part.zeros; left > 0; left -= rleMaxBytes) blocks.push({ type: 1, size: Math.min(left, rleMaxBytes), payload: Buffer.from([0]) });
    }
  }
  const out: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3])];
  blocks.forEach((b, i) => {
    const value = (b.size << 3) | (b.type << 1) | (i === blocks.length - 1 ? 1 : 0);
    out.push(Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff]), b.payload);
  });
  return Buffer.concat(out);
}

/** A zstd frame header that declares `contentBytes` in one segment: fzstd allocated all of it at once. */
export function zstdWindowBomb(contentBytes: number): Buffer {
  const head = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0]);
  head.writeBigUInt64LE(BigInt(contentBytes), 5);
  // One raw block of a tar header's worth of bytes after it, so decoding starts.
  const body = Buffer.alloc(block, 0x41);
  return Buffer.concat([head, Buffer.from([(block << 3) & 0xff, ((block << 3) >> 8) & 0xff, 0]), body]);
}

/** gzip members, concatenated: zeros are gzipped 16 MiB at a time (gunzip reads members in a row). */
export function gzipParts(parts: Array<Buffer | { zeros: number }>): Buffer {
  const chunk = 16 * 1024 * 1024;
  const zerosMember = gzipSync(Buffer.alloc(chunk));
  const out: Buffer[] = [];
  for (const part of parts) {
    if (Buffer.isBuffer(part)) out.push(gzipSync(part));
    else {
      for (let left = part.zeros; left > 0; left -= chunk) out.push(left >= chunk ? zerosMember : gzipSync(Buffer.alloc(left)));
    }
  }
  return Buffer.concat(out);
}
