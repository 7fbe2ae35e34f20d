// The runtime work of issue 17 and the attach half of issue 12, without hosts: which runtime a
// command or an executable shows (Go told apart by the build-id note of real lab binaries), the
// JDWP options a JVM was started with, the argv of every attach helper (always the debug host's
// own program, never a binary of the copy, never privileged), the debug host's required tools,
// and the store's files beside a snapshot (0600, exclusive, removed with it).
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gdbSafetyOptions, nativeDebuggerArgv, runtimeOf } from '../../../src/core/debug/attach';
import { terminalClient } from '../../../src/core/debug/clients';
import { delveArgv } from '../../../src/core/debug/delve';
import { isGoExecutable } from '../../../src/core/debug/goBinary';
import { jdwpAgentOf } from '../../../src/core/debug/java';
import { jcmdPath } from '../../../src/core/debug/jcmd';
import { injectedPython, injectionResult, pythonInjectionArgv } from '../../../src/core/debug/python';
import { requireDebugTools } from '../../../src/core/debug/requirements';
import { Host } from '../../../src/core/host';
import { podman } from '../../../src/core/podman/commands';
import { SnapdebugError } from '../../../src/core/util/errors';
import { artifactsIn as listArtifacts, createArtifact, removeArtifactFile as removeArtifact } from '../../../src/core/snapshot/artifacts';
import { SnapshotStore } from '../../../src/core/snapshot/store';
import type { RunResult, Runner } from '../../../src/core/ssh/runner';
import { makeTempDir } from '../helpers';

const executables = fileURLToPath(new URL('../../fixtures/executables/', import.meta.url));

function scriptedHost(answer: (argv: readonly string[]) => Partial<RunResult>): Host & { ran: string[][] } {
  const ran: string[][] = [];
  const runner: Runner = {
    label: 'debug',
    run: async (argv) => {
      ran.push([...argv]);
      return { stdout: '', stderr: '', exitCode: 0, ...answer(argv) };
    },
    start: () => Promise.reject(new Error('no streams here')),
    drops: () => 0,
  };
  return Object.assign(new Host('debug', runner, { sudo: false }), { ran });
}

