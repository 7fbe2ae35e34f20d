// The hostile-archive corpus: tar streams a compromised production host (or anyone who can change
// an archive in the store) could write, each refused by the one tar reader with the sentence the
// user reads. Every case is fed whole and in 7-byte pieces: where the bytes break changes nothing.
import { strict as assert } from 'node:assert';
import { TarParser, type TarEntry, type TarLimits } from '../../../src/core/archive/tarParser';
import { fixedChunks } from '../helpers';
import { block, endMarker, entry, gnuLong, header, pax, podmanEntries, tar } from './tarBuild';

/** The refusal the reader throws for an archive, the same in any chunking. */
function refusal(archive: Buffer, options: { keep?: (entry: TarEntry) => boolean; limits?: TarLimits } = {}): string {
  const messages = [[archive], fixedChunks(archive, 7)].map((pieces) => {
    const parser = new TarParser(options.keep, options.limits);
    try {
      for (const piece of pieces) parser.push(piece);
      parser.end();
    } catch (error) {
      assert.equal((error as Error).name, 'SnapdebugError');
      return (error as Error).message;
    }
    return assert.fail('the archive was accepted');
  });
  assert.equal(messages[1], messages[0], 'the same refusal in 7-byte pieces');
  return messages[0]!;
}

const config = entry('config.dump', '{"name":"x"}');

