// CRIU's stats-dump image (criu/images/stats.proto), decoded by hand: a magic header, a length,
// then one protobuf StatsEntry. It holds how long the checkpoint froze the processes.

export interface CriuDumpStats {
  /** Microseconds spent freezing the tasks. */
  freezingTimeUs: number;
  /** Microseconds the tasks stayed frozen: the pause production saw. */
  frozenTimeUs: number;
  memdumpTimeUs: number;
  memwriteTimeUs: number;
  pagesScanned: number;
  pagesSkippedParent: number;
  pagesWritten: number;
}

const dumpFields: Record<number, keyof CriuDumpStats> = {
  1: 'freezingTimeUs',
  2: 'frozenTimeUs',
  3: 'memdumpTimeUs',
  4: 'memwriteTimeUs',
  5: 'pagesScanned',
  6: 'pagesSkippedParent',
  7: 'pagesWritten',
};

function readVarint(buf: Buffer, offset: number): [number, number] {
  let value = 0;
  let scale = 1;
  let pos = offset;
  for (;;) {
    if (pos >= buf.length) throw new Error('stats-dump is truncated');
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, pos];
  }
}

/** Calls back for each (field number, value) of a protobuf message; skips non-varint fields. */
function fields(buf: Buffer, visit: (field: number, value: number | Buffer) => void): void {
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [value, next] = readVarint(buf, afterKey);
      visit(field, value);
      pos = next;
    } else if (wire === 2) {
      const [length, start] = readVarint(buf, afterKey);
      visit(field, buf.subarray(start, start + length));
      pos = start + length;
    } else if (wire === 1) pos = afterKey + 8;
    else if (wire === 5) pos = afterKey + 4;
    else throw new Error(`stats-dump has an unknown wire type ${wire}`);
  }
}

export function decodeDumpStats(image: Buffer): CriuDumpStats | undefined {
  // Image layout: 4-byte image magic, 4-byte stats magic, 4-byte little-endian entry length.
  if (image.length < 12) return undefined;
  const length = image.readUInt32LE(8);
  const entry = image.subarray(12, 12 + length);
  let dump: Buffer | undefined;
  fields(entry, (field, value) => {
    if (field === 1 && Buffer.isBuffer(value)) dump = value;
  });
  if (!dump) return undefined;
  const stats: CriuDumpStats = {
    freezingTimeUs: 0,
    frozenTimeUs: 0,
    memdumpTimeUs: 0,
    memwriteTimeUs: 0,
    pagesScanned: 0,
    pagesSkippedParent: 0,
    pagesWritten: 0,
  };
  fields(dump, (field, value) => {
    const name = dumpFields[field];
    if (name && typeof value === 'number') stats[name] = value;
  });
  return stats;
}
