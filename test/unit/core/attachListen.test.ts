// Attaching in few round trips, with the real sh of listening.ts run here against stand-ins
// (remoteStandIns.ts: nsenter enters no namespace, so the script reads this machine's sockets):
// a real Node.js opens its inspector on the SIGUSR1 the script sends, in one command; nothing is
// signalled that already listens; a wait is bounded on the host; hostile arguments are refused
// there too. Tunnels listen at once and relay before the host's socat probe has answered.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { prepareNode, type DebugTarget } from '../../../src/core/debug/attach';
import { listenOutcome, listenScript, probeListening } from '../../../src/core/debug/listening';
import { hostHasSocat, openTunnel } from '../../../src/core/debug/tunnel';
import { Host } from '../../../src/core/host';
import { LocalRunner, type RunOptions, type Runner } from '../../../src/core/ssh/runner';
import { eventually, standIns, type StandIns } from './remoteStandIns';

/** A runner that records what it runs and holds the socat probe until `release` is called. */
function gatedRunner(): Runner & { ran: string[][]; started: number; release: () => void } {
  const inner = new LocalRunner();
  let release = () => undefined as void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const runner = {
    label: 'local',
    ran: [] as string[][],
    started: 0,
    release: () => release(),
    drops: () => 0,
    run: async (argv: readonly string[], options?: RunOptions) => {
      runner.ran.push([...argv]);
      if (argv.join(' ') === 'sh -c command -v socat') await gate;
      return inner.run(argv, options);
    },
    start: (argv: readonly string[], options?: { signal?: AbortSignal }) => {
      runner.started++;
      return inner.start(argv, options);
    },
  };
  return runner;
}

/** A free TCP port on 127.0.0.1 (nothing listens there when this returns). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sends `text` through 127.0.0.1:port and resolves with as much coming back (a debugger never half-closes). */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length >= text.length) socket.destroy();
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