describe('runtimes (issue 17)', () => {
  describe('runtimeOf', () => {
    it('reads the runtime from the program of a command line, not from its arguments', () => {
      const cases: Array<[string, string]> = [
        ['node /app/server.js', 'node'],
        ['/usr/bin/nodejs server.js', 'node'],
        ['python3 /app/app.py', 'python'],
        ['/usr/local/bin/python3.12 -m gunicorn app', 'python'],
        ['java -Xmx64m -cp /app Demo', 'java'],
        ['/opt/java/openjdk/bin/java -jar app.jar', 'java'],
        ['/app/demo-go', 'native'],
        ['/app/server --config /etc/node', 'native'],
        ['bash -c python3 app.py', 'native'],
        ['javac Demo.java', 'native'],
      ];
      for (const [command, runtime] of cases) assert.equal(runtimeOf(command), runtime, command);
    });

    it('tells a Go program by its build-id note (heads of the lab\'s demo-go and demo-native)', () => {
      assert.equal(isGoExecutable(readFileSync(join(executables, 'demo-go-head.bin'))), true);
      assert.equal(isGoExecutable(readFileSync(join(executables, 'demo-native-head.bin'))), false);
      assert.equal(isGoExecutable(readFileSync(process.execPath).subarray(0, 65536)), false, 'node itself is no Go program');
    });

    it('reads hostile or cut ELF heads without throwing', () => {
      const go = readFileSync(join(executables, 'demo-go-head.bin'));
      for (const length of [0, 4, 63, 64, 200, 1000, 3975]) assert.equal(isGoExecutable(go.subarray(0, length)), false, `cut at ${length}`);
      const hostile = Buffer.from(go);
      hostile.writeBigUInt64LE(0xffffffffffffn, 32); // program headers "far away"
      assert.equal(isGoExecutable(hostile), false);
      const looping = Buffer.from(go);
      // Every PT_NOTE segment pointing at a note whose sizes wrap: parsing must end.
      for (let i = 0; i < looping.readUInt16LE(56); i++) {
        const at = Number(looping.readBigUInt64LE(32)) + i * 56;
        if (looping.readUInt32LE(at) === 4) looping.writeUInt32LE(0xfffffffc, Number(looping.readBigUInt64LE(at + 8)));
      }
      assert.equal(isGoExecutable(looping), false);
    });
  });

  describe('jdwpAgentOf', () => {
    it('finds the port of a listening JDWP agent on the command line or in JAVA_TOOL_OPTIONS', () => {
      assert.deepEqual(jdwpAgentOf('java -agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:5005 -cp /app Demo'), { port: 5005, address: '127.0.0.1' });
      assert.deepEqual(jdwpAgentOf('java -Xrunjdwp:transport=dt_socket,server=y,address=*:8000 -jar a.jar'), { port: 8000, address: '*' });
      assert.deepEqual(jdwpAgentOf('java -agentlib:jdwp=server=y,address=5005 -jar a.jar'), { port: 5005, address: '' });
      assert.deepEqual(jdwpAgentOf('java -jar a.jar', ['PATH=/bin', 'JAVA_TOOL_OPTIONS=-Xmx1g -agentlib:jdwp=transport=dt_socket,server=y,address=0.0.0.0:5006']), { port: 5006, address: '0.0.0.0' });
    });

    it('says why an agent cannot take a debugger, and finds none where there is none', () => {
      assert.equal(jdwpAgentOf('java -cp /app Demo'), undefined);
      assert.equal(jdwpAgentOf('java -jar a.jar', ['NOT_JAVA_TOOL_OPTIONS=-agentlib:jdwp=server=y,address=1']), undefined);
      assert.match((jdwpAgentOf('java -agentlib:jdwp=transport=dt_socket,server=n,address=ide:5005 Demo') as { reason: string }).reason, /connects out/);
      assert.match((jdwpAgentOf('java -agentlib:jdwp=transport=dt_socket,server=y Demo') as { reason: string }).reason, /port it chose/);
      assert.match((jdwpAgentOf('java -agentlib:jdwp=transport=dt_shmem,server=y,address=x Demo') as { reason: string }).reason, /dt_shmem/);
      assert.match((jdwpAgentOf('java -agentlib:jdwp=server=y,address=99999 Demo') as { reason: string }).reason, /no valid port/);
    });
  });

  describe('attach helpers: the debug host\'s programs, nothing of the copy, nothing privileged in it', () => {
    const host = new Host('debug', { label: 'debug', run: () => Promise.reject(new Error('unused')), start: () => Promise.reject(new Error('unused')), drops: () => 0 }, { sudo: true });

    it('Python: the host\'s gdb by host PID, scripts off, no symbol server; the code has nothing gdb would unquote', () => {
      const argv = pythonInjectionArgv(4242, 5678);
      assert.equal(argv[0], 'gdb');
      assert.deepEqual(argv.slice(1, 1 + gdbSafetyOptions.length), [...gdbSafetyOptions]);
      assert.deepEqual(argv.slice(-3), ['/proc/4242/exe', '--pid', '4242']);
      assert.ok(!argv.includes('podman') && !argv.some((a) => /nsenter|--privileged/.test(a)));
      const code = injectedPython(5678);
      assert.doesNotMatch(code, /["\\\n]/);
      assert.match(code, /'address': \['127\.0\.0\.1', 5678\]/);
      assert.ok(argv.includes(`call (int)PyRun_SimpleString("${code}")`));
      assert.throws(() => pythonInjectionArgv(1, 5678), /Refusing to act on host PID 1/);
      assert.throws(() => pythonInjectionArgv(0, 5678), /host PID 0/);
    });

    it('Python: PyRun_SimpleString\'s result is read from gdb\'s value history', () => {
      assert.equal(injectionResult('[New LWP 12]\n$1 = 1\n$2 = 0\n[Inferior 1 (process 9) detached]\n'), 0);
      assert.equal(injectionResult('$1 = 1\n$2 = -1\n'), -1);
      assert.equal(injectionResult('ptrace: Operation not permitted.\n'), undefined);
    });

    it('Go: the host\'s dlv, in the copy\'s network namespace only (host mount and PID namespaces), held by a host shell', () => {
      const argv = delveArgv(4242, 2345, '/var/tmp/snapdebug-s.abcdefghij/w.abcdefgh');
      assert.deepEqual(argv.slice(0, 7), ['nsenter', '--target', '4242', '--net', '--', 'sh', '-c']);
      assert.ok(!argv.some((a) => /^--(mount|pid|all)$/.test(a)));
      assert.deepEqual(argv.slice(-4), ['snapdebug-delve', '4242', '2345', '/var/tmp/snapdebug-s.abcdefghij/w.abcdefgh']);
      assert.match(argv[7]!, /dlv attach "\$1" "\/proc\/\$1\/exe" --headless --accept-multiclient --continue --api-version=2 --listen="127\.0\.0\.1:\$2"/);
      assert.deepEqual(host.privileged(argv).slice(0, 3), ['sudo', '-n', 'nsenter']);
    });

    it('native: gdb with the same safety options, the program read through /proc', () => {
      const argv = nativeDebuggerArgv(host, { runtime: 'native', hostPid: 777, containerPid: 1, command: '/app/counter' });
      assert.deepEqual(argv.slice(0, 2), ['sudo', '-n']);
      assert.ok(argv.includes('set auto-load off') && argv.includes('set debuginfod enabled off'));
      assert.deepEqual(argv.slice(-3), ['/proc/777/exe', '--pid', '777']);
    });

    it('Java: jcmd runs in the copy as the JVM\'s user, never privileged; beside the JVM\'s own java when the command names it', () => {
      const exec = podman.exec('demo-java-snap-1', ['jcmd', '1', 'Thread.print'], { user: 'app:app' });
      assert.deepEqual(exec.argv, ['exec', '--user', 'app:app', 'demo-java-snap-1', 'jcmd', '1', 'Thread.print']);
      assert.throws(() => podman.exec('c', ['jcmd'], { user: '0; rm -rf /' }), /not a user/);
      assert.throws(() => podman.exec('c', ['jcmd'], { user: '--privileged' }), /not a user/);
      assert.equal(jcmdPath('java -cp /app Demo'), 'jcmd');
      assert.equal(jcmdPath('/opt/java/openjdk/bin/java -jar app.jar'), '/opt/java/openjdk/bin/jcmd');
      assert.equal(jcmdPath('/weird path/java x'), 'jcmd');
      assert.deepEqual(podman.topUsers('c').parse('PID  USER  GROUP\n1    app   app\n27   root  root\n'), [
        { pid: 1, user: 'app', group: 'app' },
        { pid: 27, user: 'root', group: 'root' },
      ]);
    });

    it('terminal clients for those without the IDE extension', () => {
      const at = { address: '127.0.0.1', port: 41000 };
      assert.equal(terminalClient('go', at), 'dlv connect 127.0.0.1:41000');
      assert.equal(terminalClient('java', at), 'jdb -attach 127.0.0.1:41000');
      assert.equal(terminalClient('python', at), undefined);
    });
  });

  describe('requireDebugTools', () => {
    it('refuses with the install line when the debug host lacks Delve (for Go) or gdb (for Python and native)', async () => {
      const without = (missing: string) => scriptedHost((argv) => (argv.at(-1) === missing ? { exitCode: 1 } : { stdout: `/usr/bin/${argv.at(-1)}\n` }));
      const noDlv = without('dlv');
      await assert.rejects(requireDebugTools(noDlv, 'go'), (error: SnapdebugError) => {
        assert.equal(error.message, 'There is no Delve (dlv) on debug, which attaching to a Go copy needs.');
        assert.match(error.fix!.text, /^Install it on debug: apt install delve/);
        return true;
      });
      // Looked up without privileges: nothing runs as root to find a program.
      assert.deepEqual(noDlv.ran.map((argv) => [argv[0], argv[1], argv.at(-1)]), [['sh', '-c', 'dlv']]);
      await requireDebugTools(noDlv, 'python');
      await requireDebugTools(noDlv, 'node');
      await assert.rejects(requireDebugTools(without('gdb'), 'python'), /no gdb on debug, which attaching to a Python copy/);
      await assert.rejects(requireDebugTools(without('gdb'), 'native'), /no gdb on debug/);
      await requireDebugTools(without('gdb'), 'java');
    });
  });

  describe('artifacts beside a snapshot', () => {
    it('are written 0600 in a 0700 folder named after the snapshot, exist only when complete, and go with the snapshot', async () => {
      const temp = makeTempDir('artifacts');
      try {
        const store = new SnapshotStore(join(temp.dir, 'store'));
        const writer = createArtifact(store, 'demo-api-20261201-101500-ab12', 'demo-api-snap-101502', 'heapsnapshot', new Date('2026-12-01T10:17:33Z'));
        writer.stream.write('{"snapshot":');
        assert.deepEqual(listArtifacts(store, 'demo-api-20261201-101500-ab12'), [], 'a .part is no artifact');
        writer.stream.end('{}}');
        const artifact = await writer.commit();
        assert.match(artifact.name, /^demo-api-snap-101502-20261201-101733-[0-9a-f]{4}\.heapsnapshot$/);
        assert.equal(statSync(artifact.path).mode & 0o777, 0o600);
        assert.equal(statSync(join(store.dir, 'demo-api-20261201-101500-ab12.d')).mode & 0o777, 0o700);
        assert.deepEqual(listArtifacts(store, 'demo-api-20261201-101500-ab12').map((a) => [a.kind, a.name, a.size]), [['heapsnapshot', artifact.name, 15]]);

        const discarded = createArtifact(store, 'demo-api-20261201-101500-ab12', 'demo-api-snap-101502', 'cpuprofile');
        discarded.stream.write('partial');
        discarded.discard();
        assert.deepEqual(listArtifacts(store, 'demo-api-20261201-101500-ab12').map((a) => a.kind), ['heapsnapshot']);

        assert.throws(() => createArtifact(store, '../escape', 'copy', 'hprof'), /not a snapshot id/);
        assert.throws(() => createArtifact(store, 'snap', '../copy', 'hprof'), /not a container name/);
        writeFileSync(join(temp.dir, 'victim.heapsnapshot'), 'keep');
        assert.throws(() => removeArtifact(store, join(temp.dir, 'victim.heapsnapshot')), /not a file snapdebug saved/);
        assert.equal(existsSync(join(temp.dir, 'victim.heapsnapshot')), true);

        // Deleting the snapshot deletes what was taken from its copies. The store acts only on
        // metadata its schema accepts, with the archive's real size and sha256.
        const id = 'demo-api-20261201-101500-ab12';
        const part = store.partPath(id);
        writeFileSync(part, 'archive data');
        store.commit(part, {
          id,
          kind: 'checkpoint',
          createdAt: '2026-12-01T10:15:00.000Z',
          source: { host: 'prod', container: 'demo-api' },
          podmanVersion: '5.4.2',
          options: { leaveRunning: true, compress: 'zstd' },
          compression: 'zstd',
          archive: store.archiveName(id, 'zstd'),
          size: 'archive data'.length,
          sha256: createHash('sha256').update('archive data').digest('hex'),
          sourceLeftRunning: true,
          timings: { checkpointMs: 500, totalMs: 900 },
        });
        store.remove(id);
        assert.equal(existsSync(artifact.path), false);
      } finally {
        temp.cleanup();
      }
    });

    it('a file left half-written by a process that died is swept from the store; one being written is not', async () => {
      const temp = makeTempDir('artifacts-sweep');
      try {
        const store = new SnapshotStore(join(temp.dir, 'store'));
        const writing = createArtifact(store, 'snap', 'copy', 'hprof');
        writing.stream.write('memory of the copy');
        await new Promise<void>((resolve) => writing.stream.once('ready', () => resolve()));
        // A CLI killed mid heap dump left this one (no process has PID 2**22 + 1: above pid_max).
        const dead = join(store.dir, 'snap.d', `copy-20261201-101733-beef.hprof.${2 ** 22 + 1}.part`);
        writeFileSync(dead, 'memory of the copy');
        assert.deepEqual(store.sweepParts(), [`snap.d/copy-20261201-101733-beef.hprof.${2 ** 22 + 1}.part`]);
        assert.equal(existsSync(dead), false);
        assert.equal(existsSync(writing.stream.path as string), true, 'this process is alive: its file stays');
        writing.discard();
      } finally {
        temp.cleanup();
      }
    });

    it('never write through a file or link that is already there', async () => {
      const temp = makeTempDir('artifacts-exclusive');
      try {
        const store = new SnapshotStore(join(temp.dir, 'store'));
        const at = new Date('2026-12-01T10:17:33Z');
        const first = createArtifact(store, 'snap', 'copy', 'threads', at, 'beef');
        const part = first.stream.path as string;
        first.discard();
        // Someone plants a link where the next file of that name would be written.
        const target = join(temp.dir, 'outside.txt');
        writeFileSync(target, 'untouched');
        symlinkSync(target, part);
        const second = createArtifact(store, 'snap', 'copy', 'threads', at, 'beef');
        second.stream.end('memory of the copy');
        await assert.rejects(second.commit(), /EEXIST/);
        assert.equal(readFileSync(target, 'utf8'), 'untouched');
        assert.deepEqual(listArtifacts(store, 'snap'), []);
      } finally {
        temp.cleanup();
      }
    });
  });
});

