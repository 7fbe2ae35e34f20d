// The inspector's CLI commands through main(), on a store holding real lab archives: one JSON
// document on stdout with --json, environment values only with --env, hits with addresses as hex,
// a core and a gdbinit, and a sentence (exit 1) for a process the snapshot does not have.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../src/cli/cli';
import { fixture, plannedTempDir } from '../helpers';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe('CLI: inspect, memory, diff, core', function () {
  this.timeout(30_000);
  const temp = plannedTempDir('cli-inspect');
  const store = join(temp.dir, 'store');
  before(() => {
    temp.create();
    for (const [id, name] of [['demo-sleeper-1', 'demo-sleeper-checkpoint.tar.zst'], ['demo-native-1', 'demo-native-checkpoint.tar.zst']] as const) {
      const archive = `${id}.tar.zst`;
      mkdirSync(store, { recursive: true, mode: 0o700 });
      copyFileSync(fixture(name), join(store, archive));
      const meta = {
        id, kind: 'checkpoint', createdAt: '2026-11-30T08:35:18.417Z', source: { host: 'prod', container: id.replace(/-1$/, '') }, podmanVersion: '5.4.2',
        options: { leaveRunning: true }, compression: 'zstd', archive, size: statSync(join(store, archive)).size, sha256: createHash('sha256').update(readFileSync(join(store, archive))).digest('hex'), sourceLeftRunning: true, timings: { checkpointMs: 1, totalMs: 1 },
      };
      writeFileSync(join(store, `${id}.json`), JSON.stringify(meta), { mode: 0o600 });
    }
  });
  after(() => temp.cleanup());

  it('inspect --json: one document, processes with argv, environment names but no values', async () => {
    const { code, stdout } = await run(['--store', store, 'inspect', 'demo-sleeper-1', '--json']);
    assert.equal(code, 0);
    const doc = JSON.parse(stdout);
    assert.deepEqual(doc.processes.map((p: { pid: number; args: string[] }) => [p.pid, p.args[0]]), [[1, 'bash'], [6, 'sleep']]);
    assert.equal(doc.processes[0].env, undefined);
    assert.ok(doc.processes[0].envNames.includes('PATH'));
    assert.ok(Array.isArray(doc.mounts) && doc.stats.criu.frozenTimeUs === 78544);
  });

  it('inspect --env --pid 6 --json: that process only, with its environment', async () => {
    const doc = JSON.parse((await run(['--store', store, '--json', 'inspect', 'demo-sleeper-1', '--env', '--pid', '6'])).stdout);
    assert.deepEqual(doc.processes.map((p: { pid: number }) => p.pid), [6]);
    assert.equal(doc.processes[0].env._, '/usr/bin/sleep');
    assert.equal(doc.mounts, undefined, 'only the sections asked for');
  });

  it('memory --search and --maps --json', async () => {
    const hits = JSON.parse((await run(['--store', store, 'memory', 'demo-sleeper-1', '--search', 'sleep', '--pid', '6', '--json'])).stdout);
    assert.deepEqual(hits.hits.map((h: { pid: number; address: string; mapping: string }) => [h.pid, h.address, h.mapping]), [
      [6, '0x7fffe0007f4c', '[stack]'], [6, '0x7fffe0007fe3', '[stack]'], [6, '0x7fffe0007ff2', '[stack]'],
    ]);
    const maps = JSON.parse((await run(['--store', store, 'memory', 'demo-native-1', '--maps', '--json'])).stdout);
    assert.equal(maps.processes[0].areas[0].start, '0x400000');
    const human = await run(['--store', store, 'memory', 'demo-sleeper-1', '--search', 'sleep 600', '--pid', '1']);
    assert.match(human.stdout, /process 1 at 0x[0-9a-f]+ in \[/);
  });

  it('diff --json between a snapshot and itself finds nothing', async () => {
    const doc = JSON.parse((await run(['--store', store, 'diff', 'demo-sleeper-1', 'demo-sleeper-1', '--json'])).stdout);
    assert.deepEqual([doc.processesAdded, doc.processesGone, doc.changed], [[], [], []]);
  });

  it('core --no-fetch --json writes core.PID and a gdbinit naming it', async () => {
    const out = join(temp.dir, 'core');
    const { code, stdout } = await run(['--store', store, 'core', 'demo-native-1', '--pid', '1', '--out', out, '--no-fetch', '--json']);
    assert.equal(code, 0);
    const doc = JSON.parse(stdout);
    assert.equal(doc.corePath, join(out, 'core.1'));
    assert.deepEqual(doc.gdbCommand, ['gdb', '-x', join(out, 'gdbinit')]);
    assert.ok(existsSync(doc.corePath) && existsSync(doc.gdbinitPath));
  });

  it('says what is wrong: no such process, no search given, a bad --pid', async () => {
    const none = await run(['--store', store, 'inspect', 'demo-sleeper-1', '--pid', '9']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /has no process 9; it has 1, 6/);
    assert.match((await run(['--store', store, 'memory', 'demo-sleeper-1'])).stderr, /exactly one of --search TEXT, --regex RE or --maps/);
    assert.match((await run(['--store', store, 'core', 'demo-native-1', '--pid', 'x', '--out', temp.dir])).stderr, /--pid x: give a process id/);
  });
});