/** PIDs of listen scripts running here for the process `pid` (their $0 is snapdebug-listen). */
function scriptsFor(pid: number): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      return argv[0] === 'sh' && argv[3] === 'snapdebug-listen' && argv[5] === String(pid) ? [Number(entry)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

describe('attach in one round trip (sh run here)', function () {
  this.timeout(30_000);
  let s: StandIns;
  const children: ChildProcess[] = [];
  const servers: Server[] = [];

  /** Starts a child and waits for its first line on stdout, its sign that it is ready. */
  async function child(argv: string[]): Promise<ChildProcess> {
    const started = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(started);
    await new Promise<void>((resolve, reject) => {
      started.stdout!.once('data', () => resolve());
      started.once('exit', (code) => reject(new Error(`${argv[0]} exited (${code}) before it was ready`)));
    });
    return started;
  }

  /** A real Node.js whose inspector, once opened (SIGUSR1 or --inspect), listens on `port`. */
  function nodeWithInspector(port: number, openAtStart = false): Promise<ChildProcess> {
    const flag = openAtStart ? `--inspect=127.0.0.1:${port}` : `--inspect-port=127.0.0.1:${port}`;
    return child([process.execPath, flag, '-e', 'console.log("ready"); setInterval(() => undefined, 1000)']);
  }

  function target(pid: number): DebugTarget {
    return { runtime: 'node', hostPid: pid, containerPid: 1, command: 'node server.js' };
  }

  beforeEach(() => {
    s = standIns();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const server of servers.splice(0)) server.close();
    s.cleanup();
  });

  it("Node.js: looks, signals and waits for the inspector on the host, in one command; only nsenter and kill go through sudo", async () => {
    const port = await freePort();
    const node = await nodeWithInspector(port);
    let stderr = '';
    node.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const runner = gatedRunner();
    runner.release();
    const host = new Host('local', runner, { sudo: true });
    // prepareNode is this call for port 9229; the child's own port keeps the test off any real inspector.
    const { state } = await probeListening(host, node.pid!, port, { signal: 'USR1', waitSeconds: 15 });
    assert.equal(state, 'listening');
    assert.match(stderr, new RegExp(`Debugger listening on ws://127\\.0\\.0\\.1:${port}/`), 'the inspector opened on SIGUSR1');
    assert.equal(runner.ran.length, 1, `one command: ${runner.ran.map((a) => a.slice(0, 2).join(' ')).join(' | ')}`);
    assert.deepEqual([...new Set(s.lines().filter((l) => l.startsWith('sudo ')))], ['sudo nsenter', 'sudo kill']);
    // The script said whether the host has socat: a tunnel now needs no probe before relaying.
    assert.equal(typeof (await hostHasSocat(host)), 'boolean');
    assert.equal(runner.ran.length, 1, 'no socat probe');
  });

  it('Node.js: an inspector already listening is not signalled again', async () => {
    const port = await freePort();
    const node = await nodeWithInspector(port, true);
    const host = s.host({ sudo: true });
    assert.equal((await probeListening(host, node.pid!, port, { signal: 'USR1', waitSeconds: 15 })).state, 'listening');
    assert.ok(s.lines().includes('sudo nsenter'));
    assert.ok(!s.lines().includes('sudo kill'), s.lines().join('\n'));
  });

  it('a process that never listens: the host gives up by itself after the wait it was given', async () => {
    const port = await freePort();
    // SIGUSR1 ignored (kept across exec): it lives on, and never listens.
    const deaf = await child(['sh', '-c', 'trap "" USR1; echo ready; exec sleep 300']);
    const host = s.host();
    const started = Date.now();
    assert.equal((await probeListening(host, deaf.pid!, port, { signal: 'USR1', waitSeconds: 1 })).state, 'not-listening');
    const waitedMs = Date.now() - started;
    assert.ok(waitedMs >= 1_000 && waitedMs < 5_000, `waited ${waitedMs} ms for a wait of 1 s`);
    assert.equal(deaf.exitCode, null, 'signalled, and still running');
  });

  it('a process that cannot be signalled: prepareNode says so, with kill\'s words', async () => {
    // A PID that was just freed: no process has it (the kernel does not reuse PIDs at once).
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    const host = s.host();
    await assert.rejects(prepareNode(host, target(gone.pid!)), (error: Error & { detail?: string }) => {
      assert.match(error.message, new RegExp(`Could not signal the Node.js process ${gone.pid} on local`));
      assert.match(error.detail ?? '', /kill/i);
      return true;
    });
  });

  it('a cancel ends the wait, here and on the host', async () => {
    const deaf = await child(['sh', '-c', 'trap "" USR1; echo ready; exec sleep 300']);
    const host = s.host();
    const abort = new AbortController();
    const probe = probeListening(host, deaf.pid!, await freePort(), { signal: 'USR1', waitSeconds: 30, abort: abort.signal });
    const script = () => scriptsFor(deaf.pid!);
    await eventually(() => script().length > 0, 'the script to run');
    abort.abort();
    await assert.rejects(probe, { name: 'AbortError' });
    await eventually(() => script().length === 0, 'the script to end');
  });

  it('hostile arguments are refused here, and by the script itself', async () => {
    const host = s.host();
    await assert.rejects(probeListening(host, 1, 9229), /Refusing to act on host PID 1/);
    await assert.rejects(probeListening(host, process.pid, 0), /not a TCP port/);
    await assert.rejects(probeListening(host, process.pid, 65536), /not a TCP port/);
    await assert.rejects(probeListening(host, process.pid, 9229, { waitSeconds: 3600 }), /at most 60 s/);
    const runner = new LocalRunner();
    const cases: Array<[string, string, string, string]> = [
      ['1', '9229', 'none', '0'],
      ['12x', '9229', 'none', '0'],
      ['-1', '9229', 'none', '0'],
      [String(process.pid), '09229', 'none', '0'],
      [String(process.pid), '65536', 'none', '0'],
      [String(process.pid), '9229;id', 'none', '0'],
      [String(process.pid), '9229', 'KILL', '0'],
      [String(process.pid), '9229', 'none', '61'],
      [String(process.pid), '9229', 'none', '1 '],
    ];
    for (const args of cases) {
      const result = await runner.run(host.script(listenScript, args));
      assert.equal(result.exitCode, 2, args.join(' '));
      assert.equal(result.stdout, '', args.join(' '));
    }
    assert.ok(!s.lines().some((l) => /nsenter|kill/.test(l)), 'nothing run for them');
  });

  it("reads only the script's own words from its output", () => {
    assert.deepEqual(listenOutcome('snapdebug-socat no\nsnapdebug-listening\n'), { state: 'listening', socat: false });
    assert.deepEqual(listenOutcome('snapdebug-socat yes\nsnapdebug-not-listening\n'), { state: 'not-listening', socat: true });
    assert.deepEqual(listenOutcome('snapdebug-signal-failed\n'), { state: 'signal-failed', socat: undefined });
    assert.deepEqual(listenOutcome('xsnapdebug-listening\nsnapdebug-socat maybe\n'), { state: undefined, socat: undefined });
  });

  describe('tunnels', () => {
    /** An echo server on 127.0.0.1, the stand-in for a debugger in the copy. */
    async function echo(): Promise<number> {
      const server = createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1');
      servers.push(server);
      await new Promise((resolve) => server.once('listening', resolve));
      return (server.address() as AddressInfo).port;
    }

    it('listen at once and relay while the socat probe is unanswered, once the listen script has said', async () => {
      const port = await echo();
      const main = s.host();
      // The debug host's main connection: the listen script finds the echo server and says about socat.
      assert.equal((await probeListening(main, process.pid, port)).state, 'listening');
      const runner = gatedRunner();
      // A lane: another connection to the same host (the same session), whose probe never answers here.
      const lane = Object.assign(new Host('local', runner), { session: main.session });
      const tunnel = await openTunnel(lane, process.pid, port);
      try {
        assert.deepEqual(runner.ran, [['sh', '-c', 'command -v socat']], 'probed in the background');
        assert.equal(await roundTrip(tunnel.port, 'hello through the copy'), 'hello through the copy');
        assert.equal(runner.started, 1);
      } finally {
        runner.release();
        await tunnel.close();
      }
    });

    it('with nothing known yet, a connection waits for the probe; tunnels on one host object probe once', async () => {
      const port = await echo();
      const runner = gatedRunner();
      const host = new Host('local', runner);
      const first = await openTunnel(host, process.pid, port);
      const second = await openTunnel(host, process.pid, port);
      try {
        assert.equal(runner.started, 0, 'listening locally needed nothing of the host');
        const answer = roundTrip(first.port, 'after the probe');
        await eventually(() => first.connections() === 1, 'the tunnel to accept the connection');
        assert.equal(runner.started, 0, 'no relay before the host has said which program it has');
        runner.release();
        assert.equal(await answer, 'after the probe');
        assert.equal(await roundTrip(second.port, 'again'), 'again');
        assert.equal(runner.ran.filter((argv) => argv.includes('command -v socat')).length, 1);
      } finally {
        await first.close();
        await second.close();
      }
    });
  });
});
