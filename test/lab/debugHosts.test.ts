// Snapshot & Debug of demo-api between hosts of different podman versions: the copy is restored
// by the runtime that took the snapshot and attached over CDP, its memory is production's, and
// production keeps running with the same PID. A pair that cannot work (a crun source, a debug
// host without crun) is refused before production is touched.
import { strict as assert } from 'node:assert';
import { snapshotAndDebug, type SnapshotDebugSession } from '../../src/core/debug/session';
import { connectCdp, evaluateInTick } from './cdp';
import { containerPid, criuConfigs, demoState, labCore, labSsh, removeContainer, requireHosts, tempArchives } from './helpers';

describe('Snapshot & Debug across podman versions (lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  const sessions: SnapshotDebugSession[] = [];
  before(() => requireHosts('prod', 'debug', 'edge', 'legacy'));
  after(async () => {
    for (const session of sessions) {
      await session.close();
      await removeContainer(session.copy.host, session.copy.name);
    }
    core.cleanup();
  });

  // Every copy here is restored by runc (the sources run runc), which has no --tcp-close: its
  // connections are closed through the CRIU options file, on podman 4.3 and 5.4. (edge takes no
  // snapshot of prod's: cgroup v1 against v2; its crun copies are in versions.test.ts.)
  for (const [from, to] of [
    ['prod', 'legacy'],
    ['legacy', 'debug'],
  ] as const) {
    it(`${from} → ${to}: the copy's counter, read over CDP, is at least production's; production keeps its PID`, async () => {
      const pid = await containerPid(from, 'demo-api');
      const before = await demoState(from, 'demo-api');
      const session = await snapshotAndDebug(core, { host: from, container: 'demo-api', to });
      sessions.push(session);
      assert.equal(session.target.runtime, 'node');
      assert.equal(session.snapshot.source.runtime, 'runc');
      const cdp = await connectCdp(session.attach!.port);
      try {
        const [requestCount, startedAt] = await evaluateInTick(cdp, ['state.requestCount', 'state.startedAt']);
        assert.ok((requestCount as number) >= before.requestCount, `copy ${String(requestCount)} >= ${before.requestCount}`);
        assert.equal(startedAt, before.startedAt, 'the same process state, not a fresh start');
      } finally {
        cdp.close();
      }
      assert.equal(await containerPid(from, 'demo-api'), pid);
      assert.deepEqual(await criuConfigs(to), [`snapdebug-criu-${session.copy.name}.conf`], 'connections closed through the CRIU options file');
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
