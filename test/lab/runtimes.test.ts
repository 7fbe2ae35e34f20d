// Go, Java and Node.js captures against the lab (issue 17), through the core and the protocols a
// debugger speaks: Delve's DAP for demo-go (a breakpoint in the copy's handler hit by a request
// through the forwarded port), JDWP for demo-java (a static field equal to production's), jcmd dumps
// for demo-java-noagent (refused for debugging before production is touched), and CDP heap
// snapshots / CPU profiles of a demo-api copy. Every value compared was put into production's
// memory by a request just before the snapshot, so only a copy of that memory can hold it.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { labDir, labFiles } from '../../lab/paths';
import { recordCpuProfile, saveHeapDump, saveHeapSnapshot, saveThreadDump } from '../../src/core/debug/captures';
import { snapshotAndDebug, type SnapshotDebugSession } from '../../src/core/debug/session';
import { doctor } from '../../src/core/doctor';
import { discardCopy } from '../../src/core/snapshot/copies';
import { connectDap } from './dap';
import { connectJdwp } from './jdwp';
import { heapDumpScript } from '../../src/core/debug/jcmd';
import type { SnapdebugError } from '../../src/core/util/errors';
import { cliFixWording } from '../../src/cli/options';
import { containerIp, containerPid, labCore, labSsh, tempArchives, uniqueName, waitFor, endSessions } from './helpers';

const goSource = readFileSync(join(labDir, 'demo-go', 'main.go'), 'utf8').split('\n');
/** 1-based line of the statement a debugger stops at in handleState. */
const goBreakLine = goSource.findIndex((l) => l.includes('w.Header().Set("x-last-note", lastNote)')) + 1;

async function javaState(container: string): Promise<{ startedAtMillis: number; lastNote: string }> {
  const ip = await containerIp('prod', container);
  return JSON.parse(await labSsh('prod', `curl -sf --max-time 5 http://${ip}:8091/state`)) as { startedAtMillis: number; lastNote: string };
}

