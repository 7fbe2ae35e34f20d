// The extension's core lives as long as the settings it was built from: a configuration change
// event that changes none of them (VS Code fires such events, e.g. when another extension
// activates) keeps it — disposing it would end its SSH connections, the sessions' work and the
// tunnels of running debug sessions — while a changed SSH config or temp folder builds a new one.
import { strict as assert } from 'node:assert';
import { fake } from './harness';

const { CoreHolder } = await import('../../../src/extension/services');

describe('CoreHolder', () => {
  beforeEach(() => fake.reset());

  function holder(): InstanceType<typeof CoreHolder> {
    const context = { secrets: { get: async () => undefined, store: async () => undefined, delete: async () => undefined } };
    const log = { info: () => undefined, command: () => undefined };
    return new CoreHolder(context as never, log as never);
  }

  it('keeps its core when a change event changes none of its settings, and rebuilds when one changed', () => {
    const cores = holder();
    const first = cores.get();
    let disposed = 0;
    const dispose = first.dispose.bind(first);
    first.dispose = () => {
      disposed++;
      dispose();
    };
    fake.settings.set('snapdebug.refreshIntervalSeconds', 99); // not one the core is built from
    cores.resetIfChanged();
    assert.equal(cores.get(), first, 'the same core');
    assert.equal(disposed, 0);
    fake.settings.set('snapdebug.remoteTempDir', '/srv/tmp');
    cores.resetIfChanged();
    assert.equal(disposed, 1, 'the old core is disposed');
    assert.notEqual(cores.get(), first, 'a new core from the new settings');
    cores.dispose();
  });
});
