// The one tar reader against archives written by GNU tar in each format (ustar with prefix names,
// pax, GNU long names), fed in awkward pieces: names, types, sizes, kept contents byte for byte,
// the bytes it hands back for rewriting, and the end marker; then tarEntries() and
// archiveStream(), the pull-style API, on the same archives and on real podman ones.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { archiveStream, tarEntries, type TarEntry } from '../../../src/core/archive/tar';
import { TarParser, type TarEvent } from '../../../src/core/archive/tarParser';
import { fixedChunks, fixture, plannedTempDir, randomChunks } from '../helpers';
import { zstdWindowBomb } from './tarBuild';

interface Seen {
  entries: TarEntry[];
  contents: Map<string, Buffer>;
  /** Every byte the parser handed back, in order: it must be the input itself. */
  echoed: Buffer;
  parser: TarParser;
}

function parse(pieces: Buffer[], keep: (entry: TarEntry) => boolean = () => false): Seen {
  const parser = new TarParser(keep);
  const entries: TarEntry[] = [];
  const contents = new Map<string, Buffer>();
  const echoed: Buffer[] = [];
  const body: Buffer[] = [];
  const onEvent = (event: TarEvent) => {
    if (event.kind === 'entry') {
      entries.push(event.entry);
      echoed.push(...event.header);
    } else if (event.kind === 'data') echoed.push(event.chunk);
    else if (event.kind === 'kept') {
      contents.set(entries.at(-1)!.name, event.contents);
      body.push(event.contents);
      echoed.push(event.contents);
    } else if (event.kind === 'raw') echoed.push(event.bytes);
  };
  for (const piece of pieces) parser.push(piece).forEach(onEvent);
  return { entries, contents, echoed: Buffer.concat(echoed), parser };
}

async function* from(pieces: Buffer[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) yield piece;
}

/**
 * A source like archiveStream's: every piece is copied into ONE buffer, which the next piece
 * overwrites (after scribbling over it, so that bytes kept by reference are caught).
 */
async function* reusing(pieces: Buffer[]): AsyncGenerator<Buffer> {
  const shared = Buffer.alloc(Math.max(...pieces.map((p) => p.length)));
  for (const piece of pieces) {
    shared.fill(0xee);
    piece.copy(shared);
    yield shared.subarray(0, piece.length);
  }
}

