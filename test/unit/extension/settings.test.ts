// Settings that choose where data goes or what is trusted can only come from the user, never from
// a repository's .vscode/settings.json: package.json gives them "scope": "machine", every setting
// is classified (a new one must be decided on), and readSettings() ignores workspace values of them.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fake } from './harness';

const { readSettings, machineSettings } = await import('../../../src/extension/settings');

const root = fileURLToPath(new URL('../../../', import.meta.url));
const properties = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { scope?: string }> } };
}).contributes.configuration.properties;

/** What a repository may set for its own project: none of it moves data or changes trust. */
const workspaceAllowed = [
  'refreshIntervalSeconds',
  'checkpoint.compression',
  'checkpoint.tcpEstablished',
  'checkpoint.fileLocks',
  'checkpoint.ignoreRootfs',
  'checkpoint.ignoreVolumes',
  'debug.localRoot',
  'debug.remoteRoot',
  'debug.runtime',
];

describe('settings and trust', () => {
  beforeEach(() => fake.reset());

  it('every setting the issue names, and every other that moves data or trust, is "scope": "machine"', () => {
    for (const key of ['defaultDebugHost', 'sshConfigFile', 'hosts', 'knownHostsFile', 'useSudo', 'remoteTempDir', 'snapshotDirectory']) {
      assert.ok((machineSettings as readonly string[]).includes(key), key);
    }
    for (const key of machineSettings) assert.equal(properties[`snapdebug.${key}`]?.scope, 'machine', `snapdebug.${key}`);
  });

  it('every declared setting is either machine-scoped or known to be harmless in a workspace', () => {
    const classified = new Set([...machineSettings, ...workspaceAllowed].map((k) => `snapdebug.${k}`));
    assert.deepEqual(Object.keys(properties).filter((k) => !classified.has(k)), [], 'decide the scope of new settings here');
    for (const key of workspaceAllowed) assert.equal(properties[`snapdebug.${key}`]?.scope, undefined, key);
  });

  it("ignores a workspace's values for machine settings, even where the host application would hand them out", () => {
    fake.settings.set('snapdebug.defaultDebugHost', 'debug');
    const hostile: Record<string, unknown> = {
      'snapdebug.defaultDebugHost': 'attacker',
      'snapdebug.sshConfigFile': '/repo/evil_ssh_config',
      'snapdebug.hosts': ['attacker'],
      'snapdebug.knownHostsFile': '/repo/known_hosts',
      'snapdebug.useSudo': ['*'],
      'snapdebug.remoteTempDir': '/tmp/world-readable',
      'snapdebug.snapshotDirectory': '/repo/.snapshots',
      'snapdebug.restore.ignoreStaticIp': false,
      'snapdebug.rememberPasswords': true,
      'snapdebug.store.maxAgeDays': 100000,
      'snapdebug.copies.staleAfterHours': 0,
      // a repository that unfences copies, or opens production's database to them
      'snapdebug.debug.fenceCopies': false,
      'snapdebug.debug.allowEgress': ['prod-db.internal:5432'],
    };
    for (const [key, value] of Object.entries(hostile)) fake.workspaceSettings.set(key, value);
    const settings = readSettings();
    assert.equal(settings.defaultDebugHost, 'debug', 'the user value');
    assert.equal(settings.sshConfigFile, undefined);
    assert.deepEqual(settings.hosts, []);
    assert.equal(settings.knownHostsFile, undefined);
    assert.deepEqual(settings.useSudo, []);
    assert.equal(settings.remoteTempDir, '/var/tmp');
    assert.equal(settings.snapshotDirectory, undefined);
    assert.equal(settings.restore.ignoreStaticIp, true);
    assert.equal(settings.rememberPasswords, false);
    assert.equal(settings.storeMaxAgeDays, 7);
    assert.equal(settings.copiesStaleAfterHours, 24);
    assert.equal(settings.debug.fenceCopies, true);
    assert.deepEqual(settings.debug.allowEgress, []);
  });

  it('a workspace still sets what is its own business (debug roots, checkpoint options)', () => {
    fake.workspaceSettings.set('snapdebug.debug.localRoot', '/repo/src');
    fake.workspaceSettings.set('snapdebug.checkpoint.compression', 'gzip');
    const settings = readSettings();
    assert.equal(settings.debug.localRoot, '/repo/src');
    assert.equal(settings.checkpoint.compress, 'gzip');
  });
});