describe('Go, Java and Node.js copies (lab, issue 17)', function () {
  this.timeout(240_000);
  const core = labCore();
  const sessions: SnapshotDebugSession[] = [];
  after(async () => {
    await endSessions(sessions, 'debug');
    core.cleanup();
  });

  const checkpointsRun = () => core.commands.filter((c) => c.startsWith('prod:') && /container checkpoint/.test(c));

  it('Go: Delve from the debug host; a request through the forwarded port stops in the copy\'s handler, whose locals hold what production had', async () => {
    assert.ok(goBreakLine > 0);
    const note = uniqueName('go-note');
    const prod = JSON.parse(await labSsh('prod', `curl -sf --max-time 5 'http://127.0.0.1:18090/state?note=${note}'`)) as { startedAt: string };
    const prodPid = await containerPid('prod', 'demo-go');
    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-go', to: 'debug' });
    sessions.push(session);
    assert.equal(session.target.runtime, 'go', 'detected from the executable');
    assert.deepEqual(session.ports.map((p) => p.port), ['8090/tcp']);
    // Delve is the debug host's, attached by host PID, and listens inside the copy only.
    const dlvPid = (await labSsh('debug', 'pgrep -x dlv')).trim();
    assert.match(dlvPid, /^\d+$/, 'one Delve on debug');
    const ns = async (pid: string | number, kind: string) => (await labSsh('debug', `readlink /proc/${pid}/ns/${kind}`)).trim();
    assert.equal(await ns(dlvPid, 'net'), await ns(session.copy.pid, 'net'), 'Delve in the copy\'s network namespace');
    assert.equal(await ns(dlvPid, 'mnt'), await ns(1, 'mnt'), 'Delve is the host\'s program (host mount namespace)');
    assert.notEqual(await ns(dlvPid, 'mnt'), await ns(session.copy.pid, 'mnt'));
    assert.doesNotMatch(await labSsh('debug', 'cat /proc/net/tcp /proc/net/tcp6'), /:0929 0+:0000 0A/, 'no Delve port on the debug host itself');

    const dap = await connectDap(session.attach!.port);
    let response: Promise<Response> | undefined;
    try {
      await dap.request('initialize', { adapterID: 'go', clientID: 'snapdebug-test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
      await dap.request('attach', { mode: 'remote' });
      await dap.event('initialized');
      const { breakpoints } = await dap.request<{ breakpoints: Array<{ verified: boolean; line: number }> }>('setBreakpoints', {
        source: { path: '/app/main.go' },
        breakpoints: [{ line: goBreakLine }],
      });
      assert.deepEqual(breakpoints.map((b) => [b.verified, b.line]), [[true, goBreakLine]]);
      await dap.request('configurationDone');
      response = fetch(`http://127.0.0.1:${session.ports[0]!.local}/state`);
      const stopped = await dap.event<{ reason: string; threadId: number }>('stopped', 30_000);
      assert.equal(stopped.reason, 'breakpoint');
      const { stackFrames } = await dap.request<{ stackFrames: Array<{ id: number; name: string; line: number }> }>('stackTrace', { threadId: stopped.threadId, levels: 1 });
      assert.deepEqual([stackFrames[0]!.name, stackFrames[0]!.line], ['main.handleState', goBreakLine]);
      const evaluate = async (expression: string) =>
        (await dap.request<{ result: string }>('evaluate', { expression, frameId: stackFrames[0]!.id, context: 'repl' })).result;
      assert.equal(await evaluate('lastNote'), JSON.stringify(note), 'the note production was sent, in the copy\'s memory');
      assert.equal(await evaluate('startedAt'), JSON.stringify(prod.startedAt), 'the same process state, not a fresh start');
      await dap.request('continue', { threadId: stopped.threadId });
      const body = (await (await response).json()) as { startedAt: string; notes: string[] };
      assert.equal(body.startedAt, prod.startedAt);
      assert.ok(body.notes.includes(note));
    } finally {
      dap.close();
      await response?.catch(() => undefined);
    }
    assert.equal(await containerPid('prod', 'demo-go'), prodPid, 'production keeps its process');

    // Closing the session detaches Delve: it is gone, and the copy runs on, answering.
    const copyPid = session.copy.pid;
    await session.close();
    sessions.pop();
    assert.doesNotMatch(await labSsh('debug', 'ps -eo comm'), /^dlv$/m, 'no Delve left on debug');
    const binding = (await labSsh('debug', `podman port ${session.copy.name} 8090/tcp`)).trim();
    assert.match(await labSsh('debug', `curl -sf --max-time 5 http://${binding}/state`), /startedAt/);
    assert.doesNotMatch(await labSsh('debug', `grep TracerPid /proc/${copyPid}/status`), /TracerPid:\s+[1-9]/, 'nothing traces the copy');
    await discardCopy(core, 'debug', session.copy.name);
  });

  it('Go without Delve on the debug host: doctor says so with the install line; Snapshot & Debug refuses before production is touched', async () => {
    await labSsh('debug', 'mv /usr/bin/dlv /usr/bin/dlv.away');
    try {
      const report = await doctor(core, 'debug');
      const check = report.checks.find((c) => c.name === 'debugger dlv');
      assert.equal(check?.level, 'warn');
      assert.match(check.fix?.text ?? '', /apt install delve/);
      const before = core.store.list().length;
      const checkpoints = checkpointsRun().length;
      await assert.rejects(snapshotAndDebug(core, { host: 'prod', container: 'demo-go', to: 'debug' }), /There is no Delve \(dlv\) on debug/);
      assert.equal(checkpointsRun().length, checkpoints, 'no checkpoint was taken');
      assert.equal(core.store.list().length, before, 'nothing new in the store');
    } finally {
      await labSsh('debug', 'mv /usr/bin/dlv.away /usr/bin/dlv');
    }
    const report = await doctor(core, 'debug');
    assert.equal(report.checks.find((c) => c.name === 'debugger dlv')?.level, 'ok');
  });

  it('Java with a JDWP agent: its port in the copy is tunnelled; over JDWP the copy\'s static fields equal production\'s', async () => {
    const note = uniqueName('java-note');
    const ip = await containerIp('prod', 'demo-java');
    await labSsh('prod', `curl -sf --max-time 5 'http://${ip}:8091/state?note=${note}' >/dev/null`);
    const prod = await javaState('demo-java');
    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-java', to: 'debug' });
    sessions.push(session);
    assert.equal(session.target.runtime, 'java');
    const jdwp = await connectJdwp(session.attach!.port);
    try {
      const fields = await jdwp.staticFields('LDemo;', ['startedAtMillis', 'lastNote']);
      assert.equal(fields.startedAtMillis, BigInt(prod.startedAtMillis));
      assert.equal(fields.lastNote, note);
    } finally {
      jdwp.close();
    }
  });

  it('Java without an agent: refused before any checkpoint; on a copy restored without a debugger, jcmd dumps land in the store and the heap dump holds production\'s string', async () => {
    const note = uniqueName('heap-note');
    const ip = await containerIp('prod', 'demo-java-noagent');
    await labSsh('prod', `curl -sf --max-time 5 'http://${ip}:8091/state?note=${note}' >/dev/null`);
    const checkpoints = checkpointsRun().length;
    await assert.rejects(snapshotAndDebug(core, { host: 'prod', container: 'demo-java-noagent', to: 'debug' }), (error: SnapdebugError) => {
      assert.match(error.message, /started without a JDWP agent/);
      assert.deepEqual(error.fix?.options, [{ name: 'copyOnly' }]);
      assert.match(cliFixWording(error.fix!), /\(--copy-only\)$/, 'the CLI names its flag');
      return true;
    });
    assert.equal(checkpointsRun().length, checkpoints, 'refused before production was touched');

    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-java-noagent', to: 'debug', copyOnly: true });
    sessions.push(session);
    assert.equal(session.attach, undefined);
    const copy = { host: 'debug', container: session.copy.name };
    const threads = await saveThreadDump(core, copy);
    assert.match(readFileSync(threads.artifact.path, 'utf8'), /"main" #1 .*\n\s+java\.lang\.Thread\.State: TIMED_WAITING[\s\S]*at Demo\.main\(Demo\.java:\d+\)/);
    const heap = await saveHeapDump(core, copy);
    assert.equal(heap.artifact.kind, 'hprof');
    const dump = readFileSync(heap.artifact.path);
    assert.equal(dump.subarray(0, 18).toString('latin1'), 'JAVA PROFILE 1.0.2');
    assert.ok(dump.includes(Buffer.from(note)), 'the heap dump holds the string production was sent');
    for (const artifact of [threads.artifact, heap.artifact]) {
      assert.equal(statSync(artifact.path).mode & 0o777, 0o600);
      assert.equal(artifact.path.startsWith(join(core.store.dir, `${session.snapshot.id}.d`)), true, 'beside the snapshot');
    }
    // The audit log says which memory of production's twin now rests in the store.
    const captures = core.store.audit.read().filter((e) => e.action === 'capture' && e.snapshot === session.snapshot.id);
    assert.deepEqual(
      captures.map((e) => [e.host, e.container, e.detail]),
      [
        ['debug', session.copy.name, `threads ${threads.artifact.name}`],
        ['debug', session.copy.name, `hprof ${heap.artifact.name}`],
      ],
    );
    // Nothing of it stays in the copy or on the host; jcmd ran as the JVM's user, never privileged.
    assert.equal((await labSsh('debug', `podman exec ${session.copy.name} sh -c 'ls /tmp | grep -c snapdebug-heap || true'`)).trim(), '0');
    assert.deepEqual(await tempArchives('debug'), []);
    const dumps = core.commands.filter((c) => c.startsWith('debug:') && /snapdebug-heap-dump/.test(c));
    assert.equal(dumps.length, 1, 'the heap dump ran as one host script');
    assert.match(dumps[0]!, / snapdebug-heap-dump root \S+ \S+ root:root jcmd 1 \/tmp\/snapdebug-heap-[0-9a-f]{16}\.hprof$/);
    const execs = core.commands.filter((c) => /^debug: (env \S+ |sudo -n )?podman exec /.test(c));
    assert.ok(execs.length >= 1 && execs.every((c) => /podman exec --user root:root /.test(c)), execs.join('\n'));
    assert.ok([...execs, ...dumps].every((c) => !/--privileged/.test(c)));

    // A reader that vanishes mid-stream (our channel closed after the first bytes, as when this
    // client dies): the host script goes on to remove the dump from the copy all the same.
    const debug = core.hosts.get('debug');
    const work = await debug.beginWork('lab: heap dump reader vanishes');
    const inCopy = `/tmp/snapdebug-heap-${'ab'.repeat(8)}.hprof`;
    const script = await debug.runner.start(debug.script(heapDumpScript, [work.dir, session.copy.name, 'root:root', 'jcmd', '1', inCopy], 'snapdebug-heap-dump'));
    await new Promise<void>((resolve) => script.stdout.once('data', () => resolve()));
    script.close();
    const inTmp = () => labSsh('debug', `podman exec ${session.copy.name} ls /tmp`);
    await waitFor(async () => !(await inTmp()).includes('snapdebug-heap'), 30_000, 'the script to remove the dump from the copy');
    // And should the script itself be gone, the work's undo list removes it (here: abandoned).
    await labSsh('debug', `podman exec ${session.copy.name} sh -c 'echo memory > ${inCopy}'`);
    await work.willUndo({ kind: 'copyFile', container: session.copy.name, user: 'root:root', path: inCopy });
    assert.match(await inTmp(), /snapdebug-heap/);
    assert.deepEqual(await work.abandon(), [`copyfile ${session.copy.name}`]);
    assert.doesNotMatch(await inTmp(), /snapdebug-heap/);
    assert.deepEqual(await tempArchives('debug'), []);
  });

  it('CLI: `debug --json` on demo-go prints "runtime":"go" and the DAP address; Delve answers there; SIGTERM detaches it and the copy stays', async () => {
    execFileSync('node', ['scripts/build.mjs']);
    const child = spawn('node', ['dist/cli.js', '--ssh-config', labFiles.sshConfig, '--store', core.store.dir, '--json', 'debug', 'prod/demo-go', '--to', 'debug'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', () => reject(new Error('the CLI exited before printing its line')));
      });
      const announced = JSON.parse(line) as { container: string; runtime: string; attach: { address: string; port: number } };
      assert.equal(announced.runtime, 'go');
      assert.equal(announced.attach.address, '127.0.0.1');
      const dap = await connectDap(announced.attach.port);
      const capabilities = await dap.request<{ supportsConfigurationDoneRequest?: boolean }>('initialize', { adapterID: 'go', clientID: 'snapdebug-test', pathFormat: 'path' });
      dap.close();
      assert.equal(capabilities.supportsConfigurationDoneRequest, true, 'Delve\'s DAP server answered');
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal((await labSsh('debug', 'pgrep -x dlv || echo none')).trim(), 'none');
      assert.equal((await labSsh('debug', `podman inspect --format '{{.State.Status}}' ${announced.container}`)).trim(), 'running');
      await discardCopy(core, 'debug', announced.container);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });

  it('CLI killed (SIGKILL) while Delve is attached: Delve detaches on the debug host without it, the session\'s work goes, the copy runs on', async () => {
    execFileSync('node', ['scripts/build.mjs']);
    const child = spawn('node', ['dist/cli.js', '--ssh-config', labFiles.sshConfig, '--store', core.store.dir, '--json', 'debug', 'prod/demo-go', '--to', 'debug'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', () => reject(new Error('the CLI exited before printing its line')));
      });
      const announced = JSON.parse(line) as { container: string; runtime: string };
      assert.equal(announced.runtime, 'go');
      const copyPid = Number((await labSsh('debug', `podman inspect --format '{{.State.Pid}}' ${announced.container}`)).trim());
      assert.match(await labSsh('debug', `grep TracerPid /proc/${copyPid}/status`), /TracerPid:\s+[1-9]/, 'Delve traces the copy');
      assert.ok((await tempArchives('debug')).some((w) => /\/w\./.test(w)), "Delve's work is open on debug");
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
      await waitFor(async () => (await labSsh('debug', 'pgrep -x dlv || echo none')).trim() === 'none', 30_000, 'Delve to detach');
      assert.doesNotMatch(await labSsh('debug', `grep TracerPid /proc/${copyPid}/status`), /TracerPid:\s+[1-9]/, 'nothing traces the copy');
      await waitFor(async () => (await tempArchives('debug')).length === 0, 30_000, 'the session\'s watchdog to remove its work');
      assert.equal((await labSsh('debug', `podman inspect --format '{{.State.Status}}' ${announced.container}`)).trim(), 'running');
      await discardCopy(core, 'debug', announced.container);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });

  it('Node.js: a heap snapshot of the copy holds a string only production\'s heap held; a CPU profile has samples of the handler that ran', async () => {
    const marker = uniqueName('heap-marker');
    const ip = await containerIp('prod', 'demo-api');
    await labSsh('prod', `curl -s --max-time 5 http://${ip}:8080/${marker} >/dev/null`);
    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-api', to: 'debug', copyOnly: true });
    sessions.push(session);
    const copy = { host: 'debug', container: session.copy.name };

    const heap = await saveHeapSnapshot(core, copy);
    const snapshot = JSON.parse(readFileSync(heap.artifact.path, 'utf8')) as { snapshot: { node_count: number }; strings: string[] };
    assert.ok(snapshot.snapshot.node_count > 1000);
    assert.ok(snapshot.strings.some((s) => s.includes(marker)), 'the marker production was sent is in the copy\'s heap');
    assert.equal(statSync(heap.artifact.path).mode & 0o777, 0o600);

    const copyIp = await containerIp('debug', session.copy.name);
    // Requests to the copy's /work handler once the profile records (from inside the debug host).
    let load: Promise<string> | undefined;
    const profile = await recordCpuProfile(core, { ...copy, seconds: 3 }, {
      progress: (event) => {
        if (/^Recording a CPU profile/.test(event.message)) load ??= labSsh('debug', `for i in $(seq 30); do curl -s --max-time 5 'http://${copyIp}:8080/work?ms=40' >/dev/null; done`);
      },
    });
    assert.ok(load, 'the profile said when it started recording');
    await load;
    const cpu = JSON.parse(readFileSync(profile.artifact.path, 'utf8')) as {
      nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
      samples: number[];
    };
    const handler = new Set(cpu.nodes.filter((n) => n.callFrame.functionName === 'handleWork' && n.callFrame.url.endsWith('server.js')).map((n) => n.id));
    const samples = cpu.samples.filter((id) => handler.has(id)).length;
    assert.ok(samples > 10, `${samples} samples in handleWork`);
    assert.equal(profile.artifact.kind, 'cpuprofile');

    // The same through the CLI: one JSON document naming the file in the store.
    const cli = (...args: string[]) =>
      JSON.parse(execFileSync('node', ['dist/cli.js', '--ssh-config', labFiles.sshConfig, '--store', core.store.dir, '--json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as {
        kind: string; path: string; bytes: number; snapshot: string;
      };
    const heapByCli = cli('heap', `debug/${session.copy.name}`);
    assert.equal(heapByCli.kind, 'heapsnapshot');
    assert.equal(heapByCli.snapshot, session.snapshot.id);
    assert.ok(readFileSync(heapByCli.path, 'utf8').includes(marker));
    const profileByCli = cli('profile', `debug/${session.copy.name}`, '--seconds', '1');
    assert.equal(profileByCli.kind, 'cpuprofile');
    assert.ok((JSON.parse(readFileSync(profileByCli.path, 'utf8')) as { samples: number[] }).samples.length > 0);
    // Each file taken, by the core or the CLI, left its audit line.
    const captured = core.store.audit.read().filter((e) => e.action === 'capture' && e.snapshot === session.snapshot.id);
    assert.deepEqual(captured.map((e) => e.detail?.split(' ')[0]), ['heapsnapshot', 'cpuprofile', 'heapsnapshot', 'cpuprofile']);
  });
});
