// A small Java Debug Wire Protocol client, to ask a JVM (through our tunnel) for the values of a
// class's static fields: the handshake, ID sizes, ClassesBySignature, Fields, GetValues and
// StringReference.Value. Enough to compare a copy's memory with production's.
import { connect, type Socket } from 'node:net';

export interface Jdwp {
  /** Static field values of a class (signature like "LDemo;"): longs and ints as bigint/number, strings as text. */
  staticFields(signature: string, names: string[]): Promise<Record<string, bigint | number | string | null>>;
  close(): void;
}

const handshake = 'JDWP-Handshake';

export async function connectJdwp(port: number): Promise<Jdwp> {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  let buffer = Buffer.alloc(0);
  const waiting: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    waiting.splice(0).forEach((wake) => wake());
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const read = async (length: number): Promise<Buffer> => {
    while (buffer.length < length) await new Promise<void>((resolve) => waiting.push(resolve));
    const out = buffer.subarray(0, length);
    buffer = buffer.subarray(length);
    return out;
  };
  socket.write(handshake);
  const echoed = (await read(handshake.length)).toString('latin1');
  if (echoed !== handshake) throw new Error(`JDWP handshake answered "${echoed}"`);

  let id = 0;
  const command = async (set: number, cmd: number, data: Buffer): Promise<Buffer> => {
    const header = Buffer.alloc(11);
    header.writeUInt32BE(11 + data.length, 0);
    header.writeUInt32BE(++id, 4);
    header.writeUInt8(0, 8);
    header.writeUInt8(set, 9);
    header.writeUInt8(cmd, 10);
    socket.write(Buffer.concat([header, data]));
    // Replies come in order here (one request at a time); events would carry flags 0.
    for (;;) {
      const head = await read(11);
      const body = await read(head.readUInt32BE(0) - 11);
      if (head.readUInt8(8) !== 0x80) continue;
      const error = head.readUInt16BE(9);
      if (error !== 0) throw new Error(`JDWP command ${set}/${cmd} failed with error ${error}`);
      return body;
    }
  };
  const sizesReply = await command(1, 7, Buffer.alloc(0));
  const sizes = { field: sizesReply.readInt32BE(0), object: sizesReply.readInt32BE(8), reference: sizesReply.readInt32BE(12) };
  const readId = (body: Buffer, at: number, size: number): bigint => body.readBigUInt64BE(at) >> BigInt(64 - size * 8);
  const writeId = (value: bigint, size: number): Buffer => {
    const out = Buffer.alloc(8);
    out.writeBigUInt64BE(value << BigInt(64 - size * 8));
    return out.subarray(0, size);
  };
  const jdwpString = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const int = (value: number) => {
    const out = Buffer.alloc(4);
    out.writeInt32BE(value);
    return out;
  };

  return {
    async staticFields(signature, names) {
      const classes = await command(1, 2, jdwpString(signature));
      if (classes.readInt32BE(0) < 1) throw new Error(`no class ${signature} is loaded`);
      const typeId = readId(classes, 5, sizes.reference);
      const fields = await command(2, 4, writeId(typeId, sizes.reference));
      const byName = new Map<string, { id: bigint; signature: string }>();
      let at = 4;
      for (let i = 0; i < fields.readInt32BE(0); i++) {
        const fieldId = readId(fields, at, sizes.field);
        at += sizes.field;
        const nameLength = fields.readUInt32BE(at);
        const name = fields.toString('utf8', at + 4, at + 4 + nameLength);
        at += 4 + nameLength;
        const sigLength = fields.readUInt32BE(at);
        const fieldSignature = fields.toString('utf8', at + 4, at + 4 + sigLength);
        at += 4 + sigLength + 4; // modBits
        byName.set(name, { id: fieldId, signature: fieldSignature });
      }
      const wanted = names.map((name) => {
        const field = byName.get(name);
        if (!field) throw new Error(`${signature} has no field ${name}`);
        return field;
      });
      const values = await command(2, 6, Buffer.concat([writeId(typeId, sizes.reference), int(wanted.length), ...wanted.map((f) => writeId(f.id, sizes.field))]));
      const result: Record<string, bigint | number | string | null> = {};
      at = 4;
      for (const [i, name] of names.entries()) {
        const tag = String.fromCharCode(values.readUInt8(at));
        at += 1;
        if (tag === 'J') {
          result[name] = values.readBigInt64BE(at);
          at += 8;
        } else if (tag === 'I') {
          result[name] = values.readInt32BE(at);
          at += 4;
        } else if (tag === 's' || tag === 'L') {
          const objectId = readId(values, at, sizes.object);
          at += sizes.object;
          if (objectId === 0n) result[name] = null;
          else {
            const text = await command(10, 1, writeId(objectId, sizes.object));
            result[name] = text.toString('utf8', 4, 4 + text.readUInt32BE(0));
          }
        } else {
          throw new Error(`field ${name} (${wanted[i]!.signature}) has a value tag ${tag} this client does not read`);
        }
      }
      return result;
    },
    close: () => socket.destroy(),
  };
}
