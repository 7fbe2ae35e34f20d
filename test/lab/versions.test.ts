// Across podman 4.3 (legacy), 5.4 (prod, debug) and 5.8 (edge, crun): the seed article's workflow
// with podman itself, then snapdebug's copies, Snapshot & Debug and migrations between versions.
// A copy's TCP connections come back closed: through podman's --tcp-close where crun restores on
// podman 5.7+ (edge), else through the CRIU options file (podman 5.4 and 4.3, and runc on edge).
// What cannot work (a crun checkpoint on a host without crun) is refused before anything is sent.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { labFiles } from '../../lab/paths';
import { checkpoint } from '../../src/core/snapshot/checkpoint';
import { discardCopy } from '../../src/core/snapshot/copies';
import { migrate } from '../../src/core/snapshot/migrate';
import { restoreSnapshot } from '../../src/core/snapshot/restore';
import { criuConfigs, labCore, labSsh, removeContainer, requireHosts, tempArchives, uniqueName, waitFor } from './helpers';

const sleeperRun = `localhost/snapdebug/node:20 bash -c 'trap "exit 0" TERM; while :; do sleep 600 & wait $!; done'`;
// A process holding an established TCP connection (to itself, port 7000 = 1B58).
const holderScript = "const net=require('net');net.createServer(()=>{}).listen(7000,'127.0.0.1',()=>{globalThis.c=net.connect(7000,'127.0.0.1')});setInterval(()=>{},1000)";
const established = /^\s*\d+: [0-9A-F]+:[0-9A-F]{4} [0-9A-F]+:1B58 01 /m;

/** Whether snapdebug keeps a CRIU options file on `host` for the copy `name`. */
async function optionsFileOf(host: string, name: string): Promise<boolean> {
  return (await criuConfigs(host)).some((line) => line.endsWith(` ${name}`));
}

async function topOf(host: string, container: string): Promise<string> {
  return labSsh(host, `podman top ${container} pid args`);
}

/** Moves a file from one host to another through this machine, as the article's scp does. */
function carry(from: string, to: string, path: string): void {
  const local = `/tmp/${uniqueName('carry')}`;
  try {
    execFileSync('scp', ['-F', labFiles.sshConfig, '-q', `${from}:${path}`, local]);
    execFileSync('scp', ['-F', labFiles.sshConfig, '-q', local, `${to}:${path}`]);
  } finally {
    execFileSync('rm', ['-f', local]);
  }
}

