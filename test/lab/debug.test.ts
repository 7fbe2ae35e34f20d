// Snapshot & Debug against the lab, through the core and the CLI: a debugger reaches the copy's
// memory (Node.js over CDP, Python over DAP, native through gdb), production keeps running and
// counting with the same PID, pausing the copy does not touch prod, and a cancel at any phase
// leaves no copy and no temporary archive anywhere. Production's open TCP connections, published
// ports and named volumes stay its own: copies get theirs closed, on loopback, and renamed.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { portIsFree } from '../../lab/hosts';
import { labFiles } from '../../lab/paths';
import { attachToCopy, snapshotAndDebug, type SnapshotDebugSession } from '../../src/core/debug/session';
import { discardCopy } from '../../src/core/snapshot/copies';
import { isAbortError } from '../../src/core/util/abort';
import type { Phase } from '../../src/core/util/progress';
import { shellJoin } from '../../src/core/util/quote';
import { connectCdp, evaluateInTick } from './cdp';
import { connectDap } from './dap';
import { containerPid, criuConfigs, demoState, labCore, labSsh, removeContainer, tempArchives, waitFor, endSessions } from './helpers';

async function snapCopies(): Promise<string[]> {
  return (await labSsh('debug', "podman ps --all --format '{{.Names}}'")).split('\n').filter((n) => /-snap-\d{6}-[0-9a-f]{6}$/.test(n));
}

