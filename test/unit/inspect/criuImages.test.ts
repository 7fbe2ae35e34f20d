// CRIU image framing and the messages we describe ourselves: magic checks, entry lengths that lie,
// CRIU 4.2's 64-bit page count beside the old field checkpointctl 1.3.0 still reads, addresses.
import { strict as assert } from 'node:assert';
import { decodeImage, imageEntries, imageMagic, u64, u64n } from '../../../src/core/criu/image';
import { decodePagemap } from '../../../src/core/criu/pagemap';
import { criuType } from '../../../src/core/criu/schema';
import { formatAddress } from '../../../src/core/inspect/files';

const commonMagic = 0x54564319;

function image(magic: number, entries: Buffer[], common = true): Buffer {
  const head = Buffer.alloc(common ? 8 : 4);
  if (common) head.writeUInt32LE(commonMagic, 0);
  head.writeUInt32LE(magic, common ? 4 : 0);
  return Buffer.concat([head, ...entries.flatMap((e) => [Buffer.from(Uint32Array.of(e.length).buffer), e])]);
}

const encode = (type: Parameters<typeof criuType>[0], value: Record<string, unknown>) => Buffer.from(criuType(type).encode(criuType(type).fromObject(value)).finish());

describe('CRIU images', () => {
  it('reads entries after the common magic, and inventory.img with only its own', () => {
    const pstree = image(imageMagic.pstree, [encode('PstreeEntry', { pid: 1, threads: [1, 7] }), encode('PstreeEntry', { pid: 6, ppid: 1, threads: [6] })]);
    const entries = decodeImage<{ pid: number; ppid: number; threads: number[] }>('pstree.img', pstree, 'pstree', 'PstreeEntry');
    assert.deepEqual(entries.map((e) => [e.pid, e.ppid, e.threads]), [[1, 0, [1, 7]], [6, 1, [6]]]);
    const inventory = image(imageMagic.inventory, [encode('InventoryEntry', { imgVersion: 2 })], false);
    assert.equal(decodeImage<{ imgVersion: number }>('inventory.img', inventory, 'inventory', 'InventoryEntry')[0]!.imgVersion, 2);
  });

  it('refuses an image of another kind, and entry lengths past the end', () => {
    const core = image(imageMagic.core, [Buffer.from([8, 1])]);
    assert.throws(() => imageEntries('mm-1.img', core, 'mm'), /mm-1.img is not a CRIU mm image \(magic 0x55053847\)/);
    const lying = Buffer.concat([image(imageMagic.mm, []), Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3])]);
    assert.throws(() => imageEntries('mm-1.img', lying, 'mm'), /ends inside an entry/);
    assert.throws(() => imageEntries('x.img', Buffer.from([1, 2]), 'mm'), /truncated/);
  });

  it('takes the page count from CRIU 4.2 field 5, and from field 2 in older images', () => {
    const newer = image(imageMagic.pagemap, [encode('PagemapHead', { pagesId: 3 }), encode('PagemapEntry', { vaddr: 0x400000, compatNrPages: 0, nrPages: 5, flags: 4 })]);
    const older = image(imageMagic.pagemap, [encode('PagemapHead', { pagesId: 3 }), encode('PagemapEntry', { vaddr: 0x400000, compatNrPages: 5, inParent: false })]);
    const parent = image(imageMagic.pagemap, [encode('PagemapHead', { pagesId: 3 }), encode('PagemapEntry', { vaddr: 0x400000, compatNrPages: 5, inParent: true })]);
    for (const map of [decodePagemap('pagemap-9.img', 9, newer), decodePagemap('pagemap-9.img', 9, older)]) {
      assert.deepEqual(map, { pid: 9, pagesId: 3, runs: [{ address: 0x400000, pages: 5, present: true }], presentPages: 5 });
    }
    assert.equal(decodePagemap('pagemap-9.img', 9, parent).presentPages, 0);
  });

  it('keeps 64-bit values exact, and refuses addresses a double cannot hold', () => {
    assert.equal(u64({ low: -1, high: -1, unsigned: true } as never), 0xffffffffffffffffn);
    assert.equal(u64n({ low: 0xff600000 | 0, high: -1, unsigned: true } as never), 0xffffffffff600000); // [vsyscall]
    assert.throws(() => u64n({ low: 1, high: -1, unsigned: true } as never), /cannot be used as an address/);
  });

  it('writes socket addresses as ss does', () => {
    assert.equal(formatAddress([0x0100007f], 2), '127.0.0.1');
    assert.equal(formatAddress([0, 0, 0, 0], 10), '::');
    assert.equal(formatAddress([0, 0, 0xffff0000, 0x0100007f], 10), '::ffff:127.0.0.1');
    assert.equal(formatAddress([0x000080fe, 0, 0, 0x01000000], 10), 'fe80::1');
    assert.equal(formatAddress([], 2), '0.0.0.0');
  });
});
