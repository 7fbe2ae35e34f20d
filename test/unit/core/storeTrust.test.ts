// The store trusts nothing it reads back: metadata is checked against a schema (the lab's real
// metadata passes; a hostile table fails, one line each, and is never acted on), the archive is
// always the id's own file, a replaced archive is refused before anything is sent, and every
// checkpoint, push and delete leaves a line in the append-only audit log.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCore, type Core } from '../../../src/core/core';
import { pushSnapshot } from '../../../src/core/snapshot/push';
import { SnapshotStore, type SnapshotMeta } from '../../../src/core/snapshot/store';
import { isAbortError } from '../../../src/core/util/abort';
import { fixOf, SnapdebugError } from '../../../src/core/util/errors';
import { makeTempDir } from '../helpers';

const samples = '/work/samples/store';
const archiveBytes = Buffer.from('archive data, pretending to be process memory');
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function meta(id: string, overrides: Record<string, unknown> = {}): SnapshotMeta {
  return {
    id,
    kind: 'checkpoint',
    createdAt: '2026-11-30T08:35:15.989Z',
    source: { host: 'prod', container: 'demo-api', containerId: '43f18b883ca6', image: 'localhost/snapdebug/demo-api:latest', ports: ['8080/tcp'], volumes: ['data'] },
    podmanVersion: '5.4.2',
    options: { leaveRunning: true, compress: 'zstd' },
    compression: 'zstd',
    archive: `${id}.tar.zst`,
    size: archiveBytes.length,
    sha256: sha(archiveBytes),
    sourceLeftRunning: true,
    timings: { checkpointMs: 1, totalMs: 2 },
    ...overrides,
  } as SnapshotMeta;
}

