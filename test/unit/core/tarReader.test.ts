// The incremental tar reader against archives written by GNU tar in each format, fed in small
// random pieces: names (long ones too), sizes, wanted contents byte for byte, and the end marker.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TarReader, type TarEntry } from '../../../src/core/archive/tarReader';
import { fixedChunks, fixture, plannedTempDir, randomChunks } from '../helpers';

interface Seen {
  entries: TarEntry[];
  contents: Map<string, Buffer>;
  reader: TarReader;
}

function readTar(pieces: Buffer[], wants: (entry: TarEntry) => boolean): Seen {
  const seen: Omit<Seen, 'reader'> = { entries: [], contents: new Map() };
  const reader = new TarReader(wants, (entry, contents) => {
    seen.entries.push(entry);
    if (contents) seen.contents.set(entry.name, Buffer.from(contents));
  });
  for (const piece of pieces) reader.push(piece);
  return { ...seen, reader };
}

describe('TarReader', () => {
  const temp = plannedTempDir('tar');
  before(() => temp.create());
  const src = join(temp.dir, 'src');
  // A name over 100 characters that ustar can still split into prefix (≤155) and name (≤100).
  const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
  const longName = `${longDir}/${'f'.repeat(90)}.img`;
  const files: Record<string, Buffer> = {
    'config.dump': Buffer.from(JSON.stringify({ name: 'demo-api', labels: { a: 'b' } })),
    'empty.txt': Buffer.alloc(0),
    'exactly-512.bin': randomBytes(512),
    'exactly-1024.bin': randomBytes(1024),
    'checkpoint/pages-1.img': randomBytes(70_001),
    'checkpoint/inventory.img': randomBytes(86),
    [longName]: randomBytes(1500),
  };
  const order = ['config.dump', 'empty.txt', 'exactly-512.bin', 'exactly-1024.bin', 'checkpoint', longDir.split('/')[0]!];

  function tarBytes(format: 'ustar' | 'pax' | 'gnu', names = order): Buffer {
    return execFileSync('tar', ['-C', src, `--format=${format}`, '--sort=name', '-cf', '-', ...names], { maxBuffer: 64 * 1024 * 1024 });
  }

  /** What GNU tar itself lists, without the trailing slash it shows for folders. */
  function tarList(archive: Buffer): string[] {
    return execFileSync('tar', ['-tf', '-'], { input: archive, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((n) => n.replace(/\/$/, ''));
  }

  before(() => {
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(dirname(join(src, name)), { recursive: true });
      writeFileSync(join(src, name), data);
    }
  });
  after(() => temp.cleanup());

  for (const format of ['ustar', 'pax'] as const) {
    describe(`--format=${format}`, () => {
      it('lists the same entries GNU tar lists, long names included, in any chunking', () => {
        const archive = tarBytes(format);
        const expected = tarList(archive);
        assert.ok(expected.includes(longName), 'the fixture archive should hold the long name');
        for (const [label, pieces] of [
          ['whole', [archive]],
          ['1-byte', fixedChunks(archive, 1)],
          ['random ≤700', randomChunks(archive, 700, 7)],
          ['random ≤10', randomChunks(archive, 10, 11)],
        ] as const) {
          const seen = readTar([...pieces], () => false);
          assert.deepEqual(
            seen.entries.map((e) => e.name.replace(/\/$/, '')),
            expected,
            `${label} chunks`,
          );
          assert.equal(seen.reader.finished, true, `${label}: the end-of-archive marker was seen`);
        }
      });

      it('hands over exactly the wanted files, byte for byte, and sizes for all', () => {
        const archive = tarBytes(format);
        const wanted = new Set(['config.dump', 'empty.txt', 'exactly-512.bin', 'checkpoint/pages-1.img', longName]);
        const seen = readTar(randomChunks(archive, 997, 3), (e) => wanted.has(e.name));
        for (const name of wanted) assert.deepEqual(seen.contents.get(name), files[name], name);
        assert.ok(!seen.contents.has('exactly-1024.bin'), 'unwanted contents are not kept');
        for (const [name, data] of Object.entries(files)) {
          const entry = seen.entries.find((e) => e.name === name);
          assert.ok(entry, `entry ${name}`);
          assert.equal(entry.size, data.length, `size of ${name}`);
          assert.equal(entry.type, '0', `type of ${name}`);
        }
        const dir = seen.entries.find((e) => e.name.replace(/\/$/, '') === 'checkpoint');
        assert.equal(dir?.type, '5');
      });
    });
  }

  it('reads the short names of a GNU-format archive', () => {
    const names = ['config.dump', 'empty.txt', 'exactly-512.bin', 'checkpoint'];
    const archive = tarBytes('gnu', names);
    const seen = readTar(randomChunks(archive, 300, 5), (e) => e.name === 'config.dump');
    assert.deepEqual(
      seen.entries.map((e) => e.name.replace(/\/$/, '')),
      tarList(archive),
    );
    assert.deepEqual(seen.contents.get('config.dump'), files['config.dump']);
  });

  it('strips a leading ./ from names', () => {
    const archive = execFileSync('tar', ['-C', src, '--format=ustar', '-cf', '-', './config.dump']);
    const seen = readTar([archive], () => true);
    assert.equal(seen.entries[0]?.name, 'config.dump');
    assert.deepEqual(seen.contents.get('config.dump'), files['config.dump']);
  });

  it('waits for more bytes in the middle of a header or a body without reporting anything early', () => {
    const archive = tarBytes('ustar', ['config.dump']);
    const seen = readTar([archive.subarray(0, 300)], () => true);
    assert.equal(seen.entries.length, 0);
    seen.reader.push(archive.subarray(300, 520));
    assert.equal(seen.entries.length, 0, 'the body is not complete yet');
    seen.reader.push(archive.subarray(520));
    assert.equal(seen.entries.length, 1);
    assert.equal(seen.reader.finished, true);
  });

  it('is not finished before the end-of-archive marker, and ignores bytes after it', () => {
    const archive = tarBytes('ustar', ['config.dump']);
    const withoutEnd = archive.subarray(0, 1024); // header + one block of body
    const seen = readTar([withoutEnd], () => false);
    assert.equal(seen.entries.length, 1);
    assert.equal(seen.reader.finished, false);
    seen.reader.push(Buffer.alloc(512));
    assert.equal(seen.reader.finished, true);
    seen.reader.push(tarBytes('ustar', ['empty.txt']));
    assert.equal(seen.entries.length, 1, 'nothing is read after the end marker');
  });

  it('reads the entries at the head of the real podman checkpoint archive', () => {
    // zstd complains that the input ends early (it is a head), but prints all it could decode.
    const head = spawnSync('zstd', ['-dc', fixture('demo-api-checkpoint-head.tar.zst')], { maxBuffer: 64 * 1024 * 1024 }).stdout;
    assert.ok(head.length > 100_000);
    const seen = readTar(randomChunks(head, 4096, 13), (e) => e.name === 'stats-dump');
    const names = seen.entries.map((e) => e.name);
    assert.deepEqual(names.slice(0, 8), ['artifacts/', 'devshm-checkpoint.tar', 'config.dump', 'spec.dump', 'network.status', 'stats-dump', 'ctr.log', 'checkpoint/']);
    assert.equal(seen.entries.find((e) => e.name === 'config.dump')?.size, 23391);
    assert.deepEqual(seen.contents.get('stats-dump'), readFileSync(fixture('stats-dump')));
    assert.equal(seen.reader.finished, false, 'the fixture is only the head of the archive');
  });
});
