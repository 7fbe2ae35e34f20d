// Snapshot & Debug of demo-api between hosts of different podman versions and runtimes: the copy
// is restored by the runtime that took the snapshot and attached over CDP, its memory is
// production's, the connection production held comes back closed in the copy, and production
// keeps it and its PID. A pair that cannot work (a crun source and a debug host without crun,
// cgroup v1 against v2) is refused before production is touched.
import { strict as assert } from 'node:assert';
import { snapshotAndDebug, type SnapshotDebugSession } from '../../src/core/debug/session';
import { connectCdp, evaluateInTick } from './cdp';
import { containerPid, criuConfigs, demoState, labCore, labSsh, requireHosts, tempArchives, waitFor, endSessions } from './helpers';

// An established connection to the container's port 8080 (1F90), from its host; Node listens on
// ::, so it shows in tcp6 (v4-mapped) of the container's network namespace.
const established = /^\s*\d+: [0-9A-F]+:1F90 [0-9A-F]+:[0-9A-F]+ 01 /m;
const tcpOf = (host: string, pid: number) => labSsh(host, `cat /proc/${pid}/net/tcp /proc/${pid}/net/tcp6`);

/** Opens a connection to demo-api from its host and holds it; returns the holder's PID there. */
async function holdConnection(host: string, pid: number): Promise<string> {
  const ip = (await labSsh(host, "podman inspect -f '{{.NetworkSettings.IPAddress}}' demo-api")).trim();
  const holder = (await labSsh(host, `nohup bash -c 'exec 3<>/dev/tcp/${ip}/8080 && sleep 600' >/dev/null 2>&1 & echo $!`)).trim();
  await waitFor(async () => established.test(await tcpOf(host, pid)), 10_000, `the held connection on ${host}`);
  return holder;
}

describe('Snapshot & Debug across podman versions (lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  const sessions: SnapshotDebugSession[] = [];
  before(() => requireHosts('prod', 'debug', 'edge', 'legacy', 'edge2'));
  after(async () => {
    await endSessions(sessions);
    core.cleanup();
  });

  // runc copies (prod, legacy: podman 5.4 and 4.3) get their connections closed through the CRIU
  // options file; crun copies on podman 5.8 (edge → edge2) through podman's own --tcp-close. (No
  // snapshot of prod's goes to edge: cgroup v1 against v2, refused below.)
  for (const [from, to, runtime, how] of [
    ['prod', 'legacy', 'runc', 'file'],
    ['legacy', 'debug', 'runc', 'file'],
    ['edge', 'edge2', 'crun', 'podman'],
  ] as const) {
    it(`${from} → ${to}: the copy's counter, read over CDP, is at least production's; its held connection is closed ${how === 'podman' ? "by podman's --tcp-close" : 'through the CRIU options file'}, production keeps it and its PID`, async () => {
      const pid = await containerPid(from, 'demo-api');
      const before = await demoState(from, 'demo-api');
      const holder = await holdConnection(from, pid);
      core.commands.length = 0;
      // podman 4.3 cannot name a network's bridge, which the fence needs: refused in one sentence,
      // before production is touched; the copy is then made unfenced, as the fix offers.
      const unfenced = to === 'legacy';
      if (unfenced) {
        await assert.rejects(snapshotAndDebug(core, { host: from, container: 'demo-api', to }), /^SnapdebugError: legacy cannot fence copies \(podman 4\.3\.1 cannot name a network's bridge/);
        assert.deepEqual(core.commands.filter((c) => c.startsWith(`${from}:`) && /checkpoint/.test(c) && !/--help/.test(c)), [], 'no checkpoint was taken');
        // The work begun on legacy alongside its checks went with the refusal.
        assert.deepEqual(await tempArchives(to), [], `nothing left on ${to}`);
      }
      let session: SnapshotDebugSession;
      try {
        session = await snapshotAndDebug(core, { host: from, container: 'demo-api', to, ...(unfenced && { allowAllEgress: true }) });
        sessions.push(session);
        assert.ok(established.test(await tcpOf(from, pid)), 'production keeps its connection');
      } finally {
        await labSsh(from, `kill ${holder}`);
      }
      assert.doesNotMatch(await tcpOf(to, session.copy.pid), established, 'the copy has it closed');
      assert.equal(session.target.runtime, 'node');
      assert.equal(session.snapshot.source.runtime, runtime);
      const restore = core.commands.find((c) => c.startsWith(`${to}:`) && /container restore .*--import/.test(c));
      assert.ok(restore, 'the copy was restored from an archive on the debug host');
      assert.equal(/--tcp-close/.test(restore), how === 'podman', restore);
      const cdp = await connectCdp(session.attach!.port);
      try {
        const [requestCount, startedAt] = await evaluateInTick(cdp, ['state.requestCount', 'state.startedAt']);
        assert.ok((requestCount as number) >= before.requestCount, `copy ${String(requestCount)} >= ${before.requestCount}`);
        assert.equal(startedAt, before.startedAt, 'the same process state, not a fresh start');
      } finally {
        cdp.close();
      }
      assert.equal(await containerPid(from, 'demo-api'), pid);
      assert.equal((await criuConfigs(to)).some((line) => line.endsWith(` ${session.copy.name}`)), how === 'file', 'a CRIU options file kept for the copy');
      assert.deepEqual([...(await tempArchives(from)), ...(await tempArchives(to))], []);
    });
  }

  for (const [from, to, why] of [
    ['edge', 'legacy', /A checkpoint taken with crun cannot be restored on legacy/],
    ['prod', 'edge', /A checkpoint taken on prod \(cgroup v1\) cannot be restored on edge \(cgroup v2\)/],
  ] as const) {
    it(`${from} → ${to}: refused in one sentence before ${from}'s demo-api is touched`, async () => {
      const pid = await containerPid(from, 'demo-api');
      core.commands.length = 0;
      await assert.rejects(snapshotAndDebug(core, { host: from, container: 'demo-api', to }), why);
      assert.deepEqual(core.commands.filter((c) => c.startsWith(`${from}:`) && /container checkpoint/.test(c) && !c.endsWith('--help')), [], 'no checkpoint was taken');
      assert.equal(await containerPid(from, 'demo-api'), pid);
      assert.equal((await labSsh(from, "podman inspect -f '{{.State.Checkpointed}}' demo-api")).trim(), 'false');
    });
  }
});