describe('across podman versions (lab)', function () {
  this.timeout(240_000);
  before(() => requireHosts('prod', 'debug', 'edge', 'legacy', 'edge2'));

  describe('the seed article with podman itself', () => {
    const made: Array<[string, string]> = [];
    after(async () => {
      for (const [host, name] of made) await labSsh(host, `podman rm -f -t 0 ${name} >/dev/null 2>&1; rm -f /var/tmp/${name}.tar.gz`);
    });
    async function sleeper(host: string, runtime?: string): Promise<string> {
      const name = uniqueName('seed');
      made.push([host, name]);
      await labSsh(host, `podman ${runtime ? `--runtime ${runtime} ` : ''}run -d --name ${name} ${sleeperRun} >/dev/null`);
      await waitFor(async () => (await topOf(host, name)).includes('sleep 600'), 20_000, `${name}'s sleep 600`);
      return name;
    }

    it('edge (crun): checkpoint, restore --keep, checkpoint -e, restore -i: podman top the same each time', async () => {
      const name = await sleeper('edge');
      const before = await topOf('edge', name);
      await labSsh('edge', `podman container checkpoint ${name} >/dev/null && podman container restore --keep ${name} >/dev/null`);
      assert.equal(await topOf('edge', name), before);
      await labSsh('edge', `podman container checkpoint ${name} -e /var/tmp/${name}.tar.gz >/dev/null && podman rm ${name} >/dev/null && podman container restore -i /var/tmp/${name}.tar.gz >/dev/null`);
      assert.equal(await topOf('edge', name), before);
      assert.equal((await labSsh('edge', `podman inspect -f '{{.OCIRuntime}}' ${name}`)).trim(), 'crun');
    });

    // Not prod → edge: cgroup v1 and v2 hosts do not take each other's checkpoints (docs/architecture.md).
    for (const [from, to] of [['legacy', 'debug'], ['prod', 'legacy'], ['edge', 'edge2']] as const) {
      it(`${from} → ${to}: checkpoint -e on ${from}, restore -i on ${to}, podman top identical`, async () => {
        const name = await sleeper(from);
        made.push([to, name]);
        const before = await topOf(from, name);
        await labSsh(from, `podman container checkpoint ${name} -e /var/tmp/${name}.tar.gz >/dev/null`);
        carry(from, to, `/var/tmp/${name}.tar.gz`);
        // The lab's hosts share one address range: a new IP, or the restore may find it taken.
        await labSsh(to, `podman container restore -i /var/tmp/${name}.tar.gz --ignore-static-ip --ignore-static-mac >/dev/null`);
        assert.equal(await topOf(to, name), before);
      });
    }
  });

  describe('snapdebug copies across versions', () => {
    const core = labCore();
    const holders: Array<[string, string]> = [];
    const copies: Array<[string, string]> = [];
    after(async () => {
      for (const [host, name] of [...holders, ...copies]) await removeContainer(host, name);
      core.cleanup();
    });
    async function holder(host: string, runtime?: string): Promise<string> {
      const name = uniqueName('tcp-holder');
      holders.push([host, name]);
      await labSsh(host, `podman ${runtime ? `--runtime ${runtime} ` : ''}run -d --name ${name} localhost/snapdebug/node:20 node -e "${holderScript}" >/dev/null`);
      await waitFor(async () => established.test(await labSsh(host, `podman exec ${name} cat /proc/net/tcp`)), 20_000, `${host}/${name}'s connection`);
      return name;
    }
    const copyHasConnection = async (host: string, name: string) => established.test(await labSsh(host, `podman exec ${name} cat /proc/net/tcp`));

    for (const [from, to, runtime, how] of [
      ['prod', 'legacy', 'runc', 'file'],
      ['legacy', 'prod', 'runc', 'file'],
      ['edge', 'edge', 'crun', 'podman'],
      ['edge', 'edge', 'runc', 'file'],
    ] as const) {
      it(`${from} → ${to}: the copy runs under ${runtime}, its TCP connection closed ${how === 'podman' ? "by podman's --tcp-close" : 'through the CRIU options file'}; the original keeps its own`, async () => {
        const original = await holder(from, runtime);
        const snapshot = await checkpoint(core, { host: from, container: original, options: { leaveRunning: true, tcpEstablished: true } });
        assert.equal(snapshot.source.runtime, runtime);
        core.commands.length = 0;
        const copy = await restoreSnapshot(core, { snapshot: snapshot.id, to, options: {} });
        copies.push([to, copy.name]);
        assert.equal((await labSsh(to, `podman inspect -f '{{.OCIRuntime}} {{.State.Status}}' ${copy.name}`)).trim(), `${runtime} running`);
        assert.equal(await copyHasConnection(to, copy.name), false, 'the copy has no established connection');
        assert.equal(await copyHasConnection(from, original), true, 'the original keeps its connection');
        const restoreCommand = core.commands.find((c) => c.startsWith(`${to}:`) && /container restore .*--import/.test(c));
        assert.ok(restoreCommand, 'the copy was restored from an archive');
        if (how === 'podman') {
          assert.match(restoreCommand, /--tcp-close/);
          assert.equal(await optionsFileOf(to, copy.name), false);
        } else {
          assert.doesNotMatch(restoreCommand, /--tcp-close/);
          assert.equal(await optionsFileOf(to, copy.name), true);
        }
        await discardCopy(core, to, copy.name);
        assert.equal(await optionsFileOf(to, copy.name), false, 'discarding the copy removes its options file');
        assert.deepEqual([...(await tempArchives(from)), ...(await tempArchives(to))], []);
      });
    }

    it('prod → edge: a cgroup v1 snapshot is refused on the cgroup v2 host in one sentence before anything is sent', async () => {
      const original = await holder('prod');
      const snapshot = await checkpoint(core, { host: 'prod', container: original, options: { leaveRunning: true, tcpEstablished: true } });
      assert.equal(snapshot.cgroupVersion, 'v1');
      core.commands.length = 0;
      await assert.rejects(restoreSnapshot(core, { snapshot: snapshot.id, to: 'edge', options: {} }), /A checkpoint taken on prod \(cgroup v1\) cannot be restored on edge \(cgroup v2\)/);
      assert.deepEqual(core.commands.filter((c) => c.startsWith('edge:') && /container restore --import|cat >|sha256sum|dd /.test(c)), [], 'nothing was sent to edge');
      assert.deepEqual(await tempArchives('edge'), []);
    });

    it('edge → legacy: a crun snapshot is refused in one sentence before anything is sent', async () => {
      const original = await holder('edge');
      const snapshot = await checkpoint(core, { host: 'edge', container: original, options: { leaveRunning: true, tcpEstablished: true } });
      core.commands.length = 0;
      await assert.rejects(restoreSnapshot(core, { snapshot: snapshot.id, to: 'legacy', options: {} }), /A checkpoint taken with crun cannot be restored on legacy: podman there has no crun \(its runtime is runc\)/);
      assert.deepEqual(core.commands.filter((c) => c.startsWith('legacy:') && /container restore --import|cat >|sha256sum|dd /.test(c)), [], 'nothing was sent to legacy');
      assert.deepEqual(await tempArchives('legacy'), []);
    });
  });

  describe('live migration across versions (snapdebug migrate)', () => {
    const core = labCore();
    const made: Array<[string, string]> = [];
    after(async () => {
      for (const [host, name] of made) await removeContainer(host, name);
      core.cleanup();
    });

    for (const [from, to] of [['legacy', 'prod'], ['prod', 'legacy'], ['edge', 'edge2']] as const) {
      it(`${from} → ${to}: the container runs on ${to} with podman top identical, and is gone from ${from}`, async () => {
        const name = uniqueName('migrant');
        made.push([from, name], [to, name]);
        await labSsh(from, `podman run -d --name ${name} ${sleeperRun} >/dev/null`);
        await waitFor(async () => (await topOf(from, name)).includes('sleep 600'), 20_000, 'sleep 600');
        const before = await topOf(from, name);
        const result = await migrate(core, { from, container: name, to, removeSource: true });
        assert.equal(result.sourceRemoved, true);
        assert.equal(await topOf(to, name), before);
        assert.equal((await labSsh(from, `podman container exists ${name} && echo yes || echo no`)).trim(), 'no');
      });
    }

    for (const [from, to, why] of [
      ['edge', 'legacy', /A checkpoint taken with crun cannot be restored on legacy/],
      ['prod', 'edge', /A checkpoint taken on prod \(cgroup v1\) cannot be restored on edge \(cgroup v2\)/],
    ] as const) {
      it(`${from} → ${to}: refused before ${from} is touched; the container keeps running`, async () => {
        const name = uniqueName('migrant');
        made.push([from, name]);
        await labSsh(from, `podman run -d --name ${name} ${sleeperRun} >/dev/null`);
        const pid = (await labSsh(from, `podman inspect -f '{{.State.Pid}}' ${name}`)).trim();
        await assert.rejects(migrate(core, { from, container: name, to }), why);
        assert.equal((await labSsh(from, `podman inspect -f '{{.State.Status}} {{.State.Pid}}' ${name}`)).trim(), `running ${pid}`);
      });
    }
  });
});
