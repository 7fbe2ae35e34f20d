// The local snapshot store in a temporary folder: private permissions, commit of a finished
// download, listing newest first, lookup by id or unique prefix, removal and leftover .part files.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Compression } from '../../../src/core/archive/checkpointArchive';
import { SnapshotStore, type SnapshotMeta } from '../../../src/core/snapshot/store';
import { SnapdebugError } from '../../../src/core/util/errors';
import { makeTempDir } from '../helpers';

function metaFor(store: SnapshotStore, id: string, createdAt: string, compression: Compression = 'zstd'): SnapshotMeta {
  return {
    id,
    kind: 'checkpoint',
    createdAt,
    source: { host: 'prod', container: 'demo-api', containerId: '5c80f3f0f8cd', image: 'localhost/snapdebug/demo-api:latest' },
    podmanVersion: '5.4.2',
    criuVersion: '4.1',
    options: { leaveRunning: true, compress: compression },
    compression,
    archive: store.archiveName(id, compression),
    size: 12,
    sha256: createHash('sha256').update('archive data').digest('hex'),
    criu: {
      freezingTimeUs: 1,
      frozenTimeUs: 112924,
      memdumpTimeUs: 1,
      memwriteTimeUs: 1,
      pagesScanned: 1,
      pagesSkippedParent: 0,
      pagesWritten: 1,
    },
    sourceLeftRunning: true,
    timings: { checkpointMs: 500, totalMs: 900 },
  };
}

/** Writes a .part file as a download would and commits it. */
function addSnapshot(store: SnapshotStore, id: string, createdAt: string, compression: Compression = 'zstd'): SnapshotMeta {
  store.ensure();
  const part = store.partPath(id);
  writeFileSync(part, 'archive data', { mode: 0o644 });
  return store.commit(part, metaFor(store, id, createdAt, compression));
}

const isSnapdebugError = (pattern: RegExp) => (e: unknown) => e instanceof SnapdebugError && pattern.test(e.message);

