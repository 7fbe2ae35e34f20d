// A copy of a snapshot taken with its TCP connections gets them closed: podman's --tcp-close where
// the target has it, else a CRIU options file named by the copy's org.criu.config annotation.
// The file is written through a real shell (a local host), as it is over SSH.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../../../src/core/host';
import type { RestoreOptions } from '../../../src/core/podman/options';
import { criuConfigFileName, criuConfigText, isCriuConfigPath, needsCriuConfig, removeCriuConfig, writeCriuConfig } from '../../../src/core/snapshot/tcpClose';
import { standIns, type StandIns } from './remoteStandIns';

/** Only what needsCriuConfig asks of a host: the flags its podman's restore offers. */
function hostWithRestoreFlags(flags: string[]): Host {
  return { capabilities: async () => ({ restoreFlags: new Set(flags) }) } as unknown as Host;
}

describe('closing a copy\'s TCP connections', () => {
  it('uses podman\'s --tcp-close where the target has it, and writes no file', async () => {
    const options: RestoreOptions = { name: 'api-snap-120000' };
    assert.equal(await needsCriuConfig(hostWithRestoreFlags(['--import', '--name', '--tcp-close']), options), false);
    assert.equal(options.tcpClose, true);
  });

  it('falls back to a CRIU options file on podman without --tcp-close (before 5.7)', async () => {
    const options: RestoreOptions = { name: 'api-snap-120000' };
    assert.equal(await needsCriuConfig(hostWithRestoreFlags(['--import', '--name', '--tcp-established']), options), true);
    assert.equal(options.tcpClose, undefined, 'podman is not given a flag it lacks');
  });

  it('refuses --tcp-established for a copy, as podman would (not with --name), saying what happens instead', async () => {
    await assert.rejects(
      needsCriuConfig(hostWithRestoreFlags(['--tcp-close']), { name: 'x', tcpEstablished: true }),
      /only under the original name/,
    );
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
