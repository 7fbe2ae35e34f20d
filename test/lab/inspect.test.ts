// Looking inside snapshots taken on the lab, against checkpointctl 1.3.0 on the same archives:
// process trees, files, sockets and mounts equal its `inspect --all --format json` (normalised);
// argv and environment equal what it reads from a copy whose pagemaps it can parse; a token POSTed
// into demo-api's heap is found at the addresses `memparse --search` reports; a diff of two
// snapshots shows exactly the child process started between them; and gdb on our core of
// demo-native prints the counter value and backtrace that gdb attached to a restored copy prints.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointctl, compatArchive } from '../../lab/checkpointctl';
import { labFiles } from '../../lab/paths';
import { coreFromSnapshot, diffSnapshots, inspectSnapshot, searchMemory, type SnapshotContents } from '../../src/core/index';
import { checkpoint } from '../../src/core/snapshot/checkpoint';
import { discardCopy } from '../../src/core/snapshot/copies';
import { restoreSnapshot } from '../../src/core/snapshot/restore';
import type { SnapshotMeta } from '../../src/core/snapshot/store';
import { shellJoin } from '../../src/core/util/quote';
import { containerIp, describeStall, labCore, labSsh, removeContainer, tempArchives, uniqueName, waitFor } from './helpers';

interface CtlProcess { pid: number; command: string; cmdline?: string; environment_variables?: Record<string, string>; children?: CtlProcess[] }
interface CtlDoc {
  process_tree: CtlProcess;
  file_descriptors?: Array<{ pid: number; open_files?: Array<{ type: string; fd: string; path: string }> }>;
  sockets?: Array<{ pid: number; open_sockets?: Array<{ protocol: string; data: Record<string, string | number> }> }>;
  mounts?: Array<{ destination: string; type: string; source: string }>;
}

/** checkpointctl's (go-criu's) way of writing buffer sizes. */
function countBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  let div = 1024;
  let exp = 0;
  for (let i = Math.floor(n / 1024); i >= 1024; i = Math.floor(i / 1024)) {
    div *= 1024;
    exp++;
  }
  return `${(n / div).toFixed(1)} ${'KMGTPE'[exp]}B`;
}

function flatten(node: CtlProcess, ppid = 0): Array<CtlProcess & { ppid: number }> {
  return [{ ...node, ppid }, ...(node.children ?? []).flatMap((child) => flatten(child, node.pid))];
}

/** Both sides in one shape: what each tool says of processes, files, sockets and mounts. */
function normaliseCtl(doc: CtlDoc) {
  return {
    processes: flatten(doc.process_tree).map((p) => [p.pid, p.ppid, p.command]).sort(),
    files: (doc.file_descriptors ?? []).flatMap((f) =>
      (f.open_files ?? []).map((o) => {
        const fd = o.fd.replace(`${o.type} `, '');
        // Paths of things without one differ in wording (checkpointctl "INETSK.39", we socket:[ino]): compare the kind.
        const path = o.type === 'REG' || o.type === '' ? o.path : o.type === 'PIPE' ? o.path.replace('pipe[', 'pipe:[') : o.type;
        return [f.pid, fd, path].join(' ');
      }),
    ).sort(),
    sockets: (doc.sockets ?? []).flatMap((s) => (s.open_sockets ?? []).map((o) => [s.pid, o.protocol, o.data['state'], o.data['src'], o.data['src_port'] ?? 0, o.data['dst'], o.data['dst_port'] ?? 0, o.data['send_buf'], o.data['recv_buf']].join(' '))).sort(),
    mounts: (doc.mounts ?? []).map((m) => [m.destination, m.type, m.source].join(' ')),
  };
}

function normaliseOurs(contents: SnapshotContents) {
  return {
    processes: contents.processes.map((p) => [p.pid, p.ppid, p.command]).sort(),
    files: contents.processes.flatMap((p) =>
      p.files.filter((f) => f.fd !== 'exe').map((f) => [p.pid, f.fd, f.type === 'REG' ? f.path : f.type === 'PIPE' ? f.path : f.type].join(' ')),
    ).sort(),
    sockets: contents.processes.flatMap((p) =>
      p.sockets.map((s) => [p.pid, s.protocol, s.state, s.source, s.sourcePort ?? 0, s.destination, s.destinationPort ?? 0, countBytes(s.sendBufferBytes ?? 0), countBytes(s.receiveBufferBytes ?? 0)].join(' ')),
    ).sort(),
    mounts: contents.mounts.map((m) => [m.destination, m.type, m.source].join(' ')),
  };
}

