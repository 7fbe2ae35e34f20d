// The runtimes' host-side helpers, with their real sh run here against stand-ins (remoteStandIns.ts):
// what they start on a host ends without this client — Delve's holder detaches dlv when our channel
// closes or when the work's folder goes (the session's watchdog removing it), and the heap dump's
// file leaves the copy when the reader vanishes mid-stream, or, through the work's undo list, when
// the client vanishes altogether.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { delveHolderScript, delvePorts, startDelve } from '../../../src/core/debug/delve';
import { heapDumpOutcome, heapDumpScript, heapDumpToStore } from '../../../src/core/debug/jcmd';
import { undoLine } from '../../../src/core/remote/work';
import type { SnapdebugError } from '../../../src/core/util/errors';
import { eventually, standIns, type StandIns } from './remoteStandIns';

/** podman's `exec` and `top` for one Java copy whose files live under $FAKE_ROOT. */
const podman = `#!/bin/sh
echo "podman $*" >> "$FAKE_LOG"
case $1 in
  top) printf 'PID USER GROUP\\n1 app app\\n' ;;
  exec)
    shift; u=; [ "$1" = --user ] && { u=$2; shift 2; }
    c=$1; shift
    case $1 in
      */jcmd|jcmd)
        case \${FAKE_JCMD:-ok} in
          ok) head -c "$FAKE_HEAP_BYTES" /dev/zero | tr '\\0' h > "$FAKE_ROOT$4"; echo "$5:"; echo "Heap dump file created [$FAKE_HEAP_BYTES bytes in 0.010 secs]" ;;
          refused) echo "$2:"; echo "java.io.IOException: File exists" ;;
        esac ;;
      cat) exec cat "$FAKE_ROOT$2" ;;
      rm) rm -f "$FAKE_ROOT$3" ;;
    esac ;;
esac
exit 0
`;

/**
 * Stands for dlv: logs how it was started, and that SIGINT reached it (it detaches then). With
 * FAKE_DLV=listen it listens on its --listen address as Delve does; with too-old it refuses the
 * program as a Delve older than the program's Go does.
 */
const dlv = `#!/usr/bin/env node
const { appendFileSync } = require('node:fs');
appendFileSync(process.env.FAKE_LOG, 'dlv ' + process.argv.slice(2).join(' ') + '\\n');
if (process.env.FAKE_DLV === 'too-old') {
  console.log('Version of Go is too old for this version of Delve (minimum supported version 1.22)');
  process.exit(1);
}
process.on('SIGINT', () => { appendFileSync(process.env.FAKE_LOG, 'dlv detached\\n'); process.exit(0); });
const listen = process.argv.find((a) => a.startsWith('--listen='));
if (process.env.FAKE_DLV === 'listen' && listen) require('node:net').createServer().listen(Number(listen.split(':').pop()), '127.0.0.1');
setInterval(() => undefined, 1000);
`;

const dumpPath = '/tmp/snapdebug-heap-0123456789abcdef.hprof';

