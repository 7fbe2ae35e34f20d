// Inspecting real lab archives (podman 5.4.2, CRIU 4.2.1) without restoring them: the process tree
// with argv read from memory, files, sockets, mounts, statistics; environment values only when
// asked; the same answers from zstd, gzip and plain tar, and from an archive whose pages come
// before their pagemap (the second pass).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { inspectSnapshot } from '../../../src/core/inspect/inspect';
import { fixture, plannedTempDir } from '../helpers';

const sleeper = fixture('demo-sleeper-checkpoint.tar.zst');
const native = fixture('demo-native-checkpoint.tar.zst');

describe('inspectSnapshot', () => {
  const temp = plannedTempDir('inspect');
  before(() => temp.create());
  after(() => temp.cleanup());

  it('demo-sleeper: bash and its sleep child, argv from memory, files, mounts, CRIU statistics', async () => {
    const contents = await inspectSnapshot(sleeper);
    assert.equal(contents.container.name, 'demo-sleeper');
    assert.equal(contents.container.image, 'localhost/snapdebug/node:20');
    assert.deepEqual(
      contents.processes.map((p) => [p.pid, p.ppid, p.command, p.args, p.threads, p.exe, p.cwd]),
      [
        [1, 0, 'bash', ['bash', '-c', 'trap "exit 0" TERM; while :; do sleep 600 & wait $!; done'], [1], '/usr/bin/bash', '/'],
        [6, 1, 'sleep', ['sleep', '600'], [6], '/usr/bin/sleep', '/'],
      ],
    );
    assert.deepEqual(
      contents.processes[1]!.files.map((f) => [f.fd, f.type, f.path]),
      [['0', 'REG', '/dev/null'], ['1', 'PIPE', 'pipe:[96035]'], ['2', 'PIPE', 'pipe:[96036]'], ['cwd', 'REG', '/'], ['root', 'REG', '/'], ['exe', 'REG', '/usr/bin/sleep']],
    );
    assert.equal(contents.mounts.length, 11);
    assert.deepEqual(contents.mounts[0], { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] });
    assert.equal(contents.stats.criu?.frozenTimeUs, 78544);
    assert.equal(contents.stats.memoryBytes, 270336 + 114688, 'pages-1.img + pages-2.img');
    assert.deepEqual(contents.processes.map((p) => p.residentBytes), [270336, 114688]);
  });

  it('shows environment names, and values only when asked', async () => {
    const hidden = await inspectSnapshot(sleeper);
    assert.deepEqual(hidden.processes[0]!.envNames, ['container', 'PATH', 'HOME', 'HOSTNAME']);
    assert.equal(hidden.processes[0]!.env, undefined);
    assert.ok(!JSON.stringify(hidden).includes('/usr/local/sbin'), 'no value of PATH anywhere');
    const shown = await inspectSnapshot(sleeper, { env: true });
    assert.deepEqual(shown.processes[1]!.env, {
      HOSTNAME: '040b7ac77602', PWD: '/', container: 'podman', HOME: '/root', SHLVL: '0',
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', _: '/usr/bin/sleep',
    });
  });

  it('reads the same from gzip and plain tar, and from an archive whose pages come before their pagemap', async () => {
    const tar = execFileSync('zstd', ['-dc', sleeper], { maxBuffer: 64 * 1024 * 1024 });
    writeFileSync(join(temp.dir, 'plain.tar'), tar);
    writeFileSync(join(temp.dir, 'archive.tar.gz'), gzipSync(tar));
    const tree = join(temp.dir, 'tree');
    execFileSync('mkdir', ['-p', tree]);
    execFileSync('tar', ['-xf', join(temp.dir, 'plain.tar'), '-C', tree]);
    // pages first, everything else after: the pages can only be read in a second pass.
    execFileSync('tar', ['-cf', join(temp.dir, 'reordered.tar'), '-C', tree, 'checkpoint/pages-2.img', 'checkpoint/pages-1.img', '--exclude=checkpoint/pages-*', '.']);
    const expected = await inspectSnapshot(sleeper, { env: true });
    for (const name of ['plain.tar', 'archive.tar.gz', 'reordered.tar']) {
      const got = await inspectSnapshot(join(temp.dir, name), { env: true });
      assert.deepEqual(got.processes, expected.processes, name);
    }
  });

  it('demo-native: a static program, one thread, its own descriptors', async () => {
    const contents = await inspectSnapshot(native);
    assert.deepEqual(contents.processes.map((p) => [p.pid, p.command, p.args, p.exe, p.sockets.length]), [[1, 'counter', ['/app/counter'], '/app/counter', 0]]);
  });

  it('fails with zstd\'s words on a damaged archive, and stops its zstd when the reader stops early', async () => {
    const whole = readFileSync(sleeper);
    writeFileSync(join(temp.dir, 'cut.tar.zst'), whole.subarray(0, Math.floor(whole.length / 2)));
    await assert.rejects(inspectSnapshot(join(temp.dir, 'cut.tar.zst')), /zstd -d failed|ends inside/);
    const zstds = () => execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((l) => /zstd -d/.test(l));
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(inspectSnapshot(sleeper, { signal: controller.signal }), /cancelled/);
    assert.deepEqual(zstds(), [], 'no zstd left running');
  });

  it('refuses a file that is not a tar, and a tar without CRIU images, each with a sentence', async () => {
    writeFileSync(join(temp.dir, 'not.tar'), readFileSync(fixture('version.json')));
    await assert.rejects(inspectSnapshot(join(temp.dir, 'not.tar')), /^SnapdebugError: The archive ends without its end-of-archive marker: it is truncated, and refused\.$/);
    writeFileSync(join(temp.dir, 'config.dump'), '{}');
    execFileSync('tar', ['-C', temp.dir, '-cf', join(temp.dir, 'rootfs-only.tar'), 'config.dump']);
    await assert.rejects(inspectSnapshot(join(temp.dir, 'rootfs-only.tar')), /rootfs-only\.tar holds no CRIU images/);
  });
});