describe('hostile archives', () => {
  it('accepts the archive the cases below are variations of', () => {
    const parser = new TarParser();
    const kinds = parser.push(tar(...podmanEntries())).filter((e) => e.kind === 'entry');
    assert.equal(kinds.length, 6);
    assert.deepEqual(parser.end(), []);
  });

  describe('names', () => {
    const twice = 'Archive entry "config.dump" appears twice: which one a reader takes would be ambiguous: the archive is refused.';

    it('refuses a duplicate entry', () => {
      assert.equal(refusal(tar(config, config)), twice);
    });

    it('refuses a duplicate spelled ./config.dump', () => {
      assert.equal(refusal(tar(config, entry('./config.dump', '{}'))), twice);
    });

    it('refuses a duplicate named through the ustar prefix field', () => {
      const prefixed = entry('core-1.img', 'x', { prefix: 'checkpoint' });
      assert.equal(
        refusal(tar(entry('checkpoint/core-1.img', 'y'), prefixed)),
        'Archive entry "checkpoint/core-1.img" appears twice: which one a reader takes would be ambiguous: the archive is refused.',
      );
      assert.equal(refusal(tar(config, entry('config.dump', '{}', { prefix: '.' }))), twice);
    });

    it('refuses a duplicate named by a pax path record', () => {
      assert.equal(refusal(tar(config, pax({ path: 'config.dump' }), entry('harmless.txt', '{}'))), twice);
    });

    it('refuses a duplicate named by a GNU long name', () => {
      assert.equal(refusal(tar(config, gnuLong('config.dump'), entry('harmless.txt', '{}', { magic: 'gnu' }))), twice);
    });

    it('refuses a folder and a file of the same name', () => {
      assert.equal(
        refusal(tar(entry('checkpoint/', '', { flag: '5' }), entry('checkpoint', 'x'))),
        'Archive entry "checkpoint" appears twice: which one a reader takes would be ambiguous: the archive is refused.',
      );
    });

    it('refuses .. in a name, however it is encoded', () => {
      const climbs = (name: string) => `Archive entry ${JSON.stringify(name)} climbs out of the archive's folder (..): the archive is refused.`;
      assert.equal(refusal(tar(entry('../etc/cron.d/x', 'x'))), climbs('../etc/cron.d/x'));
      assert.equal(refusal(tar(entry('checkpoint/../../x', 'x'))), climbs('checkpoint/../../x'));
      assert.equal(refusal(tar(entry('x', 'x', { prefix: 'checkpoint/..' }))), climbs('checkpoint/../x'));
      assert.equal(refusal(tar(pax({ path: 'volumes/../../root/.ssh/authorized_keys' }), entry('x', 'k'))), climbs('volumes/../../root/.ssh/authorized_keys'));
      assert.equal(refusal(tar(gnuLong('a/../../b'), entry('x', 'k', { magic: 'gnu' }))), climbs('a/../../b'));
    });

    it('refuses absolute paths', () => {
      assert.equal(refusal(tar(entry('/etc/passwd', 'x'))), 'Archive entry "/etc/passwd" is an absolute path: the archive is refused.');
      assert.equal(refusal(tar(gnuLong('/root/x'), entry('x', 'k', { magic: 'gnu' }))), 'Archive entry "/root/x" is an absolute path: the archive is refused.');
      assert.equal(refusal(tar(pax({ path: '/etc/shadow' }), entry('x', 'k'))), 'Archive entry "/etc/shadow" is an absolute path: the archive is refused.');
    });

    it('refuses names Go would clean into another one: empty parts, "." parts', () => {
      assert.equal(refusal(tar(entry('.//config.dump', '{}'))), 'Archive entry ".//config.dump" has an empty or "." part in its path: the archive is refused.');
      assert.equal(refusal(tar(entry('checkpoint/./core-1.img', 'x'))), 'Archive entry "checkpoint/./core-1.img" has an empty or "." part in its path: the archive is refused.');
    });

    it('refuses control characters, names that are not UTF-8, and a file named like a folder', () => {
      assert.equal(refusal(tar(entry('config.dump\nspec.dump', 'x'))), 'Archive entry "config.dump\\nspec.dump" has control characters in its name: the archive is refused.');
      const latin1 = header({ name: 'x', size: 0 });
      latin1[0] = 0xe9;
      // Fix the checksum after the edit, so only the name is wrong.
      const fixed = header({ name: 'x' });
      fixed.write(latin1.toString('latin1', 0, 1), 0, 1, 'latin1');
      fixed.fill(0x20, 148, 156);
      let sum = 0;
      for (const byte of fixed) sum += byte;
      fixed.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
      assert.equal(refusal(tar(fixed)), 'The first archive header has a name that is not valid UTF-8: the archive is refused.');
      assert.equal(refusal(tar(entry('config.dump/', '{}'))), 'Archive entry "config.dump/" is a file named like a folder: the archive is refused.');
    });

    it('refuses a name longer than 1024 bytes', () => {
      const long = `checkpoint/${'x'.repeat(1100)}`;
      assert.equal(refusal(tar(pax({ path: long }), entry('x', 'k'))), `Archive entry ${JSON.stringify(`${long.slice(0, 117)}...`)} has a name longer than 1024 bytes: the archive is refused.`);
    });

    it('refuses an entry named twice, by pax and by a GNU long name', () => {
      assert.equal(
        refusal(tar(gnuLong('a.img'), pax({ path: 'b.img' }), entry('c', 'k', { magic: 'gnu' }))),
        'Archive entry "b.img" is named twice, by a pax header and a GNU long name: the archive is refused.',
      );
    });
  });

  describe('links and devices', () => {
    it('refuses symbolic links other than podman\'s checkpoint/parent → ../pre-checkpoint', () => {
      assert.equal(
        refusal(tar(entry('checkpoint/evil', '', { flag: '2', linkName: '/etc' }))),
        'Archive entry "checkpoint/evil" is a symbolic link to "/etc", which podman never puts in a checkpoint archive: the archive is refused.',
      );
      assert.equal(
        refusal(tar(entry('checkpoint/parent', '', { flag: '2', linkName: '/' }))),
        'Archive entry "checkpoint/parent" is a symbolic link to "/", which podman never puts in a checkpoint archive: the archive is refused.',
      );
      assert.equal(
        refusal(tar(pax({ linkpath: '../../etc' }), entry('checkpoint/parent', '', { flag: '2', linkName: '../pre-checkpoint' }))),
        'Archive entry "checkpoint/parent" is a symbolic link to "../../etc", which podman never puts in a checkpoint archive: the archive is refused.',
      );
    });

    it('refuses an entry that lies behind even the allowed link', () => {
      const parent = entry('checkpoint/parent', '', { flag: '2', linkName: '../pre-checkpoint' });
      assert.equal(
        refusal(tar(parent, entry('checkpoint/parent/pages-1.img', 'x'))),
        'Archive entry "checkpoint/parent/pages-1.img" lies behind the symbolic link "checkpoint/parent": the archive is refused.',
      );
    });

    it('refuses hard links, devices and FIFOs', () => {
      assert.equal(
        refusal(tar(entry('spec.dump', '', { flag: '1', linkName: 'config.dump' }))),
        'Archive entry "spec.dump" is a hard link to "config.dump", which podman never puts in a checkpoint archive: the archive is refused.',
      );
      for (const [flag, words] of [
        ['3', 'character device'],
        ['4', 'block device'],
        ['6', 'FIFO'],
      ]) {
        assert.equal(refusal(tar(entry('checkpoint/dev', '', { flag }))), `Archive entry "checkpoint/dev" is a ${words}, which podman never puts in a checkpoint archive: the archive is refused.`);
      }
    });

    it('refuses entry types podman never writes, sparse files among them', () => {
      assert.equal(refusal(tar(entry('x', 'k', { flag: 'S', magic: 'gnu' }))), 'Archive entry "x" has the entry type "S", which podman never writes: the archive is refused.');
      assert.equal(refusal(tar(pax({ 'GNU.sparse.map': '0,10' }), entry('x', 'k'))), 'The first archive header describes a sparse file, which podman never writes: the archive is refused.');
    });

    it('refuses a folder or link with content', () => {
      assert.equal(refusal(tar(entry('checkpoint/', 'x'.repeat(10), { flag: '5' }))), 'Archive entry "checkpoint" is a folder with 10 bytes of content: the archive is refused.');
    });
  });

  describe('headers', () => {
    it('refuses a header whose checksum is wrong', () => {
      assert.equal(refusal(tar(header({ name: 'config.dump', badChecksum: true }))), 'The first archive header has a wrong checksum (the archive is damaged or forged): the archive is refused.');
      assert.equal(
        refusal(tar(config, header({ name: 'spec.dump', badChecksum: true }))),
        'The archive header after entry "config.dump" has a wrong checksum (the archive is damaged or forged): the archive is refused.',
      );
    });

    it('refuses a header in neither ustar nor GNU format', () => {
      assert.equal(refusal(tar(header({ name: 'config.dump', magic: 'v7' }))), 'The first archive header is not in ustar or GNU format: the archive is refused.');
    });

    it('refuses entries hidden behind a lone zero block', () => {
      assert.equal(
        refusal(Buffer.concat([config, Buffer.alloc(block), entry('spec.dump', '{}'), endMarker])),
        'The archive header after entry "config.dump" follows a lone zero block: entries are hidden behind an end marker: the archive is refused.',
      );
    });

    it('refuses a pax or GNU record with no entry after it', () => {
      assert.equal(refusal(Buffer.concat([config, pax({ path: 'x' }), endMarker])), 'The archive header after entry "config.dump" is a pax or GNU record with no entry after it: the archive is refused.');
    });

    it('refuses a second pax header or GNU long name for one entry', () => {
      assert.equal(refusal(tar(pax({ path: 'a' }), pax({ path: 'b' }), entry('x', 'k'))), 'The first archive header is a second pax header for one entry: the archive is refused.');
      assert.equal(refusal(tar(gnuLong('a'), gnuLong('b'), entry('x', 'k', { magic: 'gnu' }))), 'The first archive header is a second GNU long name for one entry: the archive is refused.');
    });

    it('refuses a global pax header that would rename or resize what follows', () => {
      assert.equal(refusal(tar(pax({ path: 'config.dump' }, 'g'), entry('x', 'k'))), 'The first archive header is a global pax header that sets path for every entry after it: the archive is refused.');
      assert.equal(refusal(tar(pax({ size: '9' }, 'g'), entry('x', 'k'))), 'The first archive header is a global pax header that sets size for every entry after it: the archive is refused.');
    });

    it('reads a global pax header that changes nothing it relies on', () => {
      const parser = new TarParser();
      const names = parser
        .push(tar(pax({ comment: 'made by hand' }, 'g'), config))
        .flatMap((e) => (e.kind === 'entry' ? [e.entry.name] : []));
      assert.deepEqual(names, ['config.dump']);
    });

    it('refuses malformed pax records', () => {
      const broken = (records: string) => tar(entry('PaxHeaders/x', records, { flag: 'x' }), entry('x', 'k'));
      assert.equal(refusal(broken('99 path=x\n')), 'The first archive header is a pax header with a record whose length is wrong: the archive is refused.');
      assert.equal(refusal(broken('path=x\n')), 'The first archive header is a pax header with a record that has no length: the archive is refused.');
      assert.equal(refusal(broken('9 path=x\n9 path=y\n')), 'The first archive header is a pax header that gives path twice: the archive is refused.');
      assert.equal(refusal(broken('6 =xy\n')), 'The first archive header is a pax header with a record that has no key: the archive is refused.');
    });

    it('refuses pax and GNU records larger than 64 KiB before reading them', () => {
      assert.equal(
        refusal(Buffer.concat([header({ name: 'PaxHeaders/x', size: 1 << 30, flag: 'x' })])),
        'The first archive header is a pax header of 1073741824 bytes (at most 65536 are read): the archive is refused.',
      );
      assert.equal(
        refusal(Buffer.concat([header({ name: '././@LongLink', size: 70_000, flag: 'L', magic: 'gnu' })])),
        'The first archive header is a GNU long name of 70000 bytes (at most 65536 are read): the archive is refused.',
      );
    });
  });

  describe('sizes', () => {
    it('refuses a pax size that disagrees with the header\'s', () => {
      assert.equal(refusal(tar(pax({ size: '1000000' }), entry('config.dump', '{"name":"x"}'))), 'Archive entry "config.dump" has a pax size of 1000000 bytes but a header size of 12: the archive is refused.');
    });

    it('refuses a pax size that runs past the end of the stream', () => {
      const lying = Buffer.concat([pax({ size: '1000000' }), header({ name: 'config.dump', size: 0 }), Buffer.alloc(block, 0x41), endMarker]);
      assert.equal(refusal(lying), 'Archive entry "config.dump" ends after 1536 of its 1000000 bytes: the archive is truncated: the archive is refused.');
    });

    it('refuses a pax size that is not a byte count', () => {
      assert.equal(refusal(tar(pax({ size: '-1' }), entry('x', ''))), 'The first archive header has a pax size that is not a byte count ("-1"): the archive is refused.');
      assert.equal(refusal(tar(pax({ size: '1e9' }), entry('x', ''))), 'The first archive header has a pax size that is not a byte count ("1e9"): the archive is refused.');
    });

    it('refuses a header size field that is not a number, and a negative base-256 one', () => {
      const garbage = header({ name: 'x' });
      garbage.write('12x45678901\0', 124, 12, 'latin1');
      garbage.fill(0x20, 148, 156);
      let sum = 0;
      for (const byte of garbage) sum += byte;
      garbage.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
      assert.equal(refusal(tar(garbage)), 'The first archive header has a size field that is not a number: the archive is refused.');
      const negative = header({ name: 'x' });
      negative.fill(0xff, 124, 136);
      negative.fill(0x20, 148, 156);
      sum = 0;
      for (const byte of negative) sum += byte;
      negative.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
      assert.equal(refusal(tar(negative)), 'The first archive header has a negative size: the archive is refused.');
    });

    it('refuses an entry that runs past the end of the stream', () => {
      const cut = Buffer.concat([header({ name: 'checkpoint/pages-1.img', size: 1 << 20 }), Buffer.alloc(4096)]);
      assert.equal(refusal(cut), 'Archive entry "checkpoint/pages-1.img" ends after 4096 of its 1048576 bytes: the archive is truncated: the archive is refused.');
    });

    it('refuses an archive without its end marker', () => {
      assert.equal(refusal(config), 'The archive ends without its end-of-archive marker (the last entry read was "config.dump"): it is truncated, and refused.');
    });

    it('refuses an entry it was asked to keep that is larger than maxKeptBytes, before reading its body', () => {
      const big = header({ name: 'config.dump', size: 5 * 1024 * 1024 });
      assert.equal(
        refusal(big, { keep: (e) => e.name === 'config.dump' }),
        'Archive entry "config.dump" is 5242880 bytes, more than the 4194304 read into memory (podman writes tens of KiB): the archive is refused.',
      );
    });

    it('refuses more entries than maxEntries', () => {
      const many = tar(...Array.from({ length: 6 }, (_, i) => entry(`checkpoint/core-${i}.img`, 'x')));
      assert.equal(refusal(many, { limits: { maxEntries: 5 } }), 'Archive entry "checkpoint/core-5.img" comes after 5 entries, more than a checkpoint archive holds: the archive is refused.');
    });
  });
});