describe('runtimes: host-side helpers (sh run here)', function () {
  this.timeout(30_000);
  let s: StandIns;
  let root: string;
  const saved = { FAKE_ROOT: process.env.FAKE_ROOT, FAKE_HEAP_BYTES: process.env.FAKE_HEAP_BYTES, FAKE_JCMD: process.env.FAKE_JCMD, FAKE_DLV: process.env.FAKE_DLV };
  beforeEach(() => {
    s = standIns();
    writeFileSync(join(s.dir, 'bin', 'podman'), podman, { mode: 0o755 });
    writeFileSync(join(s.dir, 'bin', 'dlv'), dlv, { mode: 0o755 });
    root = join(s.dir, 'copy-root');
    mkdirSync(join(root, 'tmp'), { recursive: true });
    process.env.FAKE_ROOT = root;
    process.env.FAKE_HEAP_BYTES = String(4 * 1024 * 1024);
    delete process.env.FAKE_JCMD;
    delete process.env.FAKE_DLV;
  });
  afterEach(() => {
    s.cleanup();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  describe("Delve's holder", () => {
    async function startHolder(workDir: string) {
      const host = s.host();
      return host.runner.start(['sh', '-c', delveHolderScript, 'snapdebug-delve', '4242', '2345', workDir]);
    }

    it('detaches dlv (SIGINT) when our channel closes', async () => {
      const work = await s.host().beginWork('delve');
      const holder = await startHolder(work.dir);
      await eventually(() => s.lines().some((l) => l.startsWith('dlv attach 4242 /proc/4242/exe --headless')), 'dlv to start');
      holder.stdin.end();
      assert.equal(await holder.exit, 0);
      assert.ok(s.lines().includes('dlv detached'), s.lines().join('\n'));
    });

    it("detaches dlv when the work's folder goes (the watchdog's doing when heartbeats stop), though the channel stays open", async () => {
      const host = s.host({ session: { heartbeatIntervalMs: 60_000 } });
      const work = await host.beginWork('delve');
      const holder = await startHolder(work.dir);
      await eventually(() => s.lines().some((l) => l.startsWith('dlv attach')), 'dlv to start');
      // No heartbeats: the session's lease runs out and its watchdog removes the work.
      await eventually(() => !existsSync(work.dir), 'the watchdog to remove the work');
      assert.equal(await holder.exit, 0);
      assert.ok(s.lines().includes('dlv detached'));
      assert.equal(holder.stdin.writableEnded, false, 'our side never closed');
    });
  });

  describe('startDelve', () => {
    const target = { runtime: 'go' as const, hostPid: process.pid, containerPid: 1, command: '/app/demo-go' };

    it('returns once Delve listens (the debug host waits for it); stop() detaches it', async () => {
      process.env.FAKE_DLV = 'listen';
      const host = s.host();
      const delve = await startDelve(host, target);
      try {
        assert.ok(delvePorts.includes(delve.port));
        assert.ok(s.lines().some((l) => l.startsWith(`dlv attach ${process.pid} /proc/${process.pid}/exe --headless`) && l.endsWith(`--listen=127.0.0.1:${delve.port}`)), s.lines().join('\n'));
      } finally {
        await delve.stop();
      }
      assert.ok(s.lines().includes('dlv detached'));
      assert.deepEqual(readdirSessions(s.tmp), [], "the work finished: Delve's folder is gone");
    });

    it("a Delve that ends before it listens fails the attach at once, in its own words, not after the wait", async () => {
      process.env.FAKE_DLV = 'too-old';
      const host = s.host();
      const started = Date.now();
      await assert.rejects(startDelve(host, target), (error: SnapdebugError) => {
        assert.match(error.message, /Delve could not attach to the Go process of the copy on local/);
        assert.match(error.detail ?? '', /Version of Go is too old/);
        assert.match(error.fix?.text ?? '', /Install a Delve on local that supports/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000, 'well within the 30 s wait');
      assert.deepEqual(readdirSessions(s.tmp), []);
    });
  });

  describe('the heap dump', () => {
    it('streams the dump out of the copy and removes it there, and says what jcmd said', async () => {
      const host = s.host();
      const out = new PassThrough();
      let bytes = 0;
      out.on('data', (chunk: Buffer) => (bytes += chunk.length));
      const target = { runtime: 'java' as const, hostPid: 4242, containerPid: 1, command: '/opt/jdk/bin/java -cp /app Demo' };
      await heapDumpToStore(host, 'demo-java-snap-1', target, dumpPath, out, {});
      assert.equal(bytes, 4 * 1024 * 1024);
      assert.equal(existsSync(join(root, dumpPath)), false, 'nothing left in the copy');
      const asked = s.lines().filter((l) => l.startsWith('podman exec'));
      assert.deepEqual(asked, [
        `podman exec --user app:app demo-java-snap-1 /opt/jdk/bin/jcmd 1 GC.heap_dump ${dumpPath}`,
        `podman exec --user app:app demo-java-snap-1 cat ${dumpPath}`,
        `podman exec --user app:app demo-java-snap-1 rm -f ${dumpPath}`,
      ]);
      assert.deepEqual(readdirSessions(s.tmp), [], 'the work finished: its folder is gone');
    });

    it("a JVM that refuses is jcmd's failure, and the copy keeps nothing", async () => {
      process.env.FAKE_JCMD = 'refused';
      const host = s.host();
      const target = { runtime: 'java' as const, hostPid: 4242, containerPid: 1, command: 'java Demo' };
      await assert.rejects(heapDumpToStore(host, 'demo-java-snap-1', target, dumpPath, new PassThrough(), {}), /jcmd failed in demo-java-snap-1/);
      assert.equal(existsSync(join(root, dumpPath)), false);
      assert.ok(!s.lines().some((l) => / cat \//.test(l)), 'nothing to read out');
    });

    it('when the reader vanishes mid-stream, the script still removes the file from the copy', async () => {
      const host = s.host();
      const work = await host.beginWork('heap dump');
      const dump = await host.runner.start(host.script(heapDumpScript, [work.dir, 'demo-java-snap-1', 'app:app', 'jcmd', '1', dumpPath]));
      // Our end of the channel goes away after the first bytes, as when this client dies.
      await new Promise<void>((resolve) => dump.stdout.once('data', () => resolve()));
      dump.stdout.destroy();
      await dump.exit;
      const outcome = heapDumpOutcome(dump.stderrText());
      assert.equal(outcome.jcmdExit, 0);
      assert.notEqual(outcome.catExit, 0, 'cat lost its reader');
      assert.equal(existsSync(join(root, dumpPath)), false, 'removed all the same');
      assert.ok(s.lines().includes(`podman exec --user app:app demo-java-snap-1 rm -f ${dumpPath}`));
    });

    it("when the client vanishes, the session's watchdog removes the file from the copy (the work's undo list)", async () => {
      const host = s.host({ session: { heartbeatIntervalMs: 60_000 } });
      const work = await host.beginWork('heap dump');
      await work.willUndo({ kind: 'copyFile', container: 'demo-java-snap-1', user: 'app:app', path: dumpPath });
      writeFileSync(join(root, dumpPath), 'memory of the copy');
      await eventually(() => !existsSync(work.dir), 'the watchdog to undo the work');
      assert.equal(existsSync(join(root, dumpPath)), false);
      assert.ok(s.lines().includes(`podman exec --user app:app demo-java-snap-1 rm -f ${dumpPath}`));
    });

    it('an undo list names only files snapdebug writes in copies, as a user podman can take', () => {
      assert.equal(undoLine({ kind: 'copyFile', container: 'c', user: '1000:1000', path: dumpPath }), `copyfile c 1000:1000 ${dumpPath}`);
      for (const path of ['/etc/passwd', '/tmp/snapdebug-heap-../x.hprof', '/tmp/other.hprof', `${dumpPath} x`]) {
        assert.throws(() => undoLine({ kind: 'copyFile', container: 'c', user: 'app', path }), /not a file snapdebug removes/, path);
      }
      assert.throws(() => undoLine({ kind: 'copyFile', container: 'c', user: '--privileged', path: dumpPath }), /not a user/);
      assert.throws(() => undoLine({ kind: 'copyFile', container: '-c', user: 'app', path: dumpPath }));
    });

    it('the host checks an undo line again: a planted line outside the pattern is not acted on', async () => {
      const host = s.host({ session: { heartbeatIntervalMs: 60_000 } });
      const work = await host.beginWork('heap dump');
      const victim = join(root, 'etc-passwd');
      writeFileSync(victim, 'keep');
      writeFileSync(join(work.dir, 'undo'), `copyfile demo app /etc-passwd\ncopyfile demo app;id ${dumpPath}\n`);
      await eventually(() => !existsSync(work.dir), 'the watchdog to undo the work');
      assert.equal(statSync(victim).size, 4);
      assert.ok(!s.lines().some((l) => l.startsWith('podman exec')), s.lines().join('\n'));
      rmSync(victim);
    });
  });
});

function readdirSessions(tmp: string): string[] {
  // Work folders left in any session folder of this client.
  return readdirSync(tmp)
    .filter((name) => name.startsWith('snapdebug-s.'))
    .flatMap((session) => readdirSync(join(tmp, session)).filter((name) => name.startsWith('w.')));
}