describe('Snapshot & Debug (lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  const sessions: SnapshotDebugSession[] = [];
  after(async () => {
    await endSessions(sessions, 'debug');
    core.cleanup();
  });

  it('Node.js: the copy\'s in-memory counter, read over CDP, is at least what prod reported before; prod keeps running and counting', async () => {
    const pid = await containerPid('prod', 'demo-api');
    const before = await demoState('prod', 'demo-api');
    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-api', to: 'debug' });
    sessions.push(session);
    assert.equal(session.target.runtime, 'node');
    assert.match(session.copy.name, /^demo-api-snap-\d{6}-[0-9a-f]{6}$/);
    assert.ok(session.attach && session.attach.address === '127.0.0.1');
    assert.ok(session.snapshot.criu && session.snapshot.criu.frozenTimeUs > 0, 'frozen time known');

    const cdp = await connectCdp(session.attach.port);
    let prodWhilePaused = 0;
    try {
      const [requestCount, startedAt] = await evaluateInTick(cdp, ['state.requestCount', 'state.startedAt'], async () => {
        // The copy is paused at a breakpoint right now: prod must keep serving and counting.
        const a = await demoState('prod', 'demo-api');
        const b = await demoState('prod', 'demo-api');
        prodWhilePaused = b.requestCount - a.requestCount;
      });
      assert.ok((requestCount as number) >= before.requestCount, `copy ${String(requestCount)} >= prod's ${before.requestCount}`);
      assert.equal(startedAt, before.startedAt, 'the same process state, not a fresh start');
    } finally {
      cdp.close();
    }
    assert.equal(prodWhilePaused, 1, 'prod answered while the copy was paused');
    assert.equal(await containerPid('prod', 'demo-api'), pid, 'prod keeps its PID');
    const after = await demoState('prod', 'demo-api');
    assert.ok(after.ticks > before.ticks, 'prod keeps counting');
    // The copy carries the snapshot's id, and prod's own inspector was never opened.
    assert.equal((await labSsh('debug', `podman inspect --format '{{index .Config.Labels "snapdebug.origin"}}' ${session.copy.name}`)).trim(), session.snapshot.id);
    assert.doesNotMatch(await labSsh('prod', `nsenter --target ${pid} --net cat /proc/net/tcp`), /:240D 00000000:0000 0A/);
    assert.deepEqual([...(await tempArchives('prod')), ...(await tempArchives('debug'))], []);
  });

  it('Python: the debug host\'s gdb loads debugpy into the copy, running nothing of the copy; over DAP its in-memory ticks are at least prod\'s before the snapshot', async () => {
    const before = JSON.parse(await labSsh('prod', `curl -sf http://$(podman inspect --format '{{.NetworkSettings.IPAddress}}' demo-python):8080/state`)) as { ticks: number };
    const ran = core.commands.length;
    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-python', to: 'debug' });
    sessions.push(session);
    assert.equal(session.target.runtime, 'python');
    // No binary of the copy ran (issue 12): no podman exec at all, and the image has no gdb to run.
    const attachCommands = core.commands.slice(ran).filter((c) => c.startsWith('debug:'));
    assert.deepEqual(attachCommands.filter((c) => /podman (container )?exec /.test(c)), []);
    assert.ok(attachCommands.some((c) => / gdb -nx .*PyRun_SimpleString/.test(c)), 'the host\'s gdb did it');
    const dap = await connectDap(session.attach!.port);
    try {
      await dap.request('initialize', { adapterID: 'debugpy', clientID: 'snapdebug-test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
      const attached = dap.request('attach', { justMyCode: false });
      await dap.event('initialized');
      await dap.request('configurationDone');
      await attached;
      const { threads } = await dap.request<{ threads: Array<{ id: number; name: string }> }>('threads');
      const main = threads.find((t) => /MainThread/.test(t.name)) ?? threads[0]!;
      await dap.request('pause', { threadId: main.id });
      await dap.event('stopped');
      const { stackFrames } = await dap.request<{ stackFrames: Array<{ id: number }> }>('stackTrace', { threadId: main.id });
      const { result } = await dap.request<{ result: string }>('evaluate', { expression: "__import__('__main__').state['ticks']", frameId: stackFrames[0]!.id, context: 'repl' });
      assert.ok(Number(result) >= before.ticks, `copy ${result} >= prod's ${before.ticks}`);
      await dap.request('continue', { threadId: main.id });
    } finally {
      dap.close();
    }
  });

  it('Python: a copy whose own gdb was replaced (as a hostile image could) is attached without running it', async () => {
    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-python', to: 'debug', copyOnly: true });
    sessions.push(session);
    const copy = session.copy.name;
    await labSsh('debug', `podman exec ${copy} sh -c 'printf "#!/bin/sh\\ntouch /tmp/copy-gdb-ran\\n" > /usr/bin/gdb; chmod 755 /usr/bin/gdb'`);
    assert.match(await labSsh('debug', `podman exec ${copy} cat /usr/bin/gdb`), /copy-gdb-ran/, 'the trap is in place');
    const attached = await attachToCopy(core, { host: 'debug', container: copy });
    try {
      assert.equal(attached.target.runtime, 'python');
      const dap = await connectDap(attached.attach!.port);
      await dap.request('initialize', { adapterID: 'debugpy', clientID: 'snapdebug-test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
      dap.close();
    } finally {
      await attached.close();
    }
    assert.equal((await labSsh('debug', `podman exec ${copy} sh -c 'ls /tmp/copy-gdb-ran 2>/dev/null || echo absent'`)).trim(), 'absent');
  });

  it('native: gdb on the debug host reads the copy\'s counter, consistent with how long prod had run', async () => {
    const startedAt = Date.parse((await labSsh('prod', "podman inspect --format '{{.State.StartedAt}}' demo-native")).trim().replace(/ \+0000 UTC$/, 'Z').replace(' ', 'T'));
    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-native', to: 'debug' });
    sessions.push(session);
    assert.equal(session.target.runtime, 'native');
    assert.ok(session.gdb);
    const snapshotAt = Date.parse(session.snapshot.createdAt);
    // The exact command the CLI and the extension hand to the user, run in batch mode.
    const out = await labSsh('debug', shellJoin([...session.gdb, '-batch', '-ex', 'print tick_count', '-ex', 'printf "message=%s\\n", last_message']));
    const ticks = Number(/\$1 = (\d+)/.exec(out)?.[1]);
    const message = /message=(.*)/.exec(out)?.[1];
    const expected = (snapshotAt - startedAt) / 1000;
    assert.ok(Math.abs(ticks - expected) <= 10, `tick_count ${ticks} ~ ${expected.toFixed(0)} s of prod's uptime at the snapshot`);
    assert.equal(message, `tick ${ticks}`, 'memory consistent with itself');
  });

  it('a container with an open TCP connection: production\'s connection survives and completes, the copy gets it closed', async () => {
    const pid = await containerPid('prod', 'demo-api');
    // A client on prod holds a request half sent (Node waits up to 60 s for the rest of the headers).
    await labSsh(
      'prod',
      [
        "ip=$(podman inspect -f '{{.NetworkSettings.IPAddress}}' demo-api)",
        'rm -f /tmp/held-go /tmp/held-response',
        `nohup bash -c 'exec 3<>/dev/tcp/'"$ip"'/8080 || exit 1; printf "GET /state HTTP/1.1\\r\\nHost: held\\r\\n" >&3; for i in $(seq 600); do [ -e /tmp/held-go ] && break; sleep 0.1; done; printf "Connection: close\\r\\n\\r\\n" >&3; timeout 10 cat <&3 > /tmp/held-response' >/dev/null 2>&1 &`,
      ].join('\n'),
    );
    // Port 8080, state ESTABLISHED; Node listens on ::, so the connection shows in tcp6 (v4-mapped).
    const established = /^\s*\d+: [0-9A-F]+:1F90 [0-9A-F]+:[0-9A-F]+ 01 /m;
    const connections = (host: string, hostPid: number) => labSsh(host, `cat /proc/${hostPid}/net/tcp /proc/${hostPid}/net/tcp6`);
    await waitFor(async () => established.test(await connections('prod', pid)), 10_000, 'the held connection');

    const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-api', to: 'debug' });
    sessions.push(session);
    assert.equal(session.snapshot.options.tcpEstablished, true);

    // Production: the same process, and the held request completes once the client sends the rest.
    await labSsh('prod', 'touch /tmp/held-go');
    await waitFor(async () => (await labSsh('prod', 'cat /tmp/held-response 2>/dev/null || true')).includes('requestCount'), 15_000, "prod's answer on the held connection");
    assert.match(await labSsh('prod', 'head -1 /tmp/held-response; rm -f /tmp/held-go /tmp/held-response'), /^HTTP\/1\.1 200 OK/);
    assert.equal(await containerPid('prod', 'demo-api'), pid);

    // The copy: running, debuggable, its copy of the connection closed (podman 5.4 has no
    // --tcp-close, so through the CRIU options file its annotation names).
    assert.doesNotMatch(await connections('debug', session.copy.pid), established);
    const cdp = await connectCdp(session.attach!.port);
    const [count] = await evaluateInTick(cdp, ['state.requestCount']);
    cdp.close();
    assert.equal(typeof count, 'number');
    const kept = (await criuConfigs('debug')).find((line) => line.endsWith(` ${session.copy.name}`));
    assert.ok(kept, `a kept folder for ${session.copy.name} on debug`);
    const config = `${kept.split(' ')[0]}/criu.conf`;
    assert.equal((await labSsh('debug', `podman inspect --format '{{index .Config.Annotations "org.criu.config"}}' ${session.copy.name}`)).trim(), config);
    assert.match(await labSsh('debug', `cat ${config}`), /\nnetwork-lock nftables\ntcp-close\s*$/);
    assert.equal((await labSsh('debug', `stat -c '%a %U' ${config} ${config.slice(0, config.lastIndexOf('/'))}`)).trim(), '600 root\n700 root');

    await session.close();
    sessions.pop();
    await discardCopy(core, 'debug', session.copy.name);
    assert.ok(!(await criuConfigs('debug')).some((line) => line.endsWith(` ${session.copy.name}`)), 'discarding the copy removes its CRIU options file');
  });

  it('a container publishing a port: two copies started at once get their own names and loopback ports, and do not collide', async () => {
    const name = `pub-${Date.now().toString(36)}`;
    await labSsh('prod', `podman run -d --name ${name} -p 18080:8080 localhost/snapdebug/demo-api:latest >/dev/null`);
    try {
      await waitFor(async () => (await labSsh('prod', `curl -s -m 2 http://127.0.0.1:18080/state || true`)).includes('requestCount'), 30_000, `${name} serving on prod`);
      // Both in the same second, without waiting: copy names never collide.
      const started = await Promise.allSettled([0, 1].map(() => snapshotAndDebug(core, { host: 'prod', container: name, to: 'debug' })));
      const copies = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      sessions.push(...copies);
      assert.deepEqual(started.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason)), [], 'both runs succeeded');
      assert.notEqual(copies[0]!.copy.name, copies[1]!.copy.name);
      for (const session of copies) assert.deepEqual(session.snapshot.source.ports, ['8080/tcp']);
      const bindings = await Promise.all(copies.map(async (s) => (await labSsh('debug', `podman port ${s.copy.name} 8080/tcp`)).trim()));
      for (const binding of bindings) assert.match(binding, /^127\.0\.0\.1:\d+$/, 'on loopback, on a port podman picked');
      assert.notEqual(bindings[0], bindings[1]);
      for (const binding of bindings) assert.match(await labSsh('debug', `curl -s -m 5 http://${binding}/state`), /requestCount/);
      // Here, each session forwards the copy's 8080 to a local port: the request that hits a breakpoint.
      for (const session of copies) {
        assert.deepEqual(session.ports.map((p) => p.port), ['8080/tcp']);
        const state = (await (await fetch(`http://127.0.0.1:${session.ports[0]!.local}/state`)).json()) as { pid: number };
        assert.equal(typeof state.pid, 'number');
      }
      for (const session of copies) {
        await session.close();
        await assert.rejects(fetch(`http://127.0.0.1:${session.ports[0]!.local}/state`), 'close() closes the forwarded port');
        sessions.splice(sessions.indexOf(session), 1);
        await discardCopy(core, 'debug', session.copy.name);
      }
    } finally {
      await removeContainer('prod', name);
    }
  });

  it('a container with a named volume: each copy gets its own volume with the snapshot\'s content, removed with the copy', async () => {
    const name = `vol-${Date.now().toString(36)}`;
    const volume = `${name}-data`;
    await labSsh('prod', `podman run -d --name ${name} -v ${volume}:/data localhost/snapdebug/demo-api:latest >/dev/null && podman exec ${name} sh -c 'echo from-prod > /data/note'`);
    // Something else on debug already has a volume of that name: copies must never touch it.
    await labSsh('debug', `podman volume create ${volume} >/dev/null && echo debug-own > $(podman volume inspect -f '{{.Mountpoint}}' ${volume})/note`);
    try {
      const copies: SnapshotDebugSession[] = [];
      for (let i = 0; i < 2; i++) {
        const session = await snapshotAndDebug(core, { host: 'prod', container: name, to: 'debug' });
        sessions.push(session);
        copies.push(session);
      }
      for (const session of copies) {
        assert.equal(await labSsh('debug', `podman exec ${session.copy.name} cat /data/note`), 'from-prod', 'the snapshot\'s volume content');
        await labSsh('debug', `podman exec ${session.copy.name} sh -c 'echo written-by-${session.copy.name} > /data/note'`);
      }
      // What the running processes write lands in each copy's own volume, nowhere else.
      for (const session of copies) {
        const own = `${session.copy.name}-${volume}`;
        assert.equal(await labSsh('debug', `cat $(podman volume inspect -f '{{.Mountpoint}}' ${own})/note`), `written-by-${session.copy.name}`);
      }
      assert.equal(await labSsh('debug', `cat $(podman volume inspect -f '{{.Mountpoint}}' ${volume})/note`), 'debug-own');
      assert.equal(await labSsh('prod', `podman exec ${name} cat /data/note`), 'from-prod');
      for (const session of copies) {
        await session.close();
        sessions.splice(sessions.indexOf(session), 1);
        await discardCopy(core, 'debug', session.copy.name);
      }
      const left = (await labSsh('debug', 'podman volume ls --format "{{.Name}}"')).split('\n');
      assert.deepEqual(left.filter((v) => v.includes(volume)), [volume], 'the copies\' volumes went with them; the other one stays');
    } finally {
      await removeContainer('prod', name);
      await labSsh('prod', `podman volume rm -f ${volume} >/dev/null 2>&1 || true`);
      await labSsh('debug', `podman volume ls --format '{{.Name}}' | grep -- '${volume}$' | xargs -r podman volume rm -f >/dev/null 2>&1 || true`);
    }
  });

  // Host to host (the default) the archive's phase is the debug host's fetch ('push'); through this machine, 'pull'.
  const cancelCases: Array<{ phase: Phase; throughHere?: true }> = [{ phase: 'checkpoint' }, { phase: 'push' }, { phase: 'pull', throughHere: true }, { phase: 'restore' }, { phase: 'attach' }];
  for (const { phase, throughHere } of cancelCases) {
    it(`a cancel during "${phase}"${throughHere ? ' (through this machine)' : ''} leaves no copy, no temporary archive and no .part; prod untouched`, async () => {
      const pid = await containerPid('prod', 'demo-api');
      const copiesBefore = await snapCopies();
      const configsBefore = await criuConfigs('debug');
      const controller = new AbortController();
      let cancelled = false;
      await assert.rejects(
        snapshotAndDebug(core, { host: 'prod', container: 'demo-api', to: 'debug', ...(throughHere && { throughHere }) }, {
          signal: controller.signal,
          progress: (event) => {
            if (event.phase === phase && !cancelled) {
              cancelled = true;
              controller.abort();
            }
          },
        }),
        (error) => isAbortError(error),
      );
      assert.ok(cancelled, `the ${phase} phase was reached`);
      await waitFor(async () => (await tempArchives('debug')).length === 0 && (await tempArchives('prod')).length === 0, 20_000, 'no temporary archives');
      assert.deepEqual(await snapCopies(), copiesBefore, 'no new copy on debug');
      assert.deepEqual(await criuConfigs('debug'), configsBefore, 'no CRIU options file left for a copy that is not');
      assert.deepEqual(core.store.partFiles(), []);
      assert.equal(await containerPid('prod', 'demo-api'), pid);
    });
  }

  it('CLI: `debug --json` prints one JSON line when a debugger can attach, holds the tunnel until SIGTERM; the copy stays until discarded', async () => {
    const localPort = 40000 + Math.floor(Math.random() * 20000);
    execFileSync('node', ['scripts/build.mjs']);
    // The built CLI itself (what `npx snapdebug` runs), so the signal reaches it, not a wrapper.
    const child = spawn('node', ['dist/cli.js', '--ssh-config', labFiles.sshConfig, '--store', core.store.dir, '--json', 'debug', 'prod/demo-api', '--to', 'debug', '--local-port', String(localPort)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', () => reject(new Error('the CLI exited before printing its line')));
      });
      const announced = JSON.parse(line) as { snapshot: string; host: string; container: string; runtime: string; attach: { address: string; port: number } };
      // storing: the archive went host to host, and the store receives the snapshot now.
      assert.deepEqual(Object.keys(announced).sort(), ['attach', 'container', 'fence', 'host', 'runtime', 'snapshot', 'storing']);
      assert.deepEqual((announced as unknown as { fence: unknown }).fence, { allowed: [] }, 'Snapshot & Debug fences the copy by default');
      assert.deepEqual([announced.host, announced.runtime, announced.attach.address, announced.attach.port], ['debug', 'node', '127.0.0.1', localPort]);
      const cdp = await connectCdp(localPort);
      const [count] = await evaluateInTick(cdp, ['state.requestCount']);
      cdp.close();
      assert.equal(typeof count, 'number');

      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      // The CLI ended only once the store had the snapshot (it waits for it after a Ctrl-C).
      assert.match(stderr, new RegExp(`${announced.snapshot} is in the store \\(.*, sha256 verified\\)`));
      assert.ok(core.store.get(announced.snapshot));
      assert.match(stderr, new RegExp(`closing the tunnel; ${announced.container} stays on debug`), 'says the copy stays, not "cancelling"');
      assert.doesNotMatch(stderr, /cancelling/);
      assert.equal(await portIsFree(localPort), true, 'the tunnel is closed');
      assert.equal((await labSsh('debug', `podman inspect --format '{{.State.Status}}' ${announced.container}`)).trim(), 'running', 'the copy stays');
      await discardCopy(core, 'debug', announced.container);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
