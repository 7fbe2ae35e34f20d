// Fenced copies against the lab (issue 12 point 9): a copy restored by Snapshot & Debug reaches
// nothing outside itself from its first instruction — proven with a service that connects out in
// a tight loop, whose target on the debug host counts every connection it ever gets — nor the debug
// host itself on any of its addresses (a listener in the host's own network namespace), while its
// loopback, its debugger and its forwarded service port still work and production runs on with the
// same process; --allow-egress opens exactly the host and port it names; discarding the last fenced
// copy, an abandoned restore, a client SIGKILLed mid-restore (the host's watchdog) and the sweep
// leave no network and no rules; a debug host that cannot fence refuses before production is touched.
// The lab's hosts share no link, so "production's services" are stood in for by a target at the
// same address on both hosts (10.88.0.200): reached from prod, refused from the copy on debug.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { labFiles } from '../../lab/paths';
import { snapshotAndDebug, type SnapshotDebugSession } from '../../src/core/debug/session';
import { doctor } from '../../src/core/doctor';
import { checkpoint } from '../../src/core/snapshot/checkpoint';
import { discardCopy, listCopies } from '../../src/core/snapshot/copies';
import { restoreSnapshot } from '../../src/core/snapshot/restore';
import { isAbortError } from '../../src/core/util/abort';
import { shellJoin } from '../../src/core/util/quote';
import { connectCdp } from './cdp';
import { startCli } from './faultKit';
import { labCore, labSsh, removeContainer, tempArchives, waitFor } from './helpers';

const execFileAsync = promisify(execFile);

/** On prod and debug alike, at the same address: what the loop connects to. Counts what reaches it. */
const targetAddress = '10.88.0.200';
const listenerScript = `
const net = require("net"), http = require("http");
const counts = { 7000: 0, 7001: 0 };
for (const port of [7000, 7001]) net.createServer((s) => { counts[port]++; s.on("error", () => {}); s.end(); }).listen(port);
http.createServer((q, r) => r.end(JSON.stringify(counts))).listen(7002);
`;
/** A consumer that reconnects at once, forever; counts in its memory, served on 8080. */
const loopScript = `
const net = require("net"), http = require("http");
const counts = {};
for (const target of process.env.TARGETS.split(",")) {
  const [host, port] = target.split(":");
  const c = (counts[target] = { ok: 0, fail: 0, last: "" });
  const once = () => {
    let settled = false;
    const s = net.connect({ host, port: Number(port) });
    s.on("connect", () => { if (settled) return; settled = true; c.ok++; s.destroy(); setImmediate(once); });
    s.on("error", (e) => { if (settled) return; settled = true; c.fail++; c.last = e.code; s.destroy(); setTimeout(once, 1); });
  };
  once();
}
http.createServer((q, r) => r.end(JSON.stringify(counts))).listen(8080);
`;
const loop = 'fence-loop';
const targets = { denied: `${targetAddress}:7000`, allowed: `${targetAddress}:7001` };
/** A listener in the debug host's own network namespace: every address of the host (same counting script). */
const hostListener = 'fence-hostside';
/** A name only the debug host knows (its /etc/hosts): what --allow-egress resolves there. */
const targetName = 'fence-db.lab';

type LoopCounts = Record<string, { ok: number; fail: number; last: string }>;

async function listenerCounts(host: string): Promise<{ 7000: number; 7001: number }> {
  return JSON.parse(await labSsh(host, `curl -sf --max-time 5 http://${targetAddress}:7002/`)) as { 7000: number; 7001: number };
}

/** What reached the listener in the debug host's own namespace. */
async function hostCounts(): Promise<{ 7000: number; 7001: number }> {
  return JSON.parse(await labSsh('debug', 'curl -sf --max-time 5 http://127.0.0.1:7002/')) as { 7000: number; 7001: number };
}

/** A TCP connect from inside a copy (bash's /dev/tcp, in the copy's network namespace): "connected" or bash's error. */
async function connectFromCopy(copy: string, address: string, port: number): Promise<string> {
  const probe = `exec 3<>/dev/tcp/${address}/${port} && echo connected`;
  return (await labSsh('debug', `${shellJoin(['podman', 'exec', copy, 'timeout', '10', 'bash', '-c', probe])} 2>&1 || true`)).trim();
}