describe('tar reader', () => {
  const temp = plannedTempDir('tar');
  before(() => temp.create());
  const src = join(temp.dir, 'src');
  // A name over 100 bytes that ustar can still split into prefix (≤155) and name (≤100).
  const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
  const longName = `${longDir}/${'f'.repeat(90)}.img`;
  // One no format but pax and GNU can hold: a single 180-byte path component.
  const unsplittable = `volumes/${'v'.repeat(180)}.tar`;
  const files: Record<string, Buffer> = {
    'config.dump': Buffer.from(JSON.stringify({ name: 'demo-api', labels: { a: 'b' } })),
    'empty.txt': Buffer.alloc(0),
    'exactly-512.bin': randomBytes(512),
    'exactly-1024.bin': randomBytes(1024),
    'checkpoint/pages-1.img': randomBytes(70_001),
    'checkpoint/inventory.img': randomBytes(86),
    [longName]: randomBytes(1500),
    [unsplittable]: randomBytes(700),
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

  for (const format of ['ustar', 'pax', 'gnu'] as const) {
    describe(`--format=${format}`, () => {
      const names = format === 'ustar' ? order : [...order, 'volumes'];

      it('lists the entries GNU tar lists, long names included, in any chunking, and hands every byte back', () => {
        const archive = tarBytes(format, names);
        const expected = tarList(archive);
        assert.ok(expected.includes(longName), 'the archive should hold the long name');
        if (format !== 'ustar') assert.ok(expected.includes(unsplittable), 'and the one only pax or GNU can name');
        for (const [label, pieces] of [
          ['whole', [archive]],
          ['1-byte', fixedChunks(archive, 1)],
          ['random ≤700', randomChunks(archive, 700, 7)],
          ['random ≤10', randomChunks(archive, 10, 11)],
        ] as const) {
          const seen = parse([...pieces]);
          assert.deepEqual(
            seen.entries.map((e) => e.name),
            expected,
            `${label} chunks`,
          );
          assert.equal(seen.parser.ended, true, `${label}: the end-of-archive marker was read`);
          assert.deepEqual(seen.echoed, archive, `${label}: the events carry the input, byte for byte`);
        }
      });

      it('keeps exactly the wanted bodies, byte for byte, and gives sizes, types and modes for all', () => {
        const archive = tarBytes(format, names);
        const wanted = new Set(['config.dump', 'empty.txt', 'exactly-512.bin', 'checkpoint/pages-1.img', longName]);
        const seen = parse(randomChunks(archive, 997, 3), (e) => wanted.has(e.name));
        for (const name of wanted) assert.deepEqual(seen.contents.get(name), files[name], name);
        assert.ok(!seen.contents.has('exactly-1024.bin'), 'unwanted bodies are not kept');
        for (const [name, data] of Object.entries(files)) {
          if (format === 'ustar' && name === unsplittable) continue;
          const entry = seen.entries.find((e) => e.name === name);
          assert.ok(entry, `entry ${name}`);
          assert.equal(entry.size, data.length, `size of ${name}`);
          assert.equal(entry.type, 'file', `type of ${name}`);
          assert.equal(entry.mode & 0o777, 0o644, `mode of ${name}`);
        }
        assert.equal(seen.entries.find((e) => e.name === 'checkpoint')?.type, 'directory');
      });
    });
  }

  it('strips a leading ./ from names, and reads the archive folder itself as "."', () => {
    const archive = execFileSync('tar', ['-C', src, '--format=pax', '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
    const seen = parse([archive], () => true);
    assert.equal(seen.entries[0]?.name, '.');
    assert.ok(seen.entries.some((e) => e.name === 'config.dump'));
    assert.deepEqual(seen.contents.get('config.dump'), files['config.dump']);
  });

  it('reads the one symbolic link podman writes: checkpoint/parent → ../pre-checkpoint', () => {
    const dir = join(temp.dir, 'with-previous');
    mkdirSync(join(dir, 'checkpoint'), { recursive: true });
    writeFileSync(join(dir, 'checkpoint', 'inventory.img'), 'x');
    symlinkSync('../pre-checkpoint', join(dir, 'checkpoint', 'parent'));
    const seen = parse([execFileSync('tar', ['-C', dir, '-cf', '-', 'checkpoint'])]);
    const link = seen.entries.find((e) => e.name === 'checkpoint/parent');
    assert.deepEqual(link && { type: link.type, linkName: link.linkName, size: link.size }, { type: 'symlink', linkName: '../pre-checkpoint', size: 0 });
  });

  it('waits for more bytes in the middle of a header or a body without reporting anything early', () => {
    const archive = tarBytes('ustar', ['config.dump']);
    const parser = new TarParser(() => true);
    assert.deepEqual(parser.push(archive.subarray(0, 300)), []);
    assert.deepEqual(
      parser.push(archive.subarray(300, 520)).map((e) => e.kind),
      ['entry'],
      'the header is complete, the kept body is not',
    );
    assert.deepEqual(
      parser.push(archive.subarray(520)).map((e) => e.kind),
      ['kept', 'entryEnd', 'raw', 'archiveEnd', 'raw', 'raw', 'raw'],
    );
    assert.equal(parser.ended, true);
    assert.deepEqual(parser.end(), []);
  });

  it('passes what follows the end marker on as raw bytes, without reading it', () => {
    const archive = tarBytes('ustar', ['config.dump']);
    const seen = parse([archive, randomBytes(3000)]);
    assert.equal(seen.entries.length, 1, 'nothing is read after the end marker');
    assert.equal(seen.echoed.length, archive.length + 3000);
  });

  it('reads the entries at the head of the real podman checkpoint archive', () => {
    // zstd complains that the input ends early (it is a head), but prints all it could decode.
    const head = spawnSync('zstd', ['-dc', fixture('demo-api-checkpoint-head.tar.zst')], { maxBuffer: 64 * 1024 * 1024 }).stdout;
    assert.ok(head.length > 100_000);
    const seen = parse(randomChunks(head, 4096, 13), (e) => e.name === 'stats-dump');
    const names = seen.entries.map((e) => `${e.type} ${e.name}`);
    assert.deepEqual(names.slice(0, 8), [
      'directory artifacts',
      'file devshm-checkpoint.tar',
      'file config.dump',
      'file spec.dump',
      'file network.status',
      'file stats-dump',
      'file ctr.log',
      'directory checkpoint',
    ]);
    assert.equal(seen.entries.find((e) => e.name === 'config.dump')?.size, 23391);
    assert.deepEqual(seen.contents.get('stats-dump'), readFileSync(fixture('stats-dump')));
    assert.equal(seen.parser.ended, false, 'the fixture is only the head of the archive');
    assert.throws(() => seen.parser.end(), /is truncated/);
  });

  describe('tarEntries', () => {
    it('yields each entry with its body, in any chunking', async () => {
      const archive = tarBytes('pax', [...order, 'volumes']);
      const read: Record<string, Buffer> = {};
      for await (const { entry, body } of tarEntries(from(randomChunks(archive, 5000, 5)))) {
        const parts: Buffer[] = [];
        for await (const part of body) parts.push(part);
        if (entry.type === 'file') read[entry.name] = Buffer.concat(parts);
      }
      assert.deepEqual(read, files);
    });

    it('skips a body that is not read, or read only in part', async () => {
      const archive = tarBytes('ustar');
      const seen: string[] = [];
      for await (const { entry, body } of tarEntries(from(fixedChunks(archive, 333)))) {
        seen.push(entry.name);
        if (entry.name === 'checkpoint/pages-1.img') {
          for await (const _part of body) break; // one piece, then on
        }
      }
      assert.deepEqual(seen, tarList(archive));
    });

    it('gives whole contents up to maxKeptBytes, and refuses above it before reading', async () => {
      const archive = tarBytes('ustar');
      const contents: Record<string, Buffer> = {};
      for await (const item of tarEntries(from([archive]), { maxKeptBytes: 2000 })) {
        if (item.entry.name === 'config.dump') contents['config.dump'] = await item.contents();
        if (item.entry.name === 'checkpoint/pages-1.img') {
          await assert.rejects(item.contents(), /Archive entry "checkpoint\/pages-1\.img" is 70001 bytes, more than the 2000 read into memory/);
        }
      }
      assert.deepEqual(contents['config.dump'], files['config.dump']);
    });

    it('keeps nothing by reference from a source that reuses its buffer: records, headers and contents that span pieces', async () => {
      for (const format of ['pax', 'gnu', 'ustar'] as const) {
        const archive = tarBytes(format, format === 'ustar' ? order : [...order, 'volumes']);
        const expected = Object.fromEntries(Object.entries(files).filter(([name]) => name !== unsplittable || format !== 'ustar'));
        for (const size of [100, 333, 512, 4099]) {
          const names: string[] = [];
          const read: Record<string, Buffer> = {};
          for await (const { entry, contents } of tarEntries(reusing(fixedChunks(archive, size)))) {
            names.push(entry.name);
            if (entry.type === 'file') read[entry.name] = await contents();
          }
          assert.deepEqual(names, tarList(archive), `${format} in pieces of ${size}`);
          assert.deepEqual(read, expected, `${format} in pieces of ${size}`);
        }
      }
    });

    it('refuses a body read after the next entry was asked for', async () => {
      const bodies: Array<AsyncIterable<Buffer>> = [];
      for await (const { body } of tarEntries(from([tarBytes('ustar', ['config.dump', 'empty.txt'])]))) bodies.push(body);
      await assert.rejects(async () => {
        for await (const _part of bodies[0]!);
      }, /was read after the next entry was asked for/);
    });

    it('throws the reader\'s refusal, naming the entry', async () => {
      const truncated = tarBytes('ustar', ['exactly-1024.bin']).subarray(0, 512 + 300);
      await assert.rejects(async () => {
        for await (const { body } of tarEntries(from([truncated]))) for await (const _part of body);
      }, /^SnapdebugError: Archive entry "exactly-1024\.bin" ends after 300 of its 1024 bytes: the archive is truncated: the archive is refused\.$/);
    });
  });

  describe('archiveStream', () => {
    for (const [label, compress] of [
      ['zstd', ['zstd', '-q', '-c']],
      ['gzip', ['gzip', '-c']],
      ['plain', ['cat']],
    ] as const) {
      it(`decompresses a ${label} archive file for tarEntries`, async () => {
        const path = join(temp.dir, `stream.${label}`);
        writeFileSync(path, execFileSync(compress[0], compress.slice(1), { input: tarBytes('ustar'), maxBuffer: 64 * 1024 * 1024 }));
        const names: string[] = [];
        for await (const { entry } of tarEntries(archiveStream(path))) names.push(entry.name);
        assert.deepEqual(names, tarList(tarBytes('ustar')));
      });
    }

    for (const [label, compress] of [
      ['zstd', ['zstd', '-q', '-c']],
      ['plain', ['cat']],
    ] as const) {
      it(`reads a ${label} archive into one reused buffer, whose pieces tarEntries never keeps`, async () => {
        const path = join(temp.dir, `reused.${label}`);
        const archive = tarBytes('pax', [...order, 'volumes']);
        writeFileSync(path, execFileSync(compress[0], compress.slice(1), { input: archive, maxBuffer: 64 * 1024 * 1024 }));
        const memory = new Set<ArrayBufferLike>();
        const source = (async function* () {
          for await (const chunk of archiveStream(path)) {
            memory.add(chunk.buffer);
            yield chunk;
          }
        })();
        const read: Record<string, Buffer> = {};
        for await (const { entry, contents } of tarEntries(source)) if (entry.type === 'file') read[entry.name] = await contents();
        assert.equal(memory.size, 1, 'every piece lies in the same memory');
        assert.deepEqual(read, files);
      });
    }

    it('holds the zstd program to a 32 MiB window, as the stream decoders', async () => {
      const path = join(temp.dir, 'window.tar.zst');
      writeFileSync(path, zstdWindowBomb(1.5 * 1024 * 1024 * 1024));
      await assert.rejects(async () => {
        for await (const _chunk of archiveStream(path));
      }, /Window size larger than maximum : 1610612736 > 33554432/);
    });

    it('fails the reader with the file\'s own error', async () => {
      await assert.rejects(async () => {
        for await (const _chunk of archiveStream(join(temp.dir, 'missing.tar.zst')));
      }, /ENOENT/);
    });

    it('stops when its signal is aborted', async () => {
      const path = join(temp.dir, 'abort.tar');
      writeFileSync(path, tarBytes('ustar'));
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(async () => {
        for await (const _chunk of archiveStream(path, controller.signal));
      }, /abort/i);
    });

    it('reads the layout of a real podman archive: its 37 entries, as GNU tar lists them', async () => {
      const path = fixture('demo-api-layout.tar.zst');
      const names: string[] = [];
      for await (const { entry } of tarEntries(archiveStream(path))) names.push(entry.name);
      const expected = execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -tf -', 'sh', path], { encoding: 'utf8' }).split('\n').filter(Boolean);
      assert.deepEqual(names, expected.map((n) => n.replace(/\/$/, '')));
      assert.equal(names.length, 37);
    });
  });
});
