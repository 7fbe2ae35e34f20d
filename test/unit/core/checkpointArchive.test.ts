// What a checkpoint archive says about itself: CRIU's stats-dump decoded by hand, and the facts
// read from the head of a real zstd archive and from gzip and plain tar archives built here.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveInspector, detectCompression, inspectArchiveFile, type ArchiveFacts } from '../../../src/core/archive/checkpointArchive';
import { decodeDumpStats } from '../../../src/core/archive/criuStats';
import { fixedChunks, fixture, plannedTempDir, randomChunks, waitUntil } from '../helpers';
import { zstdWindowBomb } from './tarBuild';

const demoApiId = '5c80f3f0f8cd48200888190b3b3645f1ea7164721646186d100be69c96dfdfd5';
const demoApiImageId = '6e5438d95ab6b9d2b6e74cc3b61a2b701fb18316116c4263e3902b8dae6b2a2e';

/** Waits until the inspector says it is complete (gzip output arrives asynchronously). */
function whenComplete(inspector: ArchiveInspector): Promise<void> {
  return waitUntil(() => inspector.complete, 'the inspector to complete');
}

describe('criuStats', () => {
  it('decodes the stats-dump fixture: 112924 µs frozen', () => {
    const stats = decodeDumpStats(readFileSync(fixture('stats-dump')));
    assert.ok(stats);
    assert.equal(stats.frozenTimeUs, 112924);
    // Every field of the fixture, decoded by hand from its protobuf bytes.
    assert.deepEqual(stats, {
      freezingTimeUs: 101501,
      frozenTimeUs: 112924,
      memdumpTimeUs: 10123,
      memwriteTimeUs: 5555,
      pagesScanned: 2671,
      pagesSkippedParent: 0,
      pagesWritten: 2556,
    });
  });

  it('returns undefined for an image too short to hold a header or without a dump entry', () => {
    assert.equal(decodeDumpStats(Buffer.alloc(0)), undefined);
    assert.equal(decodeDumpStats(Buffer.alloc(11)), undefined);
    // A valid header around an entry holding only field 2 (a restore entry), no dump entry.
    const header = Buffer.alloc(12);
    header.writeUInt32LE(2, 8);
    assert.equal(decodeDumpStats(Buffer.concat([header, Buffer.from([0x12, 0x00])])), undefined);
  });

  it('decodes large varints and skips fixed-width fields it does not know', () => {
    // dump entry: field 2 = 2^35 + 1 (varint), field 9 fixed64, field 10 fixed32, field 7 = 300.
    const varint = (n: number) => {
      const out: number[] = [];
      while (n >= 128) {
        out.push((n % 128) | 0x80);
        n = Math.floor(n / 128);
      }
      out.push(n);
      return out;
    };
    const dump = Buffer.from([0x10, ...varint(2 ** 35 + 1), 0x49, ...Array(8).fill(0xff), 0x55, ...Array(4).fill(0xff), 0x38, ...varint(300)]);
    const entry = Buffer.from([0x0a, dump.length, ...dump]);
    const header = Buffer.alloc(12);
    header.writeUInt32LE(entry.length, 8);
    const stats = decodeDumpStats(Buffer.concat([header, entry]));
    assert.equal(stats?.frozenTimeUs, 2 ** 35 + 1);
    assert.equal(stats?.pagesWritten, 300);
    assert.equal(stats?.freezingTimeUs, 0);
  });

  it('throws on a truncated varint', () => {
    const header = Buffer.alloc(12);
    header.writeUInt32LE(3, 8);
    assert.throws(() => decodeDumpStats(Buffer.concat([header, Buffer.from([0x0a, 0x01, 0x10])])), /truncated/);
  });
});

describe('detectCompression', () => {
  it('recognises zstd and gzip magic, and anything else as plain', () => {
    assert.equal(detectCompression(readFileSync(fixture('demo-api-checkpoint-head.tar.zst'))), 'zstd');
    assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 0x08])), 'gzip');
    assert.equal(detectCompression(Buffer.from('config.dump\0')), 'none');
    assert.equal(detectCompression(Buffer.alloc(0)), 'none');
  });
});

