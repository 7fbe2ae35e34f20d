// Remote work that cleans up after itself (issue 11), with the real host-side sh run here: the
// session's folder and its watchdog, undo lists replayed newest first when the client vanishes,
// adoption after a dropped keeper, the sweep of dead runs' leftovers, the streamed checkpoint's
// wrapper, and — through sudo — only the programs a sudo rule for snapdebug names.
import { strict as assert } from 'node:assert';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { podman } from '../../../src/core/podman/commands';
import { undoLine } from '../../../src/core/remote/work';
import { hostInventory, parseInventory } from '../../../src/core/remote/inventory';
import { startStreamingCheckpoint, streamFifoName } from '../../../src/core/snapshot/streamCheckpoint';
import { parseHashedTrailer } from '../../../src/core/snapshot/transfer';
import { sendToHost } from '../../../src/core/snapshot/send';
import { removeCheckpointImages, underCheckpointLock } from '../../../src/core/snapshot/checkpointImages';
import { cleanupLib, prelude } from '../../../src/core/remote/shellLib';
import { Readable } from 'node:stream';
import { eventually, standIns, type StandIns } from './remoteStandIns';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What the stand-ins were asked to do, without the sweep's question of which fence networks exist. */
function acted(s: StandIns): string[] {
  return s.lines().filter((line) => !line.startsWith('podman network ls '));
}

function sessions(tmp: string): string[] {
  return readdirSync(tmp).filter((name) => name.startsWith('snapdebug-s.'));
}

