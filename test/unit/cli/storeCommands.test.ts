// `snapdebug snapshots` and `rm` on a store holding sound, old and broken metadata: broken files
// are reported (one stderr line each) and never acted on, old snapshots are marked with the way
// to remove them, --json stays one document. isStale() decides what `copies` marks.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../src/cli/cli';
import { isStale } from '../../../src/core/snapshot/copies';
import { SnapshotStore, type SnapshotMeta } from '../../../src/core/snapshot/store';
import { makeTempDir } from '../helpers';

const dayMs = 86_400_000;
const bytes = Buffer.from('process memory');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const real = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = real.out;
    process.stderr.write = real.err;
  }
}

describe('snapdebug snapshots / rm on an untrusted store', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: SnapshotStore;
  const victim = () => join(temp.dir, 'victim.txt');

  function snapshot(id: string, ageDays: number): SnapshotMeta {
    const meta: SnapshotMeta = {
      id,
      kind: 'checkpoint',
      createdAt: new Date(Date.now() - ageDays * dayMs).toISOString(),
      source: { host: 'prod', container: 'demo-api' },
      podmanVersion: '5.4.2',
      options: { leaveRunning: true },
      compression: 'zstd',
      archive: `${id}.tar.zst`,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sourceLeftRunning: true,
      timings: { checkpointMs: 1, totalMs: 1 },
    };
    writeFileSync(store.partPath(id), bytes);
    return store.commit(store.partPath(id), meta);
  }

  beforeEach(() => {
    temp = makeTempDir('cli-store');
    store = new SnapshotStore(join(temp.dir, 'store'));
    store.ensure();
    writeFileSync(victim(), 'precious');
    snapshot('fresh-1', 1);
    snapshot('stale-1', 10);
    const { createdAt: _, ...noDate } = snapshot('nodate-1', 2);
    writeFileSync(join(store.dir, 'nodate-1.json'), JSON.stringify(noDate));
    writeFileSync(join(store.dir, 'escape-1.json'), JSON.stringify({ ...snapshot('escape-1', 2), archive: '../victim.txt' }));
  });
  afterEach(() => temp.cleanup());

  it('lists the sound snapshots, marks the old one and says how to remove it, reports each broken file in one line', async () => {
    const { code, stdout, stderr } = await run(['--store', store.dir, 'snapshots']);
    assert.equal(code, 0);
    assert.match(stdout, /^fresh-1 .* 1 day ago {2}/m);
    assert.match(stdout, /^stale-1 .* 10 days ago \(old\)/m);
    assert.doesNotMatch(stdout, /nodate-1|escape-1/);
    const lines = stderr.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), [
      `not a snapshot (left alone): ${join(store.dir, 'escape-1.json')}: archive: must be the snapshot's own file, <id> plus the extension of its compression`,
      `not a snapshot (left alone): ${join(store.dir, 'nodate-1.json')}: createdAt is missing`,
    ]);
    assert.equal(lines[2], '1 snapshot is older than 7 days and holds process memory, secrets included. Remove it with: snapdebug rm stale-1');
  });

  it('--json: one document on stdout, each snapshot with "old"; --max-age-days 0 marks none', async () => {
    const json = await run(['--store', store.dir, '--json', 'snapshots']);
    const list = JSON.parse(json.stdout) as { id: string; old: boolean }[];
    assert.deepEqual(list.map((m) => [m.id, m.old]).sort(), [['fresh-1', false], ['stale-1', true]]);
    const never = await run(['--store', store.dir, 'snapshots', '--max-age-days', '0']);
    assert.doesNotMatch(never.stdout + never.stderr, /\(old\)|older than/);
  });

  it('rm refuses a snapshot whose metadata is broken and deletes nothing', async () => {
    const { code, stderr } = await run(['--store', store.dir, 'rm', 'escape-1']);
    assert.notEqual(code, 0);
    assert.match(stderr, /The metadata of escape-1 is not valid .* leaves it and its archive alone/);
    assert.equal(readFileSync(victim(), 'utf8'), 'precious');
    assert.ok(readFileSync(join(store.dir, 'escape-1.json'), 'utf8').length > 0);
  });

  it('isStale: restored longer ago than the limit, never with 0 or no time', () => {
    const now = new Date('2026-12-01T12:00:00.000Z');
    assert.equal(isStale({ restoredAt: '2026-11-30T11:00:00.000Z' }, 24, now), true);
    assert.equal(isStale({ restoredAt: '2026-11-30T13:00:00.000Z' }, 24, now), false);
    assert.equal(isStale({ restoredAt: '2026-11-01T00:00:00.000Z' }, 0, now), false);
    assert.equal(isStale({}, 24, now), false);
  });
});