describe('ArchiveInspector', () => {
  const temp = plannedTempDir('archive');
  before(() => temp.create());
  const build = join(temp.dir, 'build');
  const config = {
    name: 'demo-api',
    id: demoApiId,
    rootfsImageName: 'localhost/snapdebug/demo-api:latest',
    rootfsImageID: demoApiImageId,
    RawImageName: 'localhost/snapdebug/demo-api:latest',
    labels: { 'io.buildah.version': '1.39.3', team: 'payments' },
  };
  const expected: ArchiveFacts = {
    compression: 'none',
    containerName: 'demo-api',
    containerId: demoApiId,
    imageName: 'localhost/snapdebug/demo-api:latest',
    imageId: demoApiImageId,
    rawImageName: 'localhost/snapdebug/demo-api:latest',
    labels: { 'io.buildah.version': '1.39.3', team: 'payments' },
    criu: decodeDumpStats(readFileSync(fixture('stats-dump'))),
    hasCheckpointImages: true,
  };
  const plain = join(temp.dir, 'built.tar');
  const gzip = join(temp.dir, 'built.tar.gz');
  const zstd = join(temp.dir, 'built.tar.zst');

  before(() => {
    mkdirSync(join(build, 'checkpoint'), { recursive: true });
    writeFileSync(join(build, 'config.dump'), JSON.stringify(config, null, 2));
    writeFileSync(join(build, 'spec.dump'), JSON.stringify({ ociVersion: '1.2.0' }));
    copyFileSync(fixture('stats-dump'), join(build, 'stats-dump'));
    writeFileSync(join(build, 'checkpoint', 'inventory.img'), randomBytes(86));
    writeFileSync(join(build, 'checkpoint', 'pages-1.img'), randomBytes(600_000));
    // podman's order: metadata first, then the checkpoint images.
    const members = ['config.dump', 'spec.dump', 'stats-dump', 'checkpoint'];
    execFileSync('tar', ['-C', build, '-cf', plain, ...members]);
    execFileSync('tar', ['-C', build, '-czf', gzip, ...members]);
    execFileSync('sh', ['-c', 'zstd -q -c "$1" > "$2"', 'sh', plain, zstd]);
  });
  after(() => temp.cleanup());

  it('reads every fact from the head of the real zstd archive fed in 1000-byte chunks', () => {
    const inspector = new ArchiveInspector();
    let pushed = 0;
    for (const chunk of fixedChunks(readFileSync(fixture('demo-api-checkpoint-head.tar.zst')), 1000)) {
      if (inspector.complete) break;
      inspector.push(chunk);
      pushed++;
    }
    assert.equal(inspector.complete, true, 'the facts are all in the first 128 KiB');
    assert.ok(pushed < 131, 'it stops asking for bytes once it knows enough');
    const facts = inspector.result();
    assert.equal(facts.compression, 'zstd');
    assert.equal(facts.containerName, 'demo-api');
    assert.equal(facts.containerId, demoApiId);
    assert.equal(facts.imageName, 'localhost/snapdebug/demo-api:latest');
    assert.equal(facts.imageId, demoApiImageId);
    assert.equal(facts.rawImageName, 'localhost/snapdebug/demo-api:latest');
    assert.deepEqual(facts.labels, { 'io.buildah.version': '1.39.3' });
    assert.equal(facts.criu?.frozenTimeUs, 112924);
    assert.equal(facts.hasCheckpointImages, true);
  });

  it('ignores pushes after it is complete', () => {
    const inspector = new ArchiveInspector();
    inspector.push(readFileSync(fixture('demo-api-checkpoint-head.tar.zst')));
    assert.equal(inspector.complete, true);
    const before = inspector.result();
    inspector.push(randomBytes(1000));
    assert.deepEqual(inspector.result(), before);
  });

  it('inspectArchiveFile reads the same facts from the zstd fixture on disk', async () => {
    const facts = await inspectArchiveFile(fixture('demo-api-checkpoint-head.tar.zst'));
    assert.equal(facts.compression, 'zstd');
    assert.equal(facts.containerName, 'demo-api');
    assert.equal(facts.criu?.frozenTimeUs, 112924);
    assert.equal(facts.hasCheckpointImages, true);
  });

  it('reads a plain tar in random chunks', () => {
    const inspector = new ArchiveInspector();
    for (const chunk of randomChunks(readFileSync(plain), 3000, 21)) inspector.push(chunk);
    assert.equal(inspector.complete, true);
    assert.deepEqual(inspector.result(), { ...expected, compression: 'none' });
  });

  it('reads a zstd tar made by the zstd CLI in 1000-byte chunks', () => {
    const inspector = new ArchiveInspector();
    for (const chunk of fixedChunks(readFileSync(zstd), 1000)) inspector.push(chunk);
    assert.equal(inspector.complete, true);
    assert.deepEqual(inspector.result(), { ...expected, compression: 'zstd' });
  });

  it('reads a gzip tar fed in chunks', async () => {
    const inspector = new ArchiveInspector();
    for (const chunk of fixedChunks(readFileSync(gzip), 1000)) inspector.push(chunk);
    await whenComplete(inspector);
    assert.deepEqual(inspector.result(), { ...expected, compression: 'gzip' });
  });

  for (const [label, path] of [
    ['plain', plain],
    ['gzip', gzip],
    ['zstd', zstd],
  ] as const) {
    it(`inspectArchiveFile reads every fact of a ${label} archive`, async () => {
      const facts = await inspectArchiveFile(path);
      assert.deepEqual(facts, { ...expected, compression: label === 'plain' ? 'none' : label });
    });
  }

  it('inspectArchiveFile reads facts that come late in a gzip archive', async () => {
    // A large member first: the metadata is in the last bytes read from disk.
    writeFileSync(join(build, 'rootfs-diff.tar'), randomBytes(3 * 1024 * 1024));
    const late = join(temp.dir, 'late.tar.gz');
    execFileSync('tar', ['-C', build, '-czf', late, 'rootfs-diff.tar', 'config.dump', 'stats-dump', 'checkpoint']);
    const facts = await inspectArchiveFile(late);
    assert.deepEqual(facts, { ...expected, compression: 'gzip' });
  });

  it('learns what it can from an archive without checkpoint images (a rootfs diff only)', async () => {
    const onlyConfig = join(temp.dir, 'only-config.tar');
    execFileSync('tar', ['-C', build, '-cf', onlyConfig, 'config.dump', 'spec.dump']);
    const facts = await inspectArchiveFile(onlyConfig);
    assert.equal(facts.containerName, 'demo-api');
    assert.equal(facts.hasCheckpointImages, false);
    assert.equal(facts.criu, undefined);
  });

  it('leaves facts unset when config.dump is not JSON', async () => {
    const dir = join(temp.dir, 'bad-config');
    mkdirSync(join(dir, 'checkpoint'), { recursive: true });
    writeFileSync(join(dir, 'config.dump'), 'not json {');
    writeFileSync(join(dir, 'checkpoint', 'x.img'), 'x');
    const archive = join(temp.dir, 'bad-config.tar');
    execFileSync('tar', ['-C', dir, '-cf', archive, 'config.dump', 'checkpoint']);
    const facts = await inspectArchiveFile(archive);
    assert.equal(facts.containerName, undefined);
    assert.equal(facts.labels, undefined);
    assert.equal(facts.hasCheckpointImages, true);
  });

  it('gives up quietly on a damaged zstd stream', () => {
    const inspector = new ArchiveInspector();
    // zstd magic, then a frame header with its reserved bit set: no decoder may accept it.
    const damaged = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x08]), Buffer.alloc(3000, 0xff)]);
    assert.doesNotThrow(() => inspector.push(damaged));
    assert.equal(inspector.complete, true, 'a damaged stream ends the inspection');
    assert.deepEqual(inspector.result(), {
      compression: 'zstd',
      hasCheckpointImages: false,
      refused: 'The archive is not a valid zstd stream: a frame header sets a reserved bit.',
    });
    assert.doesNotThrow(() => inspector.push(Buffer.alloc(100, 0xff)));
  });

  it('says why it stopped when the tar reader refuses the archive, and learns nothing after it', () => {
    const dir = join(temp.dir, 'duplicate');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.dump'), JSON.stringify(config));
    // GNU tar appends a second config.dump when asked to: podman would extract the last one.
    const archive = execFileSync('tar', ['-C', dir, '-cf', '-', 'config.dump', 'config.dump']);
    const inspector = new ArchiveInspector();
    inspector.push(archive);
    assert.equal(inspector.complete, true);
    assert.equal(inspector.result().refused, 'Archive entry "config.dump" appears twice: which one a reader takes would be ambiguous: the archive is refused.');
  });

  it('refuses a zstd frame that asks fzstd for a 1.5 GiB window, before it is allocated', () => {
    const inspector = new ArchiveInspector();
    inspector.push(zstdWindowBomb(1.5 * 1024 * 1024 * 1024));
    assert.equal(inspector.complete, true);
    assert.equal(inspector.result().refused, "The archive's zstd stream asks for a 1536 MiB window, more than the 32 MiB any podman archive needs: refused.");
  });
});