describe('remote work (host-side sh, run here)', function () {
  this.timeout(30_000);
  let s: StandIns;
  beforeEach(() => {
    s = standIns();
    delete process.env.FAKE_MODE;
  });
  afterEach(() => s.cleanup());

  it('lives in private folders; a finished work leaves nothing, and the session goes when the client ends it', async () => {
    const host = s.host();
    const work = await host.beginWork('unit test');
    assert.match(work.dir, new RegExp(`^${s.tmp}/snapdebug-s\\.[A-Za-z0-9]{10}/w\\.[A-Za-z0-9]{8}$`));
    const session = work.dir.slice(0, work.dir.lastIndexOf('/'));
    assert.equal(statSync(session).mode & 0o777, 0o700);
    assert.equal(statSync(work.dir).mode & 0o777, 0o700);
    assert.equal(readFileSync(join(work.dir, 'purpose'), 'utf8'), 'unit test\n');
    await work.finish();
    assert.equal(existsSync(work.dir), false);
    host.session!.dispose();
    await eventually(() => sessions(s.tmp).length === 0, 'the watchdog to remove the ended session');
    assert.deepEqual(acted(s), [], 'nothing to undo');
  });

  it('when the client vanishes (no more heartbeats), the host undoes the unfinished work newest step first', async () => {
    const host = s.host({ session: { heartbeatIntervalMs: 60_000 } });
    const work = await host.beginWork('restore');
    await work.willUndo({ kind: 'volume', name: 'copy-data' }, { kind: 'container', name: 'copy' });
    writeFileSync(join(work.dir, 'archive.tar'), 'process memory');
    await eventually(() => sessions(s.tmp).length === 0, 'the watchdog to act on the stale lease');
    assert.deepEqual(acted(s), ['podman rm --force --time 0 copy', 'podman volume rm --force copy-data']);
  });

  it("undoing a copy waits for a podman restore still reading the work's archive, so the container it makes is the one removed", async () => {
    const host = s.host();
    const work = await host.beginWork('restore');
    await work.willUndo({ kind: 'container', name: 'copy' });
    const gate = join(s.dir, 'restore-gate');
    writeFileSync(gate, '');
    const restoring = spawn('podman', ['container', 'restore', '--import', work.file('archive.tar')], { env: { ...process.env, FAKE_RESTORE_GATE: gate }, stdio: 'ignore' });
    try {
      await eventually(() => s.lines().some((line) => line.startsWith('podman container restore')), 'podman restore to run');
      const undoing = work.abandon();
      // The undo polls for the restore (sleep 0.1 between looks): seen, the restore is let finish.
      await eventually(() => execFileSync('sh', ['-c', 'ps -eo args= | grep -cx "sleep 0.1" || true'], { encoding: 'utf8' }).trim() !== '0', 'the undo to wait');
      assert.ok(!s.lines().includes('podman rm --force --time 0 copy'), 'not removed while podman still restores');
      rmSync(gate);
      await undoing;
      const lines = s.lines();
      assert.ok(lines.indexOf('podman restored') >= 0 && lines.indexOf('podman restored') < lines.indexOf('podman rm --force --time 0 copy'), lines.join(' | '));
    } finally {
      restoring.kill();
    }
  });

  it('abandoned on a full disk, the work still undoes every step, its kept folder included', async () => {
    const host = s.host();
    const work = await host.beginWork('restore');
    const kept = await work.keep({ copy: 'copy' });
    await work.willUndo({ kind: 'container', name: 'copy' });
    // No file can be written where the reversed list went (as when the work's archive filled the disk).
    mkdirSync(join(work.dir, 'undo.rev'));
    const undone = await work.abandon();
    assert.deepEqual(undone, ['container copy', `keep ${kept}`]);
    assert.equal(existsSync(kept), false, 'the kept folder went with the work');
    assert.equal(existsSync(work.dir), false);
  });

  it('a keeper lost without an end (a dropped link) is adopted again within the lease, and the work survives', async () => {
    const host = s.host({ session: { leaseTtlSeconds: 4 } });
    const work = await host.beginWork('push');
    const session = work.dir.slice(0, work.dir.lastIndexOf('/'));
    const first = readFileSync(join(session, 'keeper'), 'utf8').trim();
    process.kill(Number(first), 'SIGKILL');
    await eventually(() => !host.session!.kept, 'this client to notice the keeper is gone');
    assert.equal(await host.session!.stillHolds(work.generation), true);
    assert.notEqual(readFileSync(join(session, 'keeper'), 'utf8').trim(), first, 'a new keeper owns the session');
    assert.ok(existsSync(work.dir), 'the work folder is still there');
    await work.finish();
  });

  it('a host the session just failed to reach is not asked again to undo (its watchdog will); once reached, it is', async () => {
    const host = s.host({ session: { leaseTtlSeconds: 4 } });
    const work = await host.beginWork('restore');
    await work.willUndo({ kind: 'container', name: 'copy' });
    const session = work.dir.slice(0, work.dir.lastIndexOf('/'));
    process.kill(Number(readFileSync(join(session, 'keeper'), 'utf8').trim()), 'SIGKILL');
    await eventually(() => !host.session!.kept, 'this client to notice the keeper is gone');
    // The link is cut: every new channel fails, as a connect timeout would.
    const runner = host.runner as { start: typeof host.runner.start; run: typeof host.runner.run };
    const { start, run } = runner;
    let asked = 0;
    runner.start = async () => {
      asked++;
      throw new Error('SSH to local timed out');
    };
    runner.run = async () => {
      asked++;
      throw new Error('SSH to local timed out');
    };
    assert.equal(await host.session!.stillHolds(work.generation), false);
    const before = asked;
    assert.equal(await work.abandon(), undefined, 'unreachable: the watchdog undoes it');
    assert.equal(asked, before, 'abandon did not try the host again');
    // The link is back: a new session reaches the host, and abandoning asks it again.
    runner.start = start;
    runner.run = run;
    const next = await host.beginWork('restore again');
    await next.willUndo({ kind: 'volume', name: 'copy-data' });
    assert.deepEqual(await next.abandon(), ['volume copy-data']);
  });

  it('a session whose lease ran out is gone for good: its work cannot continue, new work starts a new session', async () => {
    const host = s.host({ session: { leaseTtlSeconds: 1 } });
    const work = await host.beginWork('push');
    await work.willUndo({ kind: 'container', name: 'half-made' });
    const session = work.dir.slice(0, work.dir.lastIndexOf('/'));
    process.kill(Number(readFileSync(join(session, 'keeper'), 'utf8').trim()), 'SIGKILL');
    await eventually(() => !existsSync(session), 'the watchdog to clean the lapsed session');
    await eventually(() => !host.session!.kept, 'this client to notice the keeper is gone');
    assert.equal(await host.session!.stillHolds(work.generation), false);
    const next = await host.beginWork('again');
    assert.ok(!next.dir.startsWith(session));
    assert.ok(s.lines().includes('podman rm --force --time 0 half-made'));
  });

  it("unmounts what a core's files were read from when the client vanishes, newest first, and only well-formed names", async () => {
    const host = s.host({ sudo: true, session: { heartbeatIntervalMs: 60_000 } });
    const work = await host.beginWork('read the files a core maps');
    const container = 'c'.repeat(64);
    await work.willUndo({ kind: 'unmount', what: 'image', ref: 'localhost/demo-native:latest' }, { kind: 'unmount', what: 'container', ref: container });
    appendFileSync(join(work.dir, 'undo'), 'unmount image --all\nunmount container a;b\nunmount volume x\n'); // forged on the host
    await eventually(() => sessions(s.tmp).length === 0, 'the watchdog to act on the stale lease');
    assert.deepEqual(
      acted(s).filter((l) => l.startsWith('podman ')),
      [`podman container unmount ${container}`, 'podman image unmount localhost/demo-native:latest'],
    );
    assert.throws(() => undoLine({ kind: 'unmount', what: 'image', ref: '--all' }), /is not an image reference/);
  });

  it("sweeps what a dead run left (undoing its steps), and leaves another client's live session alone", async () => {
    const dead = join(s.tmp, 'snapdebug-s.DEADDEAD00');
    const alive = join(s.tmp, 'snapdebug-s.ALIVEALIVE');
    for (const dir of [join(dead, 'w.ABCDEFGH'), join(alive, 'w.IJKLMNOP')]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dead, 'lease'), '');
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(dead, 'lease'), hourAgo, hourAgo);
    writeFileSync(join(dead, 'w.ABCDEFGH', 'undo'), 'container leftover-copy\n');
    writeFileSync(join(alive, 'lease'), '');
    const restoring = join(s.tmp, 'snapdebug-k.BEINGMADE0');
    writeFileSync(join(alive, 'w.IJKLMNOP', 'undo'), `container someone-elses\nkeep ${restoring}\n`);
    const kept = join(s.tmp, 'snapdebug-k.GONEGONE00');
    mkdirSync(kept, { mode: 0o700 });
    writeFileSync(join(kept, 'copy'), 'discarded-copy\n');
    // Another client's restore under way: its copy does not exist yet, and its work lists the folder.
    mkdirSync(restoring, { mode: 0o700 });
    writeFileSync(join(restoring, 'copy'), 'copy-being-restored\n');

    const host = s.host();
    await host.session!.dir();
    assert.equal(existsSync(dead), false, 'the dead session is gone');
    assert.equal(existsSync(kept), false, 'the kept folder of a copy that no longer exists is gone');
    assert.ok(existsSync(join(alive, 'w.IJKLMNOP')), "the other client's work is untouched");
    assert.ok(existsSync(join(restoring, 'copy')), "the kept folder of another client's restore under way is untouched");
    assert.ok(s.lines().includes('podman rm --force --time 0 leftover-copy'));
    assert.ok(!s.lines().some((l) => l.includes('someone-elses')));
    assert.ok(host.session!.swept.some((l) => l.includes('DEADDEAD00')), `swept: ${host.session!.swept.join(' | ')}`);
  });

  it("doctor's inventory: live and stale sessions, stuck processes, and whether logind would end a watchdog", async () => {
    const host = s.host();
    const work = await host.beginWork('unit test');
    const found = await hostInventory(host, s.tmp, 15);
    assert.deepEqual(found.liveSessions, [work.dir.slice(0, work.dir.lastIndexOf('/'))]);
    assert.deepEqual(found.stuck, []);
    assert.equal(found.logind?.uid, process.getuid!());
    await work.finish();
    const parsed = parseInventory('session stale /var/tmp/snapdebug-s.a\nstuck 42 podman container checkpoint /var/tmp/snapdebug-s.a/w.b/fifo\nlogind yes 1000 no dev\n');
    assert.deepEqual(parsed.staleSessions, ['/var/tmp/snapdebug-s.a']);
    assert.deepEqual(parsed.stuck, [{ pid: 42, command: 'podman container checkpoint /var/tmp/snapdebug-s.a/w.b/fifo' }]);
    assert.deepEqual(parsed.logind, { killUserProcesses: 'yes', uid: 1000, linger: false, user: 'dev' });
  });

  describe('the streamed checkpoint wrapper', () => {
    it("passes the archive through the FIFO to stdout, hashed on the host, with podman's exit status", async () => {
      process.env.FAKE_ARCHIVE = 'checkpoint archive \x00 bytes';
      const host = s.host();
      const work = await host.beginWork('checkpoint');
      const process_ = await startStreamingCheckpoint(host, work, 'a'.repeat(64), podman.checkpoint('demo', { leaveRunning: true }, work.file(streamFifoName)));
      const bytes = await readAll(process_.stdout);
      await process_.exit;
      const trailer = parseHashedTrailer(process_.stderrText());
      assert.equal(bytes.toString(), process.env.FAKE_ARCHIVE);
      assert.equal(trailer.exitCode, 0);
      assert.equal(trailer.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(trailer.teeFailed, false);
      assert.equal(readFileSync(join(work.dir, 'undo'), 'utf8'), `images ${'a'.repeat(64)}\n`, 'once podman is done, only its images are left to undo');
      delete process.env.FAKE_ARCHIVE;
    });

    it("ends (no hang) with podman's exit status when podman fails before opening the FIFO", async () => {
      process.env.FAKE_MODE = 'fail';
      const host = s.host();
      const work = await host.beginWork('checkpoint');
      const stream = await startStreamingCheckpoint(host, work, 'b'.repeat(64), podman.checkpoint('demo', { leaveRunning: true }, work.file(streamFifoName)));
      assert.equal((await readAll(stream.stdout)).length, 0);
      await stream.exit;
      const trailer = parseHashedTrailer(stream.stderrText());
      assert.equal(trailer.exitCode, 125);
      assert.match(trailer.stderr, /no container with name or ID/);
    });

    it('abandoned while podman hangs: waits for CRIU, then ends podman, then removes the checkpoint images', async () => {
      process.env.FAKE_MODE = 'hang';
      const host = s.host();
      const work = await host.beginWork('checkpoint');
      const stream = await startStreamingCheckpoint(host, work, 'c'.repeat(64), podman.checkpoint('demo', { leaveRunning: true }, work.file(streamFifoName)));
      stream.stdout.resume();
      await eventually(() => existsSync(join(work.dir, 'undo')) && readFileSync(join(work.dir, 'undo'), 'utf8').split('\n').length > 2, 'podman to start');
      stream.close(); // this client stops reading, as when it is cancelled
      const undone = await work.abandon();
      const lines = s.lines();
      assert.ok(lines.indexOf('criu done') >= 0 && lines.indexOf('criu done') < lines.indexOf('podman TERM'), `CRIU first, then podman: ${lines.join(' | ')}`);
      assert.equal(existsSync(join(s.dir, 'static', 'userdata', 'checkpoint')), false, 'checkpoint images removed');
      assert.equal(existsSync(work.dir), false);
      assert.match(undone?.[0] ?? '', /^stream \d+$/);
    });

    it("abandoned while nobody reads and a writer keeps the FIFO open: the tee and sha256sum end too, and never held the container's lock", async () => {
      // What a link cut mid-stream leaves: tee blocked on the stalled channel or on a FIFO some
      // process still holds (here the stand-in's sleep). Such a tee once kept the checkpoint lock
      // for ever, and every later checkpoint of the container waited on flock.
      process.env.FAKE_MODE = 'hang';
      const host = s.host();
      const work = await host.beginWork('checkpoint');
      const cid = 'e'.repeat(64);
      const stream = await startStreamingCheckpoint(host, work, cid, podman.checkpoint('demo', { leaveRunning: true }, work.file(streamFifoName)));
      await eventually(() => s.lines().includes('criu done'), 'CRIU to finish');
      const helpers = () => execFileSync('sh', ['-c', `ps -eo pid=,args= | grep -F ${JSON.stringify(`${work.dir}/hash`)} | grep -v grep || true`], { encoding: 'utf8' }).trim();
      await eventually(() => helpers() !== '', 'the tee to run');
      const lock = join(s.tmp, `snapdebug-lock.${cid}`);
      assert.notEqual(spawnSync('flock', ['-n', lock, 'true']).status, 0, 'the checkpoint holds its lock while it runs');
      stream.close();
      await work.abandon();
      await eventually(() => helpers() === '', 'the tee to end');
      // The stand-in's own child (sleep) outlives it, as a stuck process of podman's could: it must not hold the lock.
      await eventually(() => spawnSync('flock', ['-n', lock, 'true']).status === 0, 'the lock to be free');
    });
  });

  describe("the container's checkpoint lock", () => {
    const cid = 'f'.repeat(64);
    const images = () => join(s.dir, 'static', 'userdata', 'checkpoint');
    const lockFile = () => join(s.tmp, `snapdebug-lock.${cid}`);
    const lockFree = () => spawnSync('flock', ['-n', lockFile(), 'true']).status === 0;
    /** Another checkpoint of the container, holding its lock until its stdin ends. */
    async function anotherCheckpoint(): Promise<ChildProcess> {
      writeFileSync(lockFile(), '', { mode: 0o644 });
      const holder = spawn('flock', [lockFile(), 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
      await eventually(() => !lockFree(), 'the other checkpoint to hold the lock');
      return holder;
    }

    it("removes a checkpoint's images only once no other checkpoint of the container holds the lock (CRIU writes into that folder)", async () => {
      const holder = await anotherCheckpoint();
      try {
        const dropping = removeCheckpointImages(s.host(), s.tmp, cid, () => undefined);
        const waiting = () => execFileSync('sh', ['-c', 'ps -eo args= | grep -c "^flock -w 30 9$" || true'], { encoding: 'utf8' }).trim() !== '0';
        await eventually(waiting, 'the removal to wait on the lock');
        assert.ok(existsSync(images()), 'the images stay while the other checkpoint runs');
        holder.stdin!.end();
        await dropping;
        assert.equal(existsSync(images()), false, 'removed once the lock is free');
      } finally {
        holder.kill();
      }
    });

    it('when another checkpoint holds the lock past the wait, a waiter of the host\'s own removes them once it is done', async () => {
      const holder = await anotherCheckpoint();
      try {
        const script = `${prelude}${cleanupLib}\nsd_tmp=$1 sd_lock_wait=1\ndrop_images "$2"\n`;
        // The script's own end does not wait for the waiter: the session that asked may be gone.
        const run = spawnSync('sh', ['-c', script, 'sh', 'root', s.tmp, cid], { encoding: 'utf8', timeout: 10_000 });
        assert.equal(run.status, 0);
        assert.match(run.stderr, /another checkpoint of f+ runs: its images are removed once it is done/);
        assert.ok(existsSync(images()), 'not pulled from under the running checkpoint');
        holder.stdin!.end();
        await eventually(() => !existsSync(images()), 'the waiter to remove them');
      } finally {
        holder.kill();
      }
    });

    it('a checkpoint into a file (the file transport) runs under the lock, and lets it go when podman ends', async () => {
      process.env.FAKE_MODE = 'hang';
      const host = s.host();
      const work = await host.beginWork('checkpoint');
      writeFileSync(lockFile(), '', { mode: 0o644 });
      const checkpointing = host.podman(podman.checkpoint('demo', { leaveRunning: true }, work.file('archive.tar')), { wrap: underCheckpointLock(host, work, cid) }).catch(() => undefined);
      await eventually(() => s.lines().includes('criu done'), 'CRIU to finish');
      assert.equal(lockFree(), false, 'held while podman runs');
      // The stand-in podman waits on its sleep: ended by its PID, podman ends.
      for (const pid of readFileSync(`${s.log}.pids`, 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid));
      await checkpointing;
      assert.ok(lockFree(), 'free once podman is done');
    });
  });

  it('through sudo, the host is asked only for podman, criu, nsenter, kill, gdb, cat and rm', async () => {
    process.env.FAKE_MODE = 'hang';
    const host = s.host({ sudo: true });
    const work = await host.beginWork('checkpoint');
    const stream = await startStreamingCheckpoint(host, work, 'd'.repeat(64), podman.checkpoint('demo', { leaveRunning: true }, work.file(streamFifoName)));
    stream.stdout.resume();
    await work.willUndo({ kind: 'container', name: 'copy' }, { kind: 'unstop', name: 'source' });
    await eventually(() => s.lines().includes('criu done'), 'CRIU to finish');
    stream.close();
    await work.abandon();
    const asked = new Set(s.lines().filter((l) => l.startsWith('sudo ')).map((l) => l.slice(5)));
    assert.ok(asked.has('podman') && asked.has('kill') && asked.has('rm'), `asked: ${[...asked].join(', ')}`);
    assert.deepEqual([...asked].filter((p) => !['podman', 'criu', 'nsenter', 'kill', 'gdb', 'cat', 'rm'].includes(p)), []);
    assert.ok(!s.lines().includes('sudo without -n'));
  });

  it('creates files exclusively: an archive is never written over a file that is already there', async () => {
    const host = s.host();
    const work = await host.beginWork('push');
    writeFileSync(work.file('archive.tar'), 'planted by someone');
    await assert.rejects(
      () => sendToHost(work, work.file('archive.tar'), () => Readable.from([Buffer.from('secret memory')])),
      /already exists/,
    );
    assert.equal(readFileSync(work.file('archive.tar'), 'utf8'), 'planted by someone');
  });
});