describe('store trust', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: SnapshotStore;
  let now: Date;
  beforeEach(() => {
    temp = makeTempDir('store-trust');
    now = new Date('2026-12-01T00:00:00.000Z');
    store = new SnapshotStore(join(temp.dir, 'store'), { now: () => now, user: 'alice' });
    store.ensure();
  });
  afterEach(() => temp.cleanup());

  /** Writes an archive and a metadata file by hand, as anything with access to the folder could. */
  function plant(id: string, json: unknown, archive: Buffer | null = archiveBytes): void {
    if (archive) writeFileSync(join(store.dir, `${id}.tar.zst`), archive, { mode: 0o600 });
    writeFileSync(join(store.dir, `${id}.json`), typeof json === 'string' ? json : JSON.stringify(json), { mode: 0o600 });
  }

  function commit(id: string, overrides: Record<string, unknown> = {}): SnapshotMeta {
    writeFileSync(store.partPath(id), archiveBytes, { mode: 0o600 });
    return store.commit(store.partPath(id), meta(id, overrides));
  }

  it("accepts the lab's real metadata (podman 5.4.2, CRIU 4.2.1) as it is", () => {
    for (const name of readdirSync(samples)) copyFileSync(join(samples, name), join(store.dir, name));
    const { snapshots, invalid } = store.scan();
    assert.deepEqual(invalid, []);
    assert.deepEqual(snapshots.map((m) => m.source.container).sort(), ['demo-api', 'demo-native', 'demo-python', 'demo-sleeper']);
  });

  const hostile: [string, (m: SnapshotMeta) => unknown, RegExp][] = [
    ['an archive outside the store', (m) => ({ ...m, archive: '../victim.txt' }), /archive: must be the snapshot's own file/],
    ['an absolute archive path', (m) => ({ ...m, archive: '/etc/passwd' }), /archive: must be the snapshot's own file/],
    ["another snapshot's archive", (m) => ({ ...m, archive: 'other.tar.zst' }), /archive: must be the snapshot's own file/],
    ['no createdAt', ({ createdAt: _, ...rest }) => rest, /^createdAt is missing$/],
    ['a createdAt that is not a time', (m) => ({ ...m, createdAt: 'yesterday' }), /createdAt: not an ISO time/],
    ['an id that is not its file name', (m) => ({ ...m, id: 'someone-else', archive: 'someone-else.tar.zst' }), /its id someone-else is not its file name/],
    ['an id that climbs out', (m) => ({ ...m, id: '../x', archive: '../x.tar.zst' }), /^id: not a snapshot id/],
    ['a container name with shell syntax', (m) => ({ ...m, source: { ...m.source, container: 'x; rm -rf /' } }), /source\.container: not a container name/],
    ['a port that is not a port', (m) => ({ ...m, source: { ...m.source, ports: ['8080;id'] } }), /source\.ports\.0: not a port like 8080\/tcp/],
    ['a volume that is a path', (m) => ({ ...m, source: { ...m.source, volumes: ['../../etc'] } }), /source\.volumes\.0: not a volume name/],
    ['a host that is not a host', (m) => ({ ...m, source: { ...m.source, host: 'evil host;' } }), /source\.host: not a host name/],
    ['a sha256 that is not one', (m) => ({ ...m, sha256: 'zz' }), /sha256: not a sha256/],
    ['a negative size', (m) => ({ ...m, size: -1 }), /^size: /],
    ['an unknown kind', (m) => ({ ...m, kind: 'dump' }), /^kind: /],
    ['an unknown compression', (m) => ({ ...m, compression: 'lz4' }), /^compression: /],
    ['a JSON array', () => [], /^the document: /],
    ['null', () => null, /^the document: /],
    ['text that is not JSON', () => '{ "id": ', /^not JSON/],
  ];
  for (const [what, edit, problem] of hostile) {
    it(`reports metadata with ${what} in one line and never acts on it`, () => {
      const victim = join(temp.dir, 'victim.txt');
      writeFileSync(victim, 'precious');
      const id = 'bad-20261130-083515-0001';
      const edited = edit(meta(id));
      plant(id, typeof edited === 'string' ? edited : edited);
      commit('good-20261130-083515-0002');
      const { snapshots, invalid } = store.scan();
      assert.deepEqual(snapshots.map((m) => m.id), ['good-20261130-083515-0002'], 'the other snapshots are still listed');
      assert.equal(invalid.length, 1);
      assert.equal(invalid[0]!.file, join(store.dir, `${id}.json`));
      assert.match(invalid[0]!.problem, problem);
      assert.doesNotMatch(invalid[0]!.problem, /\n/, 'one line');
      assert.throws(() => store.remove(id), (e: unknown) => e instanceof SnapdebugError && /not valid .* leaves it and its archive alone/.test(e.message));
      assert.equal(readFileSync(victim, 'utf8'), 'precious');
      assert.ok(existsSync(join(store.dir, `${id}.json`)) && existsSync(join(store.dir, `${id}.tar.zst`)), 'nothing of it was deleted');
    });
  }

  it('reports links, oversized metadata, a missing archive and an archive of the wrong size', () => {
    writeFileSync(join(temp.dir, 'elsewhere.json'), JSON.stringify(meta('link-1')));
    symlinkSync(join(temp.dir, 'elsewhere.json'), join(store.dir, 'link-1.json'));
    plant('huge-1', JSON.stringify({ ...meta('huge-1'), padding: 'x'.repeat(2 * 1024 * 1024) }));
    plant('orphan-1', meta('orphan-1'), null);
    plant('short-1', meta('short-1'), archiveBytes.subarray(1));
    plant('archlink-1', meta('archlink-1'), null);
    symlinkSync(join(temp.dir, 'elsewhere.json'), join(store.dir, 'archlink-1.tar.zst'));
    const problems = Object.fromEntries(store.scan().invalid.map((f) => [f.file.split('/').pop(), f.problem]));
    assert.deepEqual(problems, {
      'archlink-1.json': 'its archive archlink-1.tar.zst is not a regular file',
      'huge-1.json': `${statSync(join(store.dir, 'huge-1.json')).size} bytes, far more than metadata ever is`,
      'link-1.json': 'not a regular file',
      'orphan-1.json': 'its archive orphan-1.tar.zst is missing',
      'short-1.json': `its archive has ${archiveBytes.length - 1} bytes, the metadata says ${archiveBytes.length}`,
    });
  });

  it('never writes metadata it would itself refuse', () => {
    writeFileSync(store.partPath('x-1'), archiveBytes);
    assert.throws(() => store.commit(store.partPath('x-1'), meta('x-1', { archive: '../x' })), /Refusing to store x-1/);
    assert.deepEqual(readdirSync(store.dir).sort(), [`x-1.${process.pid}.part`]);
  });

  describe('openVerified', () => {
    const read = async (stream: NodeJS.ReadableStream) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };

    it('hands out the archive after checking its sha256, reporting bytes as it hashes', async () => {
      const m = commit('ok-1');
      const seen: number[] = [];
      assert.deepEqual(await read(await store.openVerified(m, undefined, (b) => seen.push(b))), archiveBytes);
      assert.equal(seen.at(-1), archiveBytes.length);
    });

    it('refuses an archive replaced by one of the same size, and a truncated one, with a sentence', async () => {
      const m = commit('swapped-1');
      const forged = Buffer.from(archiveBytes);
      forged[5] = forged[5]! ^ 0xff;
      writeFileSync(store.archivePath(m), forged);
      await assert.rejects(store.openVerified(m), (e: unknown) => e instanceof SnapdebugError && /is not the one checkpointed: its sha256 is .* It was replaced or damaged; nothing was sent\./.test(e.message) && /Delete swapped-1 from the store/.test(fixOf(e)?.text ?? ''));
      writeFileSync(store.archivePath(m), archiveBytes.subarray(0, 10));
      await assert.rejects(store.openVerified(m), /is not the one checkpointed/);
    });

    it('stops hashing when cancelled', async () => {
      const m = commit('cancel-1');
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(store.openVerified(m, controller.signal), (e: unknown) => isAbortError(e));
    });

    it('push refuses a replaced archive before anything is sent: the host never starts receiving', async () => {
      const remote = join(temp.dir, 'remote');
      mkdirSync(remote, { mode: 0o700 });
      const commands: string[] = [];
      const core: Core = createCore({ prompts: undefined as never, storeDir: store.dir, settings: { remoteTempDir: remote }, commandLog: (e) => commands.push(e.command) });
      try {
        const m = core.store.get(commit('pushed-1').id);
        writeFileSync(core.store.archivePath(m), Buffer.alloc(archiveBytes.length, 0x41));
        const work = await core.hosts.get('local').beginWork('push test');
        const before = commands.length;
        await assert.rejects(pushSnapshot(core, m, work, {}), /pushed-1 in the store is not the one checkpointed/);
        assert.deepEqual(commands.slice(before), [], 'nothing ran on the target after the work began');
        assert.deepEqual(readdirSync(work.dir).filter((name) => name.startsWith('archive')), [], 'no archive file in the work folder');
        await work.abandon();
      } finally {
        core.dispose();
      }
    });
  });

  describe('audit log', () => {
    it('records checkpoint, push and delete with who, when and what, append-only, 0600', async () => {
      commit('audited-1');
      const remote = join(temp.dir, 'remote');
      mkdirSync(remote, { mode: 0o700 });
      const core = createCore({ prompts: undefined as never, storeDir: store.dir, settings: { remoteTempDir: remote } });
      try {
        const work = await core.hosts.get('local').beginWork('push test');
        const pushed = await pushSnapshot(core, core.store.get('audited-1'), work, {});
        await work.finish();
        now = new Date('2026-12-02T00:00:00.000Z');
        const before = readFileSync(store.audit.path, 'utf8');
        store.remove('audited-1');
        const after = readFileSync(store.audit.path, 'utf8');
        assert.ok(after.startsWith(before), 'earlier lines are never rewritten');
        const entries = store.audit.read();
        assert.deepEqual(
          entries.map(({ at, user, action, host, container, snapshot }) => ({ at, user, action, host, container, snapshot })),
          [
            { at: '2026-12-01T00:00:00.000Z', user: 'alice', action: 'checkpoint', host: 'prod', container: 'demo-api', snapshot: 'audited-1' },
            { at: entries[1]!.at, user: entries[1]!.user, action: 'push', host: 'local', container: 'demo-api', snapshot: 'audited-1' },
            { at: '2026-12-02T00:00:00.000Z', user: 'alice', action: 'delete', host: 'prod', container: 'demo-api', snapshot: 'audited-1' },
          ],
        );
        assert.equal(entries[1]!.detail, pushed.path);
        assert.equal(statSync(store.audit.path).mode & 0o777, 0o600);
      } finally {
        core.dispose();
      }
    });

    it('does not follow a link planted in its place, and reports a failed write instead of failing the work', () => {
      const target = join(temp.dir, 'planted');
      writeFileSync(target, '');
      symlinkSync(target, store.audit.path);
      const errors: string[] = [];
      const logged = new SnapshotStore(store.dir, { onError: (m) => errors.push(m) });
      writeFileSync(logged.partPath('l-1'), archiveBytes);
      logged.commit(logged.partPath('l-1'), meta('l-1'));
      assert.equal(readFileSync(target, 'utf8'), '', 'nothing was written through the link');
      assert.match(errors[0] ?? '', /could not write the audit log .*"action":"checkpoint"/);
      assert.ok(logged.list().some((m) => m.id === 'l-1'), 'the checkpoint itself is kept');
    });
  });

  it('olderThan: snapshots past the age limit, oldest first; 0 means never', () => {
    commit('old-1', { createdAt: '2026-11-20T00:00:00.000Z' });
    commit('older-1', { createdAt: '2026-11-01T00:00:00.000Z' });
    commit('new-1', { createdAt: '2026-11-28T00:00:00.000Z' });
    assert.deepEqual(store.olderThan(7, now).map((m) => m.id), ['older-1', 'old-1']);
    assert.deepEqual(store.olderThan(0, now), []);
  });
});
