// A copy of a snapshot taken with its TCP connections gets them closed: podman's --tcp-close where
// the target has it, else a CRIU options file named by the copy's org.criu.config annotation.
// The file is written through a real shell (a local host), as it is over SSH.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Host } from '../../../src/core/host';
import type { RestoreOptions } from '../../../src/core/podman/options';
import { LocalRunner } from '../../../src/core/ssh/runner';
import { closeCopyConnections, criuConfigText, isCriuConfigPath, removeCriuConfig, writeCriuConfig } from '../../../src/core/snapshot/tcpClose';
import { makeTempDir } from '../helpers';

/** Only what closeCopyConnections asks of a host: the flags its podman's restore offers. */
function hostWithRestoreFlags(flags: string[]): Host {
  return { capabilities: async () => ({ restoreFlags: new Set(flags) }) } as unknown as Host;
}

const core = { settings: { remoteTempDir: '/var/tmp' } } as Parameters<typeof closeCopyConnections>[0];

describe('closing a copy\'s TCP connections', () => {
  it('uses podman\'s --tcp-close where the target has it, and writes no file', async () => {
    const options: RestoreOptions = { name: 'api-snap-120000' };
    assert.equal(await closeCopyConnections(core, hostWithRestoreFlags(['--import', '--name', '--tcp-close']), 'api-snap-120000', options), undefined);
    assert.equal(options.tcpClose, true);
  });

  it('falls back to a CRIU options file on podman without --tcp-close (before 5.7)', async () => {
    const options: RestoreOptions = { name: 'api-snap-120000' };
    const path = await closeCopyConnections(core, hostWithRestoreFlags(['--import', '--name', '--tcp-established']), 'api-snap-120000', options);
    assert.equal(path, '/var/tmp/snapdebug-criu-api-snap-120000.conf');
    assert.equal(options.tcpClose, undefined, 'podman is not given a flag it lacks');
  });

  it('refuses --tcp-established for a copy, as podman would (not with --name), saying what happens instead', async () => {
    await assert.rejects(
      closeCopyConnections(core, hostWithRestoreFlags(['--tcp-close']), 'x', { name: 'x', tcpEstablished: true }),
      /only under the original name/,
    );
  });

  it('writes the host\'s own CRIU options, then tcp-close', () => {
    const text = criuConfigText('api-snap-1', '# lab\nnetwork-lock nftables\n\n');
    const lines = text.split('\n').filter((line) => line && !line.startsWith('#'));
    assert.deepEqual(lines, ['network-lock nftables', 'tcp-close']);
    assert.deepEqual(criuConfigText('x', '').split('\n').filter((line) => line && !line.startsWith('#')), ['tcp-close']);
  });

  it('only ever removes files named like ours', () => {
    assert.equal(isCriuConfigPath('/var/tmp/snapdebug-criu-api-snap-120000.conf'), true);
    for (const path of ['/etc/criu/runc.conf', '/var/tmp/../etc/snapdebug-criu-x.conf', 'var/tmp/snapdebug-criu-x.conf', '/var/tmp/snapdebug-criu-.conf', '/var/tmp/snapdebug-criu-x.conf; rm -rf /', '/var/tmp/snapdebug-criu-x.confx']) {
      assert.equal(isCriuConfigPath(path), false, path);
    }
  });

  describe('on a host (local, through a real shell)', () => {
    let temp: ReturnType<typeof makeTempDir>;
    beforeEach(() => (temp = makeTempDir('tcpclose')));
    afterEach(() => temp.cleanup());
    const host = new Host('local', new LocalRunner());

    it('writes the file 0600 with tcp-close last, and removes it', async () => {
      const path = join(temp.dir, 'snapdebug-criu-api-snap-1.conf');
      await writeCriuConfig(host, path, 'api-snap-1');
      const text = readFileSync(path, 'utf8');
      assert.match(text, /^# Written by snapdebug for the copy api-snap-1/);
      assert.equal(text.trimEnd().split('\n').at(-1), 'tcp-close');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      await removeCriuConfig(host, path);
      assert.equal(existsSync(path), false);
    });

    it('fails with the fix when the folder is not there', async () => {
      await assert.rejects(writeCriuConfig(host, join(temp.dir, 'missing', 'snapdebug-criu-x.conf'), 'x'), /Cannot write .* the copy needs .*TCP connections closed/);
    });
  });
});
