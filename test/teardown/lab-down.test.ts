// Runs last: lab:down must end every process the lab started and leave nothing of it in this
// machine's namespaces (mounts, network links — the lab link's bridge and veths included —, nft rules, cgroup folders, listening ports).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findLeftovers } from '../../lab/lab';
import { cgroupMounts } from '../../lab/leftovers';
import { labHosts } from '../../lab/paths';
import { isAlive } from '../../lab/proc';
import { readState } from '../../lab/state';
import { portIsFree } from '../../lab/hosts';

describe('lab teardown', function () {
  this.timeout(120_000);

  it('lab:down ends every process it started and leaves no mount, link, nft rule, cgroup or port', async () => {
    const state = readState();
    assert.ok(state, 'the lab is up before the teardown test');
    assert.ok(state.hub, 'the lab link hub is tracked');
    const tracked = [state.hub, ...state.hosts.flatMap((h) => [h.unshare, h.init, h.forwarder])];
    assert.ok(tracked.every(isAlive));

    const out = execFileSync('npx', ['tsx', 'lab/cli.ts', 'down'], { encoding: 'utf8' });
    assert.match(out, /lab is down/);

    assert.deepEqual(tracked.filter(isAlive), [], 'no process the lab started is alive');
    const left = await findLeftovers(state);
    assert.deepEqual(left, { processes: [], mounts: [], links: [], nftRules: [], cgroups: [] });
    for (const dir of state.hosts.flatMap((h) => h.cgroupDirs ?? [])) assert.equal(existsSync(dir), false, `${dir} removed`);
    for (const mount of cgroupMounts()) {
      if (state.createdCgroupParents.includes(join(mount, 'libpod_parent'))) {
        assert.equal(existsSync(join(mount, 'libpod_parent')), false, `${mount}/libpod_parent removed`);
      }
    }
    for (const host of labHosts) assert.ok(await portIsFree(host.sshPort), `127.0.0.1:${host.sshPort} is closed`);
    assert.equal(readState(), undefined);
  });
});
