// The setting snapdebug.useSudo reaches the core: the hosts it names (or every host, with "*")
// run their privileged commands through `sudo -n`, the others do not, and changing the setting
// rebuilds the core so the next command uses the new choice. (Through sudo for real: test/lab/sudo.test.ts.)
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fake, makeContext } from './harness';
import { plannedTempDir } from '../helpers';
import * as vscodeFake from './fakeVscode';

const { activate } = await import('../../../src/extension/extension');

describe('snapdebug.useSudo', () => {
  const temp = plannedTempDir('usesudo');
  let context: ReturnType<typeof makeContext>;
  beforeEach(() => {
    temp.create();
    // Two names for one host, as the lab has them; nothing here opens a connection.
    writeFileSync(join(temp.dir, 'ssh_config'), 'Host prod\n  HostName 127.0.0.1\n  User root\n\nHost prod-sudo\n  HostName 127.0.0.1\n  User dev\n');
    fake.settings.set('snapdebug.sshConfigFile', join(temp.dir, 'ssh_config'));
    fake.settings.set('snapdebug.snapshotDirectory', join(temp.dir, 'store'));
    context = makeContext();
  });
  afterEach(() => {
    context.subscriptions.forEach((d) => d.dispose());
    fake.settings.delete('snapdebug.useSudo');
    temp.cleanup();
  });

  const sudoOf = (services: ReturnType<typeof activate>, host: string) => services.core().hosts.get(host).options.sudo;
  const prefixOf = (services: ReturnType<typeof activate>, host: string) => services.core().hosts.get(host).privileged(['podman', 'ps']).slice(0, 2);

  it('is off by default: no host uses sudo', () => {
    const services = activate(context);
    assert.equal(sudoOf(services, 'prod'), false);
    assert.equal(sudoOf(services, 'prod-sudo'), false);
    assert.notDeepEqual(prefixOf(services, 'prod-sudo'), ['sudo', '-n']);
  });

  it('names hosts: only those run privileged commands through sudo -n', () => {
    fake.settings.set('snapdebug.useSudo', ['prod-sudo']);
    const services = activate(context);
    assert.equal(sudoOf(services, 'prod-sudo'), true);
    assert.equal(sudoOf(services, 'prod'), false);
    assert.deepEqual(prefixOf(services, 'prod-sudo'), ['sudo', '-n']);
  });

  it('"*" means every host; a change of the setting takes effect on the next command', async () => {
    const services = activate(context);
    assert.equal(sudoOf(services, 'prod'), false);
    await vscodeFake.workspace.getConfiguration('snapdebug').update('useSudo', ['*']);
    assert.equal(sudoOf(services, 'prod'), true);
    assert.equal(sudoOf(services, 'prod-sudo'), true);
    await vscodeFake.workspace.getConfiguration('snapdebug').update('useSudo', []);
    assert.equal(sudoOf(services, 'prod'), false);
  });
});
