// Relabelling a checkpoint archive as it streams: config.dump gains labels, every other entry passes
// byte for byte, and GNU tar accepts the result. Archives are built here with tar, zstd and gzip.
// (Names in every encoding, refusals and approval: relabelNames.test.ts.)
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressor, zstdProgram } from '../../../src/core/archive/decompress';
import { addAnnotations, addLabels, DumpRewriter, entryRenames, entryRewrites, type CopyRewrite } from '../../../src/core/archive/relabel';
import { fixedChunks, plannedTempDir, randomChunks, waitUntil } from '../helpers';

const newLabels = { 'snapdebug.origin': 'demo-api-20260101-120000-abcd', 'snapdebug.role': 'debug copy' };

/** Runs bytes through decompressor() and a DumpRewriter; returns the output and the rewriter. */
async function relabel(pieces: Buffer[], rewrite: Omit<CopyRewrite, 'original'> = { labels: newLabels }): Promise<{ output: Buffer; rewriter: DumpRewriter }> {
  const rewriter = new DumpRewriter(entryRewrites(rewrite));
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(Buffer.from(chunk));
      done();
    },
  });
  await pipeline(Readable.from(pieces), decompressor(), rewriter, sink);
  return { output: Buffer.concat(out), rewriter };
}

describe('relabel', () => {
  const temp = plannedTempDir('relabel');
  before(() => temp.create());
  const src = join(temp.dir, 'src');
  const files: Record<string, Buffer> = {
    'devshm-checkpoint.tar': randomBytes(1536),
    'config.dump': Buffer.from(JSON.stringify({ name: 'x', labels: { a: 'b' }, other: [1, 2, 3] }, null, 2)),
    'spec.dump': Buffer.from(JSON.stringify({ ociVersion: '1.2.0' })),
    'stats-dump': randomBytes(50),
    'empty.log': Buffer.alloc(0),
    'checkpoint/exactly-512.img': randomBytes(512),
    'checkpoint/pages-1.img': randomBytes(300_000),
    'checkpoint/inventory.img': randomBytes(86),
  };
  const members = ['devshm-checkpoint.tar', 'config.dump', 'spec.dump', 'stats-dump', 'empty.log', 'checkpoint'];

  function archive(format: 'ustar' | 'gnu' | 'pax' = 'gnu'): Buffer {
    return execFileSync('tar', ['-C', src, `--format=${format}`, '-cf', '-', ...members], { maxBuffer: 64 * 1024 * 1024 });
  }
  const zstd = (tar: Buffer) => execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 64 * 1024 * 1024 });
  const gzip = (tar: Buffer) => execFileSync('gzip', ['-c'], { input: tar, maxBuffer: 64 * 1024 * 1024 });

  /** Checks the relabelled tar with GNU tar: it lists cleanly, labels are added, the rest is unchanged. */
  function verify(output: Buffer, label: string): void {
    const listing = execFileSync('tar', ['-tvf', '-'], { input: output, encoding: 'utf8' });
    assert.match(listing, /config\.dump/, `${label}: tar -tvf lists config.dump`);
    const config = JSON.parse(execFileSync('tar', ['-xOf', '-', 'config.dump'], { input: output, encoding: 'utf8' })) as Record<string, unknown>;
    assert.deepEqual(config, { name: 'x', labels: { a: 'b', ...newLabels }, other: [1, 2, 3] }, `${label}: config.dump`);
    const out = join(temp.dir, `extract-${label}`);
    mkdirSync(out, { recursive: true });
    execFileSync('tar', ['-C', out, '-xf', '-'], { input: output });
    for (const [name, data] of Object.entries(files)) {
      if (name === 'config.dump') continue;
      assert.deepEqual(readFileSync(join(out, name)), data, `${label}: ${name} is byte-identical`);
    }
  }

  before(() => {
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(dirname(join(src, name)), { recursive: true });
      writeFileSync(join(src, name), data);
    }
  });
  after(() => temp.cleanup());

  it('relabels a zstd archive made by the zstd CLI, fed in random chunks', async () => {
    const { output, rewriter } = await relabel(randomChunks(zstd(archive()), 5000, 17));
    assert.equal(rewriter.complete, true);
    verify(output, 'zstd');
  });

  it('relabels a gzip archive fed in 1000-byte chunks', async () => {
    const { output, rewriter } = await relabel(fixedChunks(gzip(archive()), 1000));
    assert.equal(rewriter.complete, true);
    verify(output, 'gzip');
  });

  for (const format of ['gnu', 'ustar', 'pax'] as const) {
    it(`relabels a plain ${format} tar fed in tiny random chunks`, async () => {
      const { output, rewriter } = await relabel(randomChunks(archive(format), 97, 29));
      assert.equal(rewriter.complete, true);
      verify(output, `plain-${format}`);
    });
  }

  it('finds config.dump stored as ./config.dump, and writes it back under its plain name', async () => {
    const tar = execFileSync('tar', ['-C', src, '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
    assert.match(execFileSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' }), /^\.\/config\.dump$/m);
    const { output, rewriter } = await relabel(randomChunks(gzip(tar), 3000, 41));
    assert.equal(rewriter.complete, true);
    const listing = execFileSync('tar', ['-tf', '-'], { input: output, encoding: 'utf8' }).split('\n');
    assert.ok(listing.includes('config.dump') && !listing.includes('./config.dump'), listing.join(' '));
    const config = JSON.parse(execFileSync('tar', ['-xOf', '-', 'config.dump'], { input: output, encoding: 'utf8' })) as { labels: unknown };
    assert.deepEqual(config.labels, { a: 'b', ...newLabels });
  });

  it('keeps the archive block-aligned: output is a whole number of 512-byte blocks', async () => {
    const { output } = await relabel([archive()]);
    assert.equal(output.length % 512, 0);
  });

  it('fails the stream when the archive has no config.dump', async () => {
    const tar = execFileSync('tar', ['-C', src, '-cf', '-', 'spec.dump', 'checkpoint']);
    await assert.rejects(relabel(randomChunks(tar, 700, 3)), /^SnapdebugError: The archive has no config\.dump: it is not a podman checkpoint archive\.$/);
  });

  it('also writes annotations into spec.dump when asked, wherever it stands in the archive', async () => {
    const annotations = { 'org.criu.config': '/var/tmp/snapdebug-criu-x.conf' };
    for (const order of [members, [...members].reverse()]) {
      const tar = execFileSync('tar', ['-C', src, '-cf', '-', ...order], { maxBuffer: 64 * 1024 * 1024 });
      const { output, rewriter } = await relabel(randomChunks(zstd(tar), 3000, 7), { labels: newLabels, annotations });
      assert.deepEqual([...rewriter.rewritten].sort(), ['config.dump', 'spec.dump']);
      const spec = JSON.parse(execFileSync('tar', ['-xOf', '-', 'spec.dump'], { input: output, encoding: 'utf8' })) as Record<string, unknown>;
      assert.deepEqual(spec, { ociVersion: '1.2.0', annotations });
      const config = JSON.parse(execFileSync('tar', ['-xOf', '-', 'config.dump'], { input: output, encoding: 'utf8' })) as { labels: unknown };
      assert.deepEqual(config.labels, { a: 'b', ...newLabels });
      assert.deepEqual(execFileSync('tar', ['-xOf', '-', 'checkpoint/pages-1.img'], { input: output, maxBuffer: 64 * 1024 * 1024 }), files['checkpoint/pages-1.img'], 'the rest passes unchanged');
    }
  });

  it('gives the copy its own volumes: config.dump, spec.dump\'s mount source and volumes/NAME.tar renamed, content kept', async () => {
    const dir = join(temp.dir, 'with-volumes');
    const volumeTar = randomBytes(2048);
    const write = (name: string, data: Buffer | string) => {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    };
    write('config.dump', JSON.stringify({ name: 'api', namedVolumes: [{ volumeName: 'data', dest: '/data' }, { volumeName: 'other', dest: '/o' }] }));
    write(
      'spec.dump',
      JSON.stringify({
        mounts: [
          { destination: '/data', type: 'bind', source: '/var/lib/containers/storage/volumes/data/_data' },
          { destination: '/etc/hosts', type: 'bind', source: '/run/containers/hosts' },
          { destination: '/o', type: 'bind', source: '/srv/storage/volumes/other/_data' },
        ],
      }),
    );
    write('checkpoint/pages-1.img', randomBytes(5000));
    write('volumes/data.tar', volumeTar);
    write('volumes/other.tar', Buffer.alloc(512));
    const tar = execFileSync('tar', ['-C', dir, '-cf', '-', 'config.dump', 'spec.dump', 'checkpoint', 'volumes']);
    const volumes = { data: 'api-snap-1-data', other: 'api-snap-1-other' };
    const rewriter = new DumpRewriter(entryRewrites({ labels: newLabels, volumes }), entryRenames({ volumes }));
    const out: Buffer[] = [];
    await pipeline(Readable.from(randomChunks(tar, 300, 3)), rewriter, new Writable({ write: (chunk: Buffer, _e, done) => (out.push(Buffer.from(chunk)), done()) }));
    const output = Buffer.concat(out);

    assert.deepEqual([...rewriter.renamed].sort(), ['volumes/data.tar', 'volumes/other.tar']);
    const listing = execFileSync('tar', ['-tf', '-'], { input: output, encoding: 'utf8' }).split('\n');
    assert.ok(listing.includes('volumes/api-snap-1-data.tar') && !listing.includes('volumes/data.tar'), listing.join(' '));
    assert.deepEqual(execFileSync('tar', ['-xOf', '-', 'volumes/api-snap-1-data.tar'], { input: output }), volumeTar);
    const config = JSON.parse(execFileSync('tar', ['-xOf', '-', 'config.dump'], { input: output, encoding: 'utf8' })) as { namedVolumes: Array<{ volumeName: string }>; labels: unknown };
    assert.deepEqual(config.namedVolumes.map((v) => v.volumeName), ['api-snap-1-data', 'api-snap-1-other']);
    assert.deepEqual(config.labels, newLabels);
    const spec = JSON.parse(execFileSync('tar', ['-xOf', '-', 'spec.dump'], { input: output, encoding: 'utf8' })) as { mounts: Array<{ source: string }> };
    assert.deepEqual(spec.mounts.map((m) => m.source), ['/var/lib/containers/storage/volumes/api-snap-1-data/_data', '/run/containers/hosts', '/srv/storage/volumes/api-snap-1-other/_data']);
  });

  it('says which entry is missing: an archive without spec.dump fails the stream', async () => {
    const tar = execFileSync('tar', ['-C', src, '-cf', '-', 'config.dump', 'checkpoint']);
    await assert.rejects(relabel([tar], { labels: newLabels, annotations: { a: 'b' } }), /^SnapdebugError: The archive has no spec\.dump: it is not a podman checkpoint archive\.$/);
  });

  it('fails the stream on corrupt gzip input', async () => {
    const bad = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(2000, 0xaa)]);
    await assert.rejects(relabel([bad]));
  });

  describe('addAnnotations', () => {
    it('adds annotations to existing ones and keeps every other field', () => {
      const out = addAnnotations(Buffer.from('{"ociVersion":"1.2.0","annotations":{"keep":"1"},"process":{"args":["x"]}}'), { 'org.criu.config': '/f' });
      assert.deepEqual(JSON.parse(out.toString()), { ociVersion: '1.2.0', annotations: { keep: '1', 'org.criu.config': '/f' }, process: { args: ['x'] } });
      assert.deepEqual(JSON.parse(addAnnotations(Buffer.from('{"annotations":null}'), { a: 'b' }).toString()), { annotations: { a: 'b' } });
    });
  });

  describe('addLabels', () => {
    it('adds labels to existing ones, new values winning, and keeps every other field', () => {
      const out = addLabels(Buffer.from('{"name":"x","labels":{"a":"b","keep":"1"},"n":5}'), { a: 'c', z: 'y' });
      assert.deepEqual(JSON.parse(out.toString()), { name: 'x', labels: { a: 'c', keep: '1', z: 'y' }, n: 5 });
    });

    it('creates labels when config.dump has none or null', () => {
      assert.deepEqual(JSON.parse(addLabels(Buffer.from('{"name":"x"}'), { a: 'b' }).toString()), { name: 'x', labels: { a: 'b' } });
      assert.deepEqual(JSON.parse(addLabels(Buffer.from('{"labels":null}'), { a: 'b' }).toString()), { labels: { a: 'b' } });
    });

    it('throws on a config.dump that is not JSON, failing the stream', async () => {
      assert.throws(() => addLabels(Buffer.from('nope'), {}), SyntaxError);
      const dir = join(temp.dir, 'bad');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.dump'), 'not json');
      const tar = execFileSync('tar', ['-C', dir, '-cf', '-', 'config.dump']);
      await assert.rejects(relabel([tar]), SyntaxError);
    });
  });
});

