// A copy of a snapshot taken with its TCP connections gets them closed: podman's --tcp-close where
// the target has it and the restoring runtime is crun, else a CRIU options file named by the
// copy's org.criu.config annotation (runc has no --tcp-close; crun before podman 5.7 gets no flag).
// The file is written through a real shell (a local host), as it is over SSH. Which runtime
// restores is the snapshot's own, and a target without it is refused before anything moves.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../../../src/core/host';
import type { RestoreOptions } from '../../../src/core/podman/options';
import { requireCgroupVersion, restoringRuntime } from '../../../src/core/snapshot/runtime';
import { criuConfigFileName, criuConfigText, defaultCriuConfigs, isCriuConfigPath, needsCriuConfig, podmanClosesConnections, removeCriuConfig, writeCriuConfig } from '../../../src/core/snapshot/tcpClose';
import { standIns, type StandIns } from './remoteStandIns';

/** Only what needsCriuConfig asks of a host: the flags its podman's restore offers. */
function hostWithRestoreFlags(flags: string[]): Host {
  return { capabilities: async () => ({ restoreFlags: new Set(flags) }) } as unknown as Host;
}

describe('closing a copy\'s TCP connections', () => {
  const podman58 = ['--import', '--name', '--tcp-established', '--tcp-close'];
  const podman54 = ['--import', '--name', '--tcp-established'];

  it('uses podman\'s --tcp-close where the target has it and crun restores, and writes no file', async () => {
    const options: RestoreOptions = { name: 'api-snap-120000' };
    assert.equal(await needsCriuConfig(hostWithRestoreFlags(podman58), options, 'crun'), false);
    assert.equal(options.tcpClose, true);
  });

  it('falls back to a CRIU options file on podman without --tcp-close (before 5.7), for crun and runc', async () => {
    for (const runtime of ['crun', 'runc']) {
      const options: RestoreOptions = { name: 'api-snap-120000' };
      assert.equal(await needsCriuConfig(hostWithRestoreFlags(podman54), options, runtime), true, runtime);
      assert.equal(options.tcpClose, undefined, 'podman is not given a flag it lacks');
    }
  });

  it('uses the CRIU options file on podman 5.7+ when runc restores: podman would hand runc a --tcp-close it lacks', async () => {
    const options: RestoreOptions = { name: 'api-snap-120000', tcpClose: true };
    assert.equal(await needsCriuConfig(hostWithRestoreFlags(podman58), options, 'runc'), true);
    assert.equal(options.tcpClose, undefined, 'an asked-for --tcp-close becomes the options file, which does the same');
    assert.equal(podmanClosesConnections(new Set(podman58), 'runc'), false);
    assert.equal(podmanClosesConnections(new Set(podman58), 'crun'), true);
    assert.equal(podmanClosesConnections(new Set(podman54), 'crun'), false);
  });

  it('bases the options file on crun\'s own CRIU options when crun restores, else on runc\'s', () => {
    assert.deepEqual(defaultCriuConfigs('crun'), ['/etc/criu/crun.conf', '/etc/criu/runc.conf']);
    assert.deepEqual(defaultCriuConfigs('runc'), ['/etc/criu/runc.conf']);
  });

  it('refuses --tcp-established for a copy, as podman would (not with --name), saying what happens instead', async () => {
    await assert.rejects(
      needsCriuConfig(hostWithRestoreFlags(['--tcp-close']), { name: 'x', tcpEstablished: true }, 'crun'),
      /only under the original name/,
    );
  });

  describe('the restoring runtime', () => {
    /** A host whose default runtime is `own` and whose podman finds the runtimes in `has`. */
    function hostWithRuntimes(own: string, has: string[]): Host & { asked: string[][] } {
      const asked: string[][] = [];
      return {
        name: 'edge',
        asked,
        capabilities: async () => ({ info: { host: { ociRuntime: { name: own } } } }),
        podman: async (command: { argv: string[] }) => {
          asked.push(command.argv);
          return has.includes(command.argv[1]!);
        },
      } as unknown as Host & { asked: string[][] };
    }

    it('is the snapshot\'s own; a target whose default it is is not asked', async () => {
      const host = hostWithRuntimes('crun', []);
      assert.equal(await restoringRuntime(host, 'crun'), 'crun');
      assert.equal(await restoringRuntime(host, undefined), 'crun', 'unknown: the target\'s default');
      assert.deepEqual(host.asked, []);
    });

    it('is a second runtime of the target when podman finds it there (runc on a crun host)', async () => {
      const host = hostWithRuntimes('crun', ['runc']);
      assert.equal(await restoringRuntime(host, 'runc'), 'runc');
      assert.deepEqual(host.asked, [['--runtime', 'runc', 'info', '--format', '{{.Host.OCIRuntime.Name}}']]);
    });

    it('needs the source\'s cgroup version on the target; an unknown one (older snapshots) is not checked', async () => {
      const v2 = { name: 'edge', capabilities: async () => ({ info: { host: { cgroupVersion: 'v2' } } }) } as unknown as Host;
      await requireCgroupVersion(v2, 'prod', 'v2');
      await requireCgroupVersion(v2, 'prod', undefined);
      await assert.rejects(requireCgroupVersion(v2, 'prod', 'v1'), (error: Error & { fix?: { text: string } }) => {
        assert.equal(error.message, "A checkpoint taken on prod (cgroup v1) cannot be restored on edge (cgroup v2): CRIU cannot map the container's cgroup mounts from one to the other.");
        assert.equal(error.fix?.text, 'Restore on a host with cgroup v1, like prod.');
        return true;
      });
    });

    it('refuses a target without it, in one sentence naming both runtimes', async () => {
      await assert.rejects(restoringRuntime(hostWithRuntimes('runc', []), 'crun'), (error: Error & { fix?: { text: string } }) => {
        assert.match(error.message, /^A checkpoint taken with crun cannot be restored on edge: podman there has no crun \(its runtime is runc\)/);
        assert.match(error.fix?.text ?? '', /Install crun on edge/);
        return true;
      });
    });
  });

  it('writes the host\'s own CRIU options, then tcp-close', () => {
    const text = criuConfigText('api-snap-1', '# lab\nnetwork-lock nftables\n\n');
    const lines = text.split('\n').filter((line) => line && !line.startsWith('#'));
    assert.deepEqual(lines, ['network-lock nftables', 'tcp-close']);
    assert.deepEqual(criuConfigText('x', '').split('\n').filter((line) => line && !line.startsWith('#')), ['tcp-close']);
  });

  it('only ever removes files named like ours (in a kept folder, or as an older snapdebug named them)', () => {
    assert.equal(isCriuConfigPath('/var/tmp/snapdebug-k.AbCdEf0123/criu.conf'), true);
    assert.equal(isCriuConfigPath('/var/tmp/snapdebug-criu-api-snap-120000.conf'), true);
    for (const path of [
      '/etc/criu/runc.conf',
      '/var/tmp/../etc/snapdebug-criu-x.conf',
      'var/tmp/snapdebug-criu-x.conf',
      '/var/tmp/snapdebug-criu-.conf',
      '/var/tmp/snapdebug-criu-x.conf; rm -rf /',
      '/var/tmp/snapdebug-criu-x.confx',
      '/var/tmp/snapdebug-k.AbCdEf0123/../../etc/criu.conf',
      '/var/tmp/snapdebug-k.short/criu.conf',
      '/var/tmp/snapdebug-k.AbCdEf0123/other.conf',
    ]) {
      assert.equal(isCriuConfigPath(path), false, path);
    }
  });

  describe('on a host (local, through a real shell)', () => {
    let s: StandIns;
    beforeEach(() => (s = standIns()));
    afterEach(() => s.cleanup());

    it("writes the file 0600 into the copy's own kept folder, tcp-close last; discarding removes the folder", async () => {
      const host = s.host();
      const work = await host.beginWork('restore');
      const path = `${await work.keep({ copy: 'api-snap-1' })}/${criuConfigFileName}`;
      await writeCriuConfig(host, path, 'api-snap-1');
      const text = readFileSync(path, 'utf8');
      assert.match(text, /^# Written by snapdebug for the copy api-snap-1/);
      assert.equal(text.trimEnd().split('\n').at(-1), 'tcp-close');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
      await work.finish();
      assert.ok(existsSync(path), 'it outlives the restore, with the copy');
      await removeCriuConfig(host, path);
      assert.equal(existsSync(join(path, '..')), false);
    });

    it('never writes over a file that is already there', async () => {
      const host = s.host();
      const work = await host.beginWork('restore');
      const path = `${await work.keep({ copy: 'x' })}/${criuConfigFileName}`;
      writeFileSync(path, 'action-script /tmp/evil\n');
      await assert.rejects(writeCriuConfig(host, path, 'x'), /Cannot write .* the copy needs .*TCP connections closed/);
      assert.equal(readFileSync(path, 'utf8'), 'action-script /tmp/evil\n');
    });
  });
});