async function containerPid(host: string, name: string): Promise<number> {
  return Number((await labSsh(host, `podman inspect --format '{{.State.Pid}}' ${name}`)).trim());
}

async function loopCounts(url: string): Promise<LoopCounts> {
  return (await (await fetch(url)).json()) as LoopCounts;
}

/** What fences exist on debug: our networks and whether our table is there. */
async function fenceState(): Promise<{ networks: string[]; table: boolean }> {
  const networks = (await labSsh('debug', "podman network ls --format '{{.Name}}'")).split('\n').filter((n) => n.startsWith('snapdebug-fence-'));
  const table = (await labSsh('debug', 'nft list tables')).includes('table inet snapdebug');
  return { networks, table };
}

describe('fenced copies (lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  const sessions: SnapshotDebugSession[] = [];
  const made: string[] = [];

  before(async () => {
    for (const host of ['prod', 'debug']) {
      await labSsh(host, `podman rm -f -t 0 fence-target >/dev/null 2>&1; ${shellJoin(['podman', 'run', '-d', '--name', 'fence-target', '--ip', targetAddress, 'localhost/snapdebug/node:20', 'node', '-e', listenerScript])} >/dev/null`);
      await waitFor(async () => (await labSsh(host, `curl -s -m 2 http://${targetAddress}:7002/ || true`)).includes('7000'), 30_000, `the target on ${host}`);
    }
    await labSsh('debug', `podman rm -f -t 0 ${hostListener} >/dev/null 2>&1; ${shellJoin(['podman', 'run', '-d', '--name', hostListener, '--network', 'host', 'localhost/snapdebug/node:20', 'node', '-e', listenerScript])} >/dev/null`);
    await waitFor(async () => (await labSsh('debug', 'curl -s -m 2 http://127.0.0.1:7002/ || true')).includes('7000'), 30_000, "the listener in debug's own namespace");
    await labSsh('debug', `grep -q ${targetName} /etc/hosts || echo '${targetAddress} ${targetName}' >> /etc/hosts`);
    const env = `TARGETS=${Object.values(targets).join(',')}`;
    await labSsh('prod', `podman rm -f -t 0 ${loop} >/dev/null 2>&1; ${shellJoin(['podman', 'run', '-d', '--name', loop, '--restart', 'on-failure', '-p', '18091:8080', '-e', env, 'localhost/snapdebug/node:20', 'node', '-e', loopScript])} >/dev/null`);
    // On prod the loop reaches its target: it holds connections (the checkpoint takes them along).
    await waitFor(async () => (await labSsh('prod', 'curl -s -m 2 http://127.0.0.1:18091/ || true')).includes('"ok":'), 30_000, 'the loop on prod');
  });

  after(async () => {
    for (const session of sessions) await session.close();
    for (const name of made) await removeContainer('debug', name);
    await removeContainer('prod', loop);
    for (const host of ['prod', 'debug']) await removeContainer(host, 'fence-target');
    await removeContainer('debug', hostListener);
    await labSsh('debug', `sed -i '/ ${targetName}$/d' /etc/hosts`);
    core.cleanup();
  });

  it('Snapshot & Debug fences the copy from its first instruction: its tight reconnect loop never reaches the target, while loopback, the debugger and the forwarded port work', async () => {
    const before = await listenerCounts('debug');
    const hostBefore = await hostCounts();
    const prodPid = await containerPid('prod', loop);
    const prodBefore = await listenerCounts('prod');
    const session = await snapshotAndDebug(core, { host: 'prod', container: loop, to: 'debug' });
    sessions.push(session);
    made.push(session.copy.name);
    assert.deepEqual(session.copy.fence, { allowed: [] });

    // The copy answers a request forwarded to it (a relay into its own loopback).
    assert.deepEqual(session.ports.map((p) => p.port), ['8080/tcp']);
    const url = `http://127.0.0.1:${session.ports[0]!.local}/`;
    const first = await loopCounts(url);
    await waitFor(async () => (await loopCounts(url))[targets.denied]!.fail >= first[targets.denied]!.fail + 200, 30_000, 'the copy to try 200 more times');
    const later = await loopCounts(url);
    assert.equal(later[targets.denied]!.ok, first[targets.denied]!.ok, 'no connection out succeeded after the restore');
    assert.match(later[targets.denied]!.last, /^(ENETUNREACH|EHOSTUNREACH)$/);
    // Every connection the copy ever made to the target on debug would have been counted there.
    assert.deepEqual(await listenerCounts('debug'), before, 'nothing reached the target on debug, not even in the first milliseconds');

    // A process in the copy reaches another over the copy's loopback.
    assert.match(await labSsh('debug', `podman exec ${session.copy.name} bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3'`), /"fail":/);

    // The debugger reads the same counters from the copy's memory.
    const cdp = await connectCdp(session.attach!.port);
    try {
      const { result } = await cdp.send<{ result: { value: number } }>('Runtime.evaluate', { expression: `counts[${JSON.stringify(targets.denied)}].ok`, returnByValue: true });
      assert.equal(result.value, later[targets.denied]!.ok);
    } finally {
      cdp.close();
    }

    // The copy's network, its bridge, and its place in our table, as the host has them.
    const copy = (await listCopies(core, 'debug')).find((c) => c.name === session.copy.name)!;
    assert.deepEqual(copy.fence?.allowed, []);
    const network = `snapdebug-fence-${copy.fence!.id}`;

    // The debug host itself, on each of its addresses: its side of the copy's own bridge (on-link,
    // so only our input rule stands in the way), podman0 (where the host's other containers are)
    // and its loopback as the copy would name it. Nothing reaches the listener there.
    const gateway = (await labSsh('debug', `podman network inspect --format '{{range .Subnets}}{{.Gateway}}{{end}}' ${network}`)).trim();
    assert.match(gateway, /^\d+\.\d+\.\d+\.\d+$/);
    assert.match(await connectFromCopy(copy.name, gateway, 7000), /No route to host/, 'the host on the copy\'s own bridge: our rules reject it');
    assert.match(await connectFromCopy(copy.name, '10.88.0.1', 7000), /(No route to host|Network is unreachable)/, 'the host on podman0');
    assert.match(await connectFromCopy(copy.name, targetAddress, 7001), /(No route to host|Network is unreachable)/, 'another container on debug, another port');
    assert.deepEqual(await hostCounts(), hostBefore, "nothing reached the debug host's own listener");
    assert.deepEqual(await listenerCounts('debug'), before, 'nor the target on debug');
    // The same probe from an unfenced container on debug does connect: the refusals above are the fence.
    assert.equal((await labSsh('debug', `${shellJoin(['podman', 'exec', 'fence-target', 'node', '-e', 'require("net").connect(7000, "10.88.0.1").on("connect", () => { console.log("connected"); process.exit(0); })'])} 2>&1 || true`)).trim(), 'connected');
    assert.equal((await hostCounts())[7000], hostBefore[7000] + 1);

    // Production: the same process, and still reaching what the copy may not.
    assert.equal(await containerPid('prod', loop), prodPid, 'production keeps its process');
    await waitFor(async () => (await listenerCounts('prod'))[7000] > prodBefore[7000] + 100, 30_000, 'production to keep connecting');
    assert.equal((await labSsh('debug', `podman inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' ${copy.name}`)).trim(), network);
    assert.equal((await labSsh('debug', `podman network inspect --format '{{.NetworkInterface}} {{index .Labels "snapdebug.fence"}} {{index .Options "no_default_route"}}' ${network}`)).trim(), `snapdebug${copy.fence!.id} ${copy.name} true`);
    assert.match(await labSsh('debug', 'nft list map inet snapdebug allowed'), new RegExp(`"snapdebug${copy.fence!.id}" : jump allow_${copy.fence!.id}`));
    assert.equal((await labSsh('prod', `podman inspect --format '{{.HostConfig.RestartPolicy.Name}}' ${loop}`)).trim(), 'on-failure');
    assert.match((await labSsh('debug', `podman inspect --format '{{.HostConfig.RestartPolicy.Name}}' ${copy.name}`)).trim(), /^(no)?$/, 'a fenced copy never restarts on its own');
  });

  it('--allow-egress (CLI restore) opens exactly the HOST:PORT it names, by a name the debug host resolves; `copies` shows it; discard removes network and rules', async () => {
    const meta = await checkpoint(core, { host: 'prod', container: loop, options: { leaveRunning: true, tcpEstablished: true } });
    const cli = async (...args: string[]) => (await execFileAsync('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', labFiles.sshConfig, '--store', core.store.dir, ...args])).stdout;
    const before = await listenerCounts('debug');
    const restored = JSON.parse(await cli('--json', 'restore', meta.id, '--to', 'debug', '--allow-egress', `${targetName}:7001`)) as { name: string; fence: { allowed: Array<{ host: string; port: number; addresses: string[] }> } };
    made.push(restored.name);
    assert.deepEqual(restored.fence.allowed, [{ host: targetName, port: 7001, addresses: [targetAddress] }]);
    // The copy's /etc/hosts knows the name (it cannot ask a DNS server).
    assert.match(await labSsh('debug', `podman exec ${restored.name} cat /etc/hosts`), new RegExp(`^${targetAddress.replace(/\./g, '\\.')}\\s+${targetName}$`, 'm'));

    const binding = (await labSsh('debug', `podman port ${restored.name} 8080/tcp`)).trim();
    const counts = async () => JSON.parse(await labSsh('debug', `curl -sf -m 5 http://${binding}/`)) as LoopCounts;
    const first = await counts();
    await waitFor(async () => {
      const now = await counts();
      return now[targets.allowed]!.ok >= first[targets.allowed]!.ok + 200 && now[targets.denied]!.fail >= first[targets.denied]!.fail + 20;
    }, 30_000, 'the allowed port to take 200 connections and the other to refuse 20');
    const after = await listenerCounts('debug');
    assert.equal(after[7000], before[7000], 'the port not named got nothing');
    assert.ok(after[7001] - before[7001] >= 200, `the port named got the copy's connections (${after[7001] - before[7001]})`);
    // There is a route to the address; our rules refuse the other port (and count what they refused).
    assert.equal((await counts())[targets.denied]!.last, 'EHOSTUNREACH');
    const id = (await listCopies(core, 'debug')).find((c) => c.name === restored.name)!.fence!.id;
    assert.match(await labSsh('debug', `nft list chain inet snapdebug allow_${id}`), /ip daddr 10\.88\.0\.200 tcp dport 7001 accept\s+counter packets [1-9]\d* /);

    const table = await cli('copies', 'debug');
    assert.match(table, new RegExp(`${restored.name}\\s+running\\s+${meta.id}\\s+.+ ago\\s+fenced: ${targetName.replace('.', '\\.')}:7001 \\(${targetAddress.replace(/\./g, '\\.')}\\)`));

    await cli('discard', `debug/${restored.name}`);
    made.splice(made.indexOf(restored.name), 1);
    const left = await fenceState();
    assert.ok(!left.networks.includes(`snapdebug-fence-${id}`), 'its network went with it');
    assert.doesNotMatch(await labSsh('debug', 'nft list map inet snapdebug allowed 2>/dev/null || true'), new RegExp(`snapdebug${id}`));
    assert.equal((await labSsh('debug', `nft list chain inet snapdebug allow_${id} >/dev/null 2>&1 && echo left || echo gone`)).trim(), 'gone');
  });

  it('unfenced on request: the same loop reaches the target on debug (the zero above is the fence, not the lab)', async () => {
    const before = await listenerCounts('debug');
    const networksBefore = (await fenceState()).networks;
    const session = await snapshotAndDebug(core, { host: 'prod', container: loop, to: 'debug', allowAllEgress: true });
    sessions.push(session);
    made.push(session.copy.name);
    assert.equal(session.copy.fence, undefined);
    await waitFor(async () => (await listenerCounts('debug'))[7000] > before[7000], 30_000, 'the unfenced copy to reach the target');
    assert.equal((await listCopies(core, 'debug')).find((c) => c.name === session.copy.name)!.fence, undefined);
    assert.deepEqual((await fenceState()).networks, networksBefore, 'no fence made for it');
  });

  it('discarding the last fenced copy removes our table; a cancelled Snapshot & Debug leaves no fence; the sweep takes down a fence whose copy was removed by hand', async () => {
    for (const session of sessions.splice(0)) {
      await session.close();
      await discardCopy(core, 'debug', session.copy.name);
      made.splice(made.indexOf(session.copy.name), 1);
    }
    assert.deepEqual(await fenceState(), { networks: [], table: false });

    const controller = new AbortController();
    await assert.rejects(
      snapshotAndDebug(core, { host: 'prod', container: loop, to: 'debug' }, { signal: controller.signal, progress: (e) => e.phase === 'checkpoint' && controller.abort() }),
      (error) => isAbortError(error),
    );
    await waitFor(async () => (await tempArchives('debug')).length === 0, 20_000, 'the work undone');
    assert.deepEqual(await fenceState(), { networks: [], table: false }, 'the fence set up for the cancelled copy is gone');

    const meta = core.store.list().find((m) => m.source.container === loop)!;
    const copy = await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: {}, fence: { allowEgress: [] } });
    assert.equal((await fenceState()).networks.length, 1);
    await labSsh('debug', `podman rm -f -t 0 ${copy.name} >/dev/null`);
    // A new client's session sweeps as it opens (its first work on the host opens it).
    const next = labCore();
    try {
      await next.hosts.get('debug').session!.dir();
      assert.ok(next.hosts.get('debug').session!.swept.some((line) => /^fence snapdebug-fence-[0-9a-f]{6} \(its copy .* is gone\)$/.test(line)), next.hosts.get('debug').session!.swept.join('\n'));
    } finally {
      next.cleanup();
    }
    assert.deepEqual(await fenceState(), { networks: [], table: false });
  });

  it('a client SIGKILLed while its fenced copy is being restored: the debug host takes the fence down on its own (watchdog), and production runs on', async () => {
    assert.deepEqual(await fenceState(), { networks: [], table: false });
    const prodPid = await containerPid('prod', loop);
    const run = startCli(core.store.dir, ['debug', `prod/${loop}`, '--to', 'debug']);
    try {
      await run.reached(new RegExp(`Restoring ${loop}-snap-`));
      // The fence stood before the copy: it is there now, naming the copy being made.
      const standing = await fenceState();
      assert.equal(standing.networks.length, 1);
      assert.equal(standing.table, true);
      run.child.kill('SIGKILL');
      const ended = await run.exited;
      assert.equal(ended.signal, 'SIGKILL');
      // Nobody is left to ask: the host's watchdog replays the work's undo list (`fence ID COPY`).
      await waitFor(async () => {
        const state = await fenceState();
        return state.networks.length === 0 && !state.table;
      }, 60_000, 'the watchdog to take the fence down');
      assert.equal((await labSsh('debug', `podman ps -a --format '{{.Names}}' | grep -c '^${loop}-snap-' || true`)).trim(), '0', 'no half-made copy');
    } finally {
      run.child.kill('SIGKILL');
    }
    assert.equal(await containerPid('prod', loop), prodPid, 'production keeps its process');
  });

  it('a debug host without nft: Snapshot & Debug refuses before production is touched, and doctor says why', async () => {
    await labSsh('debug', 'mv /usr/sbin/nft /usr/sbin/nft.fence-test');
    try {
      const snapshots = core.store.list().length;
      await assert.rejects(snapshotAndDebug(core, { host: 'prod', container: loop, to: 'debug' }), /debug cannot fence copies \(nft \(package nftables\) is not installed\)/);
      assert.equal(core.store.list().length, snapshots, 'no checkpoint was taken');
      const check = (await doctor(core, 'debug')).checks.find((c) => c.name === 'fence')!;
      assert.equal(check.level, 'warn');
      assert.match(check.detail, /cannot be fenced/);
    } finally {
      await labSsh('debug', 'mv /usr/sbin/nft.fence-test /usr/sbin/nft');
    }
    const check = (await doctor(core, 'debug')).checks.find((c) => c.name === 'fence')!;
    assert.equal(check.level, 'ok', check.detail);
    assert.match(check.detail, /^copies can be fenced \(nftables v1\.1\.\d.*\), and no default route$/);
  });
});