describe('decompressor', () => {
  const tar = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 7), randomBytes(1024)]);
  const collect = async (pieces: Buffer[], program: string | null | undefined, slowSink = false): Promise<Buffer> => {
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(pieces),
      decompressor(program),
      new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _encoding, done) {
          out.push(Buffer.from(chunk));
          if (slowSink) setImmediate(done); // a reader that takes a turn of the event loop per KiB
          else done();
        },
      }),
    );
    return Buffer.concat(out);
  };
  const program = zstdProgram();

  it('finds the zstd program on this machine (the test machine has one)', () => {
    assert.match(program ?? '', /\/zstd$/);
  });

  for (const [way, zstdWay] of [
    ['the zstd program', program],
    ['fzstd (no zstd program)', null],
  ] as const) {
    it(`turns zstd, gzip and plain tar back into the exact tar, through ${way}`, async () => {
      for (const compressed of [zstdOf(tar), gzipOf(tar), tar]) {
        assert.deepEqual(await collect(randomChunks(compressed, 4000, 5), zstdWay), tar);
      }
    });

    it(`tells the compression even when the first chunks are a byte each, through ${way}`, async () => {
      const compressed = zstdOf(tar);
      const pieces = [compressed.subarray(0, 1), compressed.subarray(1, 2), compressed.subarray(2, 3), compressed.subarray(3)];
      assert.deepEqual(await collect(pieces, zstdWay), tar);
    });

    it(`fails the stream on corrupt zstd input, through ${way}`, async () => {
      const bad = Buffer.concat([zstdOf(tar).subarray(0, 64), Buffer.alloc(5000, 0xaa)]);
      await assert.rejects(collect([bad], zstdWay));
    });
  }

  it('waits for a slow reader: the zstd program is paused, nothing is lost', async function () {
    this.timeout(20_000);
    const big = Buffer.alloc(16 * 1024 * 1024, 3); // compresses to almost nothing, expands 16 MiB
    assert.deepEqual(await collect([zstdOf(big)], program, true), big);
  });

  it('passes empty input through as empty output', async () => {
    assert.equal((await collect([], program)).length, 0);
  });

  it('ends the zstd program when the stream is destroyed', async () => {
    const zstdChildren = () =>
      readdirSync('/proc')
        .filter((pid) => /^\d+$/.test(pid))
        .map((pid) => {
          try {
            return readFileSync(`/proc/${pid}/stat`, 'utf8');
          } catch {
            return ''; // ended meanwhile
          }
        })
        .filter((stat) => stat.includes('(zstd)') && stat.split(') ')[1]?.split(' ')[1] === String(process.pid));
    const stream = decompressor(program);
    stream.write(zstdOf(tar).subarray(0, 100));
    await waitUntil(() => zstdChildren().length === 1, 'a zstd child while the stream is open');
    stream.destroy();
    await waitUntil(() => zstdChildren().length === 0, 'the zstd child to end');
  });
});

function zstdOf(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 64 * 1024 * 1024 });
}

function gzipOf(data: Buffer): Buffer {
  return execFileSync('gzip', ['-c'], { input: data, maxBuffer: 64 * 1024 * 1024 });
}
