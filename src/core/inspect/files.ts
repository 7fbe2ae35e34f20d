// A process's open files and sockets from CRIU's fdinfo-N.img (descriptor → file id) and
// files.img (file id → what it is), worded as /proc/PID/fd and ss would word them.
import type { Long } from 'protobufjs/light';
import { decodeImage, u64n } from '../criu/image';
import { addressFamilies, anonInodeNames, fdType, fdTypeNames, ipProtocols, socketTypes, tcpStates } from '../criu/names';
import type { OpenFile, SocketInfo } from './model';

interface SkOpts {
  soSndbuf?: number;
  soRcvbuf?: number;
}

export interface FileEntryMessage {
  type?: number;
  id?: number;
  reg?: { name?: string; pos?: Long | number };
  isk?: { ino?: number; family?: number; type?: number; proto?: number; state?: number; srcPort?: number; dstPort?: number; srcAddr?: number[]; dstAddr?: number[]; opts?: SkOpts };
  usk?: { ino?: number; type?: number; state?: number; peer?: number; name?: Uint8Array; opts?: SkOpts };
  fifo?: { pipeId?: number; regfId?: number };
  pipe?: { pipeId?: number };
  tty?: { ttyInfoId?: number };
  memfd?: { inodeId?: number };
}

export interface FdinfoMessage {
  id?: number;
  type?: number;
  fd?: number;
}

/** files.img, by file id. */
export function fileTable(image: Buffer | undefined): Map<number, FileEntryMessage> {
  const table = new Map<number, FileEntryMessage>();
  if (!image) return table;
  for (const entry of decodeImage<FileEntryMessage>('files.img', image, 'files', 'FileEntry')) table.set(entry.id ?? 0, entry);
  return table;
}

/** An address as CRIU stores it (the kernel's bytes, read as little-endian 32-bit words). */
export function formatAddress(words: number[] | undefined, family: number | undefined): string {
  if (!words || words.length === 0) return family === 10 ? '::' : '0.0.0.0';
  const bytes = Buffer.alloc(words.length * 4);
  words.forEach((word, i) => bytes.writeUInt32LE(word >>> 0, i * 4));
  if (family !== 10) return [...bytes.subarray(0, 4)].join('.');
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) reads better the way ss shows it.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${[...bytes.subarray(12, 16)].join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  // Compress the longest run of zero groups once, as RFC 5952 says.
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length && j - i > 1) best = { at: i, length: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

/** What a descriptor points at, as a path or /proc's words for things without one. */
export function describeFile(type: number, id: number, files: Map<number, FileEntryMessage>): { path: string; position?: number } {
  const file = files.get(id);
  switch (type) {
    case fdType.reg: {
      const position = file?.reg?.pos !== undefined ? u64n(file.reg.pos) : undefined;
      return { path: file?.reg?.name ?? '(unknown path)', ...(position !== undefined && { position }) };
    }
    case fdType.pipe:
      return { path: `pipe:[${file?.pipe?.pipeId ?? '?'}]` };
    case fdType.fifo: {
      const name = file?.fifo?.regfId !== undefined ? files.get(file.fifo.regfId)?.reg?.name : undefined;
      return { path: name ?? `fifo:[${file?.fifo?.pipeId ?? '?'}]` };
    }
    case fdType.inetSocket:
      return { path: `socket:[${file?.isk?.ino ?? '?'}]` };
    case fdType.unixSocket:
      return { path: `socket:[${file?.usk?.ino ?? '?'}]` };
    case fdType.memfd:
      return { path: `/memfd:${file?.memfd?.inodeId ?? '?'}` };
    case fdType.tty:
      return { path: `tty:[${file?.tty?.ttyInfoId ?? '?'}]` };
    default: {
      const anon = anonInodeNames[type];
      return { path: anon ? `anon_inode:${anon}` : `${fdTypeNames[type] ?? `type ${type}`}:[${id}]` };
    }
  }
}

export function openFiles(fdinfo: FdinfoMessage[], files: Map<number, FileEntryMessage>): OpenFile[] {
  return fdinfo
    .map((info) => {
      const type = info.type ?? 0;
      return { fd: String(info.fd ?? 0), type: fdTypeNames[type] ?? String(type), ...describeFile(type, info.id ?? 0, files) };
    })
    .sort((a, b) => Number(a.fd) - Number(b.fd));
}

export function sockets(fdinfo: FdinfoMessage[], files: Map<number, FileEntryMessage>): SocketInfo[] {
  const result: SocketInfo[] = [];
  for (const info of fdinfo) {
    const file = files.get(info.id ?? 0);
    const fd = info.fd ?? 0;
    if (info.type === fdType.inetSocket && file?.isk) {
      const sk = file.isk;
      const protocol = ipProtocols[sk.proto ?? 0] ?? socketTypes[sk.type ?? 0] ?? String(sk.proto);
      result.push({
        fd,
        family: addressFamilies[sk.family ?? 0] ?? String(sk.family),
        protocol,
        state: protocol === 'UDP' && sk.state === 7 ? 'UNCONN' : (tcpStates[sk.state ?? 0] ?? String(sk.state)),
        source: formatAddress(sk.srcAddr, sk.family),
        sourcePort: sk.srcPort ?? 0,
        destination: formatAddress(sk.dstAddr, sk.family),
        destinationPort: sk.dstPort ?? 0,
        inode: sk.ino ?? 0,
        ...buffers(sk.opts),
      });
    } else if (info.type === fdType.unixSocket && file?.usk) {
      const sk = file.usk;
      const name = sk.name && sk.name.length > 0 ? Buffer.from(sk.name) : undefined;
      result.push({
        fd,
        family: 'UNIX',
        protocol: socketTypes[sk.type ?? 0] ?? String(sk.type),
        state: tcpStates[sk.state ?? 0] ?? String(sk.state),
        // An abstract name starts with a zero byte; ss shows it as "@name".
        ...(name && { source: name[0] === 0 ? `@${name.subarray(1).toString('utf8')}` : name.toString('utf8') }),
        inode: sk.ino ?? 0,
        ...(sk.peer ? { destination: `socket:[${sk.peer}]` } : {}),
        ...buffers(sk.opts),
      });
    }
  }
  return result.sort((a, b) => a.fd - b.fd);
}

function buffers(opts: SkOpts | undefined): Pick<SocketInfo, 'sendBufferBytes' | 'receiveBufferBytes'> {
  return {
    ...(opts?.soSndbuf !== undefined && { sendBufferBytes: opts.soSndbuf }),
    ...(opts?.soRcvbuf !== undefined && { receiveBufferBytes: opts.soRcvbuf }),
  };
}