/** How many times the layer under a container's root is mounted (containers/storage counts them). */
async function layerMounts(host: string, container: string): Promise<number> {
  const layer = `d=$(podman inspect -f '{{.GraphDriver.Data.MergedDir}}' ${shellJoin([container])}); l=\${d%/merged}; l=\${l##*/}`;
  const out = await labSsh(host, `${layer}; grep -o "{[^}]*\\"$l\\"[^}]*}" /run/containers/storage/overlay-layers/mountpoints.json`);
  return Number(/"count":(\d+)/.exec(out)?.[1] ?? 0);
}

describe('inspect, memory, diff and core against checkpointctl (lab)', function () {
  this.timeout(240_000);
  const core = labCore();
  const work = mkdtempSync(join(tmpdir(), 'snapdebug-inspect-lab-'));
  const snapshots = new Map<string, SnapshotMeta>();
  const token = `snapdebug-heap-token-${randomBytes(8).toString('hex')}`;
  const childContainer = uniqueName('inspect-child');
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await describeStall(core, ['prod', 'debug']);
  });
  after(async () => {
    await removeContainer('prod', childContainer).catch(() => undefined);
    core.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  before(async () => {
    // The token goes into demo-api's heap only: the body of a POST it keeps in an array.
    const ip = await containerIp('prod', 'demo-api');
    await labSsh('prod', `curl -sf --max-time 5 -X POST --data-binary ${token} http://${ip}:8080/note`);
    for (const container of ['demo-api', 'demo-python', 'demo-native', 'demo-sleeper']) {
      snapshots.set(container, await checkpoint(core, { host: 'prod', container, options: { leaveRunning: true } }));
    }
  });

  for (const container of ['demo-api', 'demo-python', 'demo-native', 'demo-sleeper']) {
    it(`${container}: processes, files, sockets and mounts equal checkpointctl inspect --all`, async () => {
      const archive = core.store.archivePath(snapshots.get(container)!);
      const theirs = normaliseCtl((JSON.parse(checkpointctl(['inspect', archive, '--all', '--format', 'json'])) as CtlDoc[])[0]!);
      const ours = normaliseOurs(await inspectSnapshot(archive));
      assert.deepEqual(ours, theirs);
      assert.ok(theirs.files.length > 3 && theirs.mounts.length > 5, 'checkpointctl said something');
      if (container === 'demo-sleeper') assert.equal(theirs.processes.length, 2, 'a multi-process container');
      if (container === 'demo-api' || container === 'demo-python') assert.equal(theirs.sockets.length, 1, 'the listening socket');
    });

    it(`${container}: argv and environment equal what checkpointctl reads from memory`, async () => {
      const archive = core.store.archivePath(snapshots.get(container)!);
      const compat = compatArchive(archive, work);
      const doc = (JSON.parse(checkpointctl(['inspect', compat, '--ps-tree-cmd', '--ps-tree-env', '--format', 'json'])) as CtlDoc[])[0]!;
      const ours = await inspectSnapshot(archive, { env: true });
      for (const p of flatten(doc.process_tree)) {
        const mine = ours.processes.find((q) => q.pid === p.pid)!;
        assert.equal(mine.args.join(' '), p.cmdline?.trim(), `argv of ${p.pid}`);
        assert.deepEqual(mine.env, p.environment_variables ?? {}, `environment of ${p.pid}`);
      }
      // On the archive as CRIU 4.2 wrote it, checkpointctl 1.3.0 reads no memory (why compat exists).
      const plain = (JSON.parse(checkpointctl(['inspect', archive, '--ps-tree-cmd', '--format', 'json'])) as CtlDoc[])[0]!;
      assert.equal(plain.process_tree.cmdline?.trim() ?? '', '');
    });
  }

  it('memory: a token in demo-api\'s heap is found at the addresses checkpointctl memparse --search reports', async () => {
    const archive = core.store.archivePath(snapshots.get('demo-api')!);
    const ours = await searchMemory(archive, { text: token, contextBytes: 16 });
    const table = checkpointctl(['memparse', compatArchive(archive, work), '--pid', '1', '--search', token]);
    const theirs = [...table.matchAll(/^\|\s*([0-9a-f]{16})\s*\|/gm)].map((m) => `0x${BigInt(`0x${m[1]}`).toString(16)}`).sort();
    assert.ok(theirs.length >= 1, `checkpointctl found the token:\n${table}`);
    assert.deepEqual(ours.hits.map((h) => h.address).sort(), theirs);
    assert.ok(ours.hits.every((h) => h.pid === 1 && h.mapping !== '[stack]'), 'in the heap, not in argv or the environment');
    assert.match(checkpointctl(['memparse', archive, '--pid', '1', '--search', token]), /No matches/, 'checkpointctl alone reads no memory of CRIU 4.2 archives');
  });

  it('diff: two snapshots of a container that started a child in between show exactly that child and its files', async () => {
    const script = [
      "const fs = require('fs'); const { spawn } = require('child_process');",
      "const wait = setInterval(() => { if (!fs.existsSync('/tmp/go')) return; clearInterval(wait);",
      "const out = fs.openSync('/tmp/child.out', 'w'); spawn('sleep', ['600'], { stdio: ['ignore', out, 'ignore'] }); fs.closeSync(out); }, 200);",
    ].join(' ');
    await labSsh('prod', `podman run -d --name ${childContainer} localhost/snapdebug/node:20 node -e ${JSON.stringify(script)} >/dev/null`);
    await waitFor(async () => (await labSsh('prod', `podman inspect -f '{{.State.Running}}' ${childContainer}`)).trim() === 'true', 20_000, 'the container');
    const before = await checkpoint(core, { host: 'prod', container: childContainer, options: { leaveRunning: true } });
    await labSsh('prod', `podman exec ${childContainer} touch /tmp/go`);
    await waitFor(async () => /sleep 600/.test(await labSsh('prod', `podman top ${childContainer} args`)), 20_000, 'the child');
    const after = await checkpoint(core, { host: 'prod', container: childContainer, options: { leaveRunning: true } });
    const diff = diffSnapshots(await inspectSnapshot(core.store.archivePath(before)), await inspectSnapshot(core.store.archivePath(after)));
    assert.deepEqual(diff.processesGone, []);
    assert.deepEqual(diff.processesAdded.map((p) => [p.command, p.args, p.ppid]), [['sleep', ['sleep', '600'], 1]]);
    const files = diff.processesAdded[0]!.files.filter((f) => /^\d+$/.test(f.fd)).map((f) => [f.fd, f.path]);
    assert.deepEqual(files, [['0', '/dev/null'], ['1', '/tmp/child.out'], ['2', '/dev/null']]);
  });

  it('core: gdb on the core of demo-native prints the counter and backtrace gdb attached to a restored copy prints', async () => {
    const meta = snapshots.get('demo-native')!;
    const dir = join(work, 'core-native');
    const result = await coreFromSnapshot(core, meta, { pid: 1, outDir: dir });
    assert.deepEqual(result.fetched, ['/app/counter'], `the program, from the image on prod: ${JSON.stringify(result.missing)}`);
    const gdbCommands = ['-ex', 'bt', '-ex', 'print tick_count', '-ex', 'print last_message'];
    const fromCore = execFileSync('gdb', ['-nx', '-batch', '-x', result.gdbinitPath, ...gdbCommands], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });

    // The copy is restored stopped (CRIU's leave-stopped, for this restore only), so its counter
    // has not moved when gdb attaches.
    await labSsh('debug', "cp /etc/criu/runc.conf /etc/criu/runc.conf.inspect-test && echo leave-stopped >> /etc/criu/runc.conf");
    let copy: { name: string } | undefined;
    try {
      copy = await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { ignoreStaticIp: true, ignoreStaticMac: true }, asCopy: true });
    } finally {
      await labSsh('debug', 'mv /etc/criu/runc.conf.inspect-test /etc/criu/runc.conf');
    }
    try {
      const pid = (await labSsh('debug', `podman inspect -f '{{.State.Pid}}' ${copy.name}`)).trim();
      assert.match(pid, /^[1-9]\d*$/);
      // As Snapshot & Debug attaches natively: the program and libraries through /proc (attach.ts).
      // (Bounded: a gdb stuck attaching would otherwise hold the test until its own timeout, unexplained.)
      const attached = await labSsh('debug', `${shellJoin(['timeout', '60', 'gdb', '-nx', '-batch', '-iex', `set sysroot /proc/${pid}/root`, `/proc/${pid}/exe`, '--pid', pid, ...gdbCommands])} 2>&1`);
      // The backtrace `bt` printed: from its last frame #0 (loading a core prints frame #0 too).
      const frames = (out: string) => [...out.slice(out.lastIndexOf('\n#0 ')).matchAll(/^#\d+\s+(?:0x[0-9a-f]+ in )?(\w+) \(/gm)].map((m) => m[1]);
      const value = (out: string, n: number) => new RegExp(`^\\$${n} = (.*)$`, 'm').exec(out)?.[1];
      assert.deepEqual(frames(fromCore), ['clock_nanosleep', 'nanosleep', 'sleep', 'main']);
      assert.deepEqual(frames(fromCore), frames(attached));
      assert.equal(value(fromCore, 1), value(attached, 1), 'tick_count');
      assert.equal(value(fromCore, 2), value(attached, 2), 'last_message');
      // snprintf wrote "tick N" and its NUL over the start of the array.
      assert.match(value(fromCore, 2) ?? '', new RegExp(`^"tick ${value(fromCore, 1)}\\\\000`));
    } finally {
      await discardCopy(core, 'debug', copy.name);
    }
  });

  it('core: a multi-threaded process (demo-api, Node.js) gets every thread, with libraries from its image, and lets go of the mount', async () => {
    const meta = snapshots.get('demo-api')!;
    const contents = await inspectSnapshot(core.store.archivePath(meta));
    const mountedBefore = await layerMounts('prod', 'demo-api');
    const result = await coreFromSnapshot(core, meta, { pid: 1, outDir: join(work, 'core-api') });
    assert.equal(await layerMounts('prod', 'demo-api'), mountedBefore, 'mounted as often as before');
    assert.equal(result.fetchedFrom, `container ${meta.source.containerId!.slice(0, 12)} on prod`, 'its image sits in the read-only store');
    assert.equal(result.threads, contents.processes[0]!.threads.length);
    assert.ok(result.fetched.includes('/usr/bin/node') && result.fetched.some((f) => f.includes('libc.so.6')), result.fetched.join(' '));
    const out = execFileSync('gdb', ['-nx', '-batch', '-x', result.gdbinitPath, '-ex', 'info threads', '-ex', 'bt 3'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(out.match(/^\*?\s+\d+\s+LWP \d+/gm)?.length, result.threads, out);
    // Debian's libc carries no symbols, but gdb loaded it from the files fetched out of the image.
    assert.match(out, /^#0 .* from \S+\/root\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6$/m, out);
  });

  it("core: a client killed while reading the image's files leaves no mount and no work: the host undoes them", async () => {
    const meta = snapshots.get('demo-api')!;
    const mountedBefore = await layerMounts('prod', 'demo-api');
    const argv = ['tsx', 'src/cli/main.ts', '--ssh-config', labFiles.sshConfig, '--store', core.store.dir, '--verbose', 'core', meta.id, '--pid', '1', '--out', join(work, 'core-killed')];
    const child = spawn('npx', argv, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    try {
      // --verbose logs each remote command as it ends: the container's root is mounted now.
      await new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (chunk: Buffer) => {
          log += chunk.toString();
          if (/podman container mount /.test(log)) resolve();
        });
        child.once('exit', () => reject(new Error(`the CLI ended before it mounted anything:\n${log}`)));
      });
      process.kill(-child.pid!, 'SIGKILL');
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
    assert.doesNotMatch(log, /unmount/, 'killed before it could unmount');
    assert.equal(await layerMounts('prod', 'demo-api'), mountedBefore + 1, 'mounted when the client died');
    await waitFor(async () => (await layerMounts('prod', 'demo-api')) === mountedBefore, 60_000, "the host's watchdog to unmount it");
    assert.deepEqual(await tempArchives('prod'), [], 'no work left on prod');
  });
});