describe('SnapshotStore', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: SnapshotStore;

  beforeEach(() => {
    temp = makeTempDir('store');
    store = new SnapshotStore(join(temp.dir, 'snapdebug', 'snapshots'));
  });
  afterEach(() => temp.cleanup());

  describe('ensure', () => {
    it('creates the folder (and its parents) with mode 0700', () => {
      assert.equal(existsSync(store.dir), false);
      store.ensure();
      assert.equal(statSync(store.dir).mode & 0o777, 0o700);
    });

    it('tightens a folder someone loosened to 0755', () => {
      mkdirSync(store.dir, { recursive: true });
      chmodSync(store.dir, 0o755);
      store.ensure();
      assert.equal(statSync(store.dir).mode & 0o777, 0o700);
    });
  });

  describe('names', () => {
    it('newId is the container, a UTC timestamp and a random suffix', () => {
      const id = store.newId('demo-api', new Date('2026-01-02T03:04:05.678Z'));
      assert.match(id, /^demo-api-20260102-030405-[0-9a-f]{4}$/);
      const again = store.newId('demo-api', new Date('2026-01-02T03:04:05.678Z'));
      assert.match(again, /^demo-api-20260102-030405-[0-9a-f]{4}$/);
    });

    it('archive names carry the extension of their compression; paths stay in the folder', () => {
      assert.equal(store.archiveName('s1', 'zstd'), 's1.tar.zst');
      assert.equal(store.archiveName('s1', 'gzip'), 's1.tar.gz');
      assert.equal(store.archiveName('s1', 'none'), 's1.tar');
      assert.equal(store.archivePath({ id: 's1', compression: 'zstd' }), join(store.dir, 's1.tar.zst'));
      assert.equal(store.partPath('s1'), join(store.dir, `s1.${process.pid}.part`), 'a download names the process doing it');
    });
  });

  describe('commit', () => {
    it('moves the .part into place as 0600 and writes its metadata as 0600 JSON', () => {
      const meta = addSnapshot(store, 'demo-api-20260101-120000-aaaa', '2026-01-01T12:00:00.000Z');
      const archive = join(store.dir, 'demo-api-20260101-120000-aaaa.tar.zst');
      const json = join(store.dir, 'demo-api-20260101-120000-aaaa.json');
      assert.equal(existsSync(store.partPath(meta.id)), false, 'the .part file is gone');
      assert.equal(readFileSync(archive, 'utf8'), 'archive data');
      assert.equal(statSync(archive).mode & 0o777, 0o600);
      assert.equal(statSync(json).mode & 0o777, 0o600);
      assert.deepEqual(JSON.parse(readFileSync(json, 'utf8')), meta);
      assert.equal(statSync(store.dir).mode & 0o777, 0o700);
    });
  });

  describe('list', () => {
    it('is empty when the folder does not exist', () => {
      assert.deepEqual(store.list(), []);
      assert.deepEqual(store.partFiles(), []);
    });

    it('lists newest first', () => {
      addSnapshot(store, 'b-middle', '2026-01-02T00:00:00.000Z');
      addSnapshot(store, 'a-newest', '2026-01-03T00:00:00.000Z', 'gzip');
      addSnapshot(store, 'c-oldest', '2026-01-01T00:00:00.000Z', 'none');
      assert.deepEqual(
        store.list().map((m) => m.id),
        ['a-newest', 'b-middle', 'c-oldest'],
      );
    });

    it('lists only snapshots whose metadata and archive are sound; other files are not snapshots', () => {
      addSnapshot(store, 'kept', '2026-01-02T00:00:00.000Z');
      const orphan = addSnapshot(store, 'orphan', '2026-01-03T00:00:00.000Z');
      rmSync(store.archivePath(orphan));
      writeFileSync(join(store.dir, 'broken.json'), '{ not json');
      writeFileSync(join(store.dir, 'notes.txt'), 'hello');
      assert.deepEqual(
        store.list().map((m) => m.id),
        ['kept'],
      );
      assert.deepEqual(
        store.scan().invalid.map((f) => f.file),
        [join(store.dir, 'broken.json'), join(store.dir, 'orphan.json')],
      );
    });
  });

  describe('get', () => {
    beforeEach(() => {
      addSnapshot(store, 'demo-api-20260101-120000-aaaa', '2026-01-01T12:00:00.000Z');
      addSnapshot(store, 'demo-api-20260101-130000-bbbb', '2026-01-01T13:00:00.000Z');
      addSnapshot(store, 'demo-python-20260101-120000-cccc', '2026-01-01T12:00:00.000Z');
    });

    it('finds a snapshot by its full id', () => {
      assert.equal(store.get('demo-api-20260101-130000-bbbb').id, 'demo-api-20260101-130000-bbbb');
    });

    it('finds a snapshot by a prefix that names only it', () => {
      assert.equal(store.get('demo-python').id, 'demo-python-20260101-120000-cccc');
      assert.equal(store.get('demo-api-20260101-12').id, 'demo-api-20260101-120000-aaaa');
    });

    it('prefers an exact id over longer ids it is a prefix of', () => {
      addSnapshot(store, 'demo', '2026-01-05T00:00:00.000Z');
      addSnapshot(store, 'demo-2', '2026-01-05T00:00:00.000Z');
      assert.equal(store.get('demo').id, 'demo');
    });

    it('refuses an ambiguous prefix, naming every match', () => {
      assert.throws(
        () => store.get('demo-api'),
        isSnapdebugError(/^"demo-api" names 2 snapshots: demo-api-20260101-130000-bbbb, demo-api-20260101-120000-aaaa\.$/),
      );
    });

    it('says there is no such snapshot, where it looked, and how to list them', () => {
      assert.throws(
        () => store.get('nothing'),
        (e: unknown) => e instanceof SnapdebugError && e.message === `There is no snapshot "nothing" in ${store.dir}.` && /id of a snapshot the store lists/.test(e.fix?.text ?? ''),
      );
    });

    it('refuses ids that could leave the folder or are not ids at all', () => {
      for (const bad of ['', '../etc/passwd', '/abs', '-x', '.hidden', 'a b', 'a/b', 'a;b', '*']) {
        assert.throws(() => store.get(bad), isSnapdebugError(/is not a snapshot id/), JSON.stringify(bad));
      }
    });
  });

  describe('remove', () => {
    it('deletes archive, metadata and any .part of the snapshot, and nothing else', () => {
      const gone = addSnapshot(store, 'gone', '2026-01-01T00:00:00.000Z');
      addSnapshot(store, 'stays', '2026-01-02T00:00:00.000Z');
      writeFileSync(store.partPath('gone'), 'leftover');
      store.remove('gone');
      assert.equal(existsSync(store.archivePath(gone)), false);
      assert.equal(existsSync(join(store.dir, 'gone.json')), false);
      assert.equal(existsSync(store.partPath('gone')), false);
      assert.deepEqual(
        store.list().map((m) => m.id),
        ['stays'],
      );
    });

    it('removes by unique prefix and refuses unknown ids', () => {
      addSnapshot(store, 'demo-api-1', '2026-01-01T00:00:00.000Z');
      store.remove('demo-api');
      assert.deepEqual(store.list(), []);
      assert.throws(() => store.remove('demo-api'), isSnapdebugError(/There is no snapshot/));
    });
  });

  describe('partFiles', () => {
    it('lists leftover .part files only', () => {
      addSnapshot(store, 'done', '2026-01-01T00:00:00.000Z');
      writeFileSync(store.partPath('crashed-1'), 'x');
      writeFileSync(store.partPath('crashed-2'), 'y');
      assert.deepEqual(store.partFiles().sort(), [`crashed-1.${process.pid}.part`, `crashed-2.${process.pid}.part`]);
    });
  });

  describe('sweepParts', () => {
    it("removes the .part files of processes that are gone, and keeps this process's and other live ones'", () => {
      store.ensure();
      const dead = spawnSync('true').pid!;
      writeFileSync(join(store.dir, `killed.${dead}.part`), 'memory');
      writeFileSync(join(store.dir, 'older-version.part'), 'memory');
      writeFileSync(join(store.dir, `parent.${process.ppid}.part`), 'still downloading');
      writeFileSync(store.partPath('mine'), 'still downloading');
      assert.deepEqual(store.sweepParts().sort(), [`killed.${dead}.part`, 'older-version.part']);
      assert.deepEqual(store.partFiles().sort(), [`mine.${process.pid}.part`, `parent.${process.ppid}.part`]);
    });
  });
});
