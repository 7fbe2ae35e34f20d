// launch.json support and the hand-over to the runtime's debugger: the snapdebug configuration
// provider (checks, the offered configuration, rerunning Snapshot & Debug without launching
// anything itself), and startDebugger (node / debugpy / gdb, tunnels closed with their session).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fake, makeCore, makeServices, podmanHost, prodPsEntries, unreachableHost } from './harness';
import { Uri } from './fakeVscode';

const { SnapdebugConfigurationProvider } = await import('../../../src/extension/debug/configProvider');
const { startDebugger } = await import('../../../src/extension/debug/startDebugger');
type AttachPoint = import('../../../src/extension/debug/startDebugger').AttachPoint;

const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as {
  contributes: { debuggers: { type: string; configurationAttributes: { attach: { required: string[]; properties: Record<string, unknown> } } }[] };
};
const attachSchema = pkg.contributes.debuggers[0]!.configurationAttributes.attach;

describe('SnapdebugConfigurationProvider', () => {
  beforeEach(() => fake.reset());

  it('offers a snapdebug attach configuration for the first host, with the settings filled in', () => {
    fake.settings.set('snapdebug.hosts', ['lab-prod', 'lab-debug']);
    fake.settings.set('snapdebug.defaultDebugHost', 'lab-debug');
    fake.settings.set('snapdebug.debug.remoteRoot', '/srv/app');
    const [config, ...more] = new SnapdebugConfigurationProvider(makeServices(makeCore({}))).provideDebugConfigurations();
    assert.equal(more.length, 0);
    assert.deepEqual(config, { type: 'snapdebug', request: 'attach', name: 'Snapshot & Debug', host: 'lab-prod', container: 'CONTAINER', debugHost: 'lab-debug', runtime: 'auto', remoteRoot: '/srv/app' });
  });

  it("offers only attributes package.json declares, the required ones included", () => {
    const [config] = new SnapdebugConfigurationProvider(makeServices(makeCore({}, undefined, []))).provideDebugConfigurations();
    assert.equal(config!.host, 'prod', 'a placeholder host when none is configured');
    assert.equal('debugHost' in config!, false, 'no debugHost without a default');
    for (const key of attachSchema.required) assert.ok(key in config!, key);
    for (const key of Object.keys(config!)) assert.ok(['type', 'request', 'name'].includes(key) || key in attachSchema.properties, `${key} is declared`);
  });

  it('refuses a configuration without host or container: an error, and nothing launched', async () => {
    const provider = new SnapdebugConfigurationProvider(makeServices(makeCore({})));
    assert.equal(await provider.resolveDebugConfiguration(undefined, { type: 'snapdebug', request: 'attach', name: 'x', container: 'demo-api' }), undefined);
    assert.equal(await provider.resolveDebugConfiguration(undefined, { type: 'snapdebug', request: 'attach', name: 'x', host: 'prod' }), undefined);
    assert.equal(await provider.resolveDebugConfiguration(undefined, { type: 'snapdebug', request: 'attach', name: 'x', host: 'prod', container: 42 }), undefined);
    assert.deepEqual(fake.messagesOf('error'), Array(3).fill('A snapdebug configuration needs "host" and "container".'));
    assert.deepEqual(fake.progress, []);
    assert.deepEqual(fake.startedDebugging, []);
  });

  it('does nothing for F5 without a launch.json (no type, no request)', async () => {
    const provider = new SnapdebugConfigurationProvider(makeServices(makeCore({})));
    assert.equal(await provider.resolveDebugConfiguration(undefined, { type: '', request: '', name: '' }), undefined);
    assert.deepEqual(fake.messages, []);
  });

  it('reruns Snapshot & Debug on the configured debug host, and returns undefined so nothing else launches', async () => {
    const core = makeCore({ prod: podmanHost(prodPsEntries()), 'lab-debug': unreachableHost('connect EHOSTUNREACH 192.0.2.9:22') });
    const provider = new SnapdebugConfigurationProvider(makeServices(core));
    const result = await provider.resolveDebugConfiguration(undefined, { type: 'snapdebug', request: 'attach', name: 'x', host: 'prod', container: 'demo-api', debugHost: 'lab-debug', runtime: 'node' });
    assert.equal(result, undefined);
    assert.equal(fake.quickPicks.length, 0, 'the debug host came from the configuration');
    assert.equal(fake.progress[0]!.options.title, 'Snapshot & Debug prod/demo-api');
    assert.ok(core.fakeHosts.ranOn('prod').some((c) => c.startsWith('podman container inspect')), 'production was looked at');
    assert.deepEqual(fake.messagesOf('error'), ['Snapshot & Debug prod/demo-api: connect EHOSTUNREACH 192.0.2.9:22']);
    assert.deepEqual(fake.startedDebugging, []);
  });
});

describe('startDebugger', () => {
  let services: ReturnType<typeof makeServices>;
  beforeEach(() => {
    fake.reset();
    services = makeServices(makeCore({}));
  });
  afterEach(() => services.context.subscriptions.forEach((d) => d.dispose()));

  function point(overrides: Partial<AttachPoint> = {}): AttachPoint & { closed: number } {
    const p = { host: 'debug', copy: 'demo-api-snap-084800', runtime: 'node' as const, attach: { address: '127.0.0.1', port: 40123 }, closed: 0, ...overrides } as AttachPoint & { closed: number };
    p.close = async () => {
      p.closed++;
    };
    return p;
  }

  it("starts js-debug's node attach through the tunnel, mapping the workspace folder to the remote root", async () => {
    fake.workspaceFolders = [{ uri: Uri.file('/home/me/demo-api'), name: 'demo-api', index: 0 }];
    const tunnel = point();
    assert.equal(await startDebugger(services, tunnel), true);
    const [started] = fake.startedDebugging;
    assert.equal(started!.folder, fake.workspaceFolders[0]);
    const { __snapdebugTunnel: key, ...configuration } = started!.configuration;
    assert.match(String(key), /^snapdebug-\d+$/);
    assert.deepEqual(configuration, {
      type: 'node',
      request: 'attach',
      name: 'demo-api-snap-084800 on debug',
      address: '127.0.0.1',
      port: 40123,
      localRoot: '/home/me/demo-api',
      remoteRoot: '/app',
      skipFiles: ['<node_internals>/**'],
    });
    assert.equal(tunnel.closed, 0, 'the tunnel stays open while the session runs');
  });

  it('closes the tunnel when its debug session ends, not when another one does', async () => {
    const tunnel = point();
    await startDebugger(services, tunnel);
    fake.terminateDebugSession({ type: 'node', request: 'attach', name: 'something else' });
    assert.equal(tunnel.closed, 0);
    fake.terminateDebugSession(fake.startedDebugging[0]!.configuration);
    assert.equal(tunnel.closed, 1);
    fake.terminateDebugSession(fake.startedDebugging[0]!.configuration);
    assert.equal(tunnel.closed, 1, 'closed once');
  });

  it('closes the tunnel at once when VS Code cannot start the session', async () => {
    fake.startDebuggingResult = false;
    const tunnel = point();
    assert.equal(await startDebugger(services, tunnel), false);
    assert.equal(tunnel.closed, 1);
  });

  it('takes localRoot from the launch configuration, else the setting, and remoteRoot likewise', async () => {
    fake.workspaceFolders = [{ uri: Uri.file('/home/me/ws'), name: 'ws', index: 0 }];
    fake.settings.set('snapdebug.debug.localRoot', '/home/me/from-settings');
    fake.settings.set('snapdebug.debug.remoteRoot', '/srv/app');
    await startDebugger(services, point());
    await startDebugger(services, point({ localRoot: '/home/me/from-launch', remoteRoot: '/opt/app' }));
    const roots = fake.startedDebugging.map((s) => [s.configuration.localRoot, s.configuration.remoteRoot]);
    assert.deepEqual(roots, [['/home/me/from-settings', '/srv/app'], ['/home/me/from-launch', '/opt/app']]);
  });

  it('attaches debugpy when the Python Debugger is installed, else says where debugpy listens', async () => {
    fake.workspaceFolders = [{ uri: Uri.file('/home/me/py'), name: 'py', index: 0 }];
    assert.equal(await startDebugger(services, point({ runtime: 'python', attach: { address: '127.0.0.1', port: 5678 } })), false);
    assert.equal(fake.startedDebugging.length, 0);
    assert.match(fake.messagesOf('warning')[0]!, /debugpy listens in demo-api-snap-084800 on debug, tunnelled to 127\.0\.0\.1:5678\. Install the Python Debugger extension \(ms-python\.debugpy\)/);

    fake.installedExtensions.add('ms-python.debugpy');
    assert.equal(await startDebugger(services, point({ runtime: 'python', attach: { address: '127.0.0.1', port: 5678 } })), true);
    const { __snapdebugTunnel: _key, ...configuration } = fake.startedDebugging[0]!.configuration;
    assert.deepEqual(configuration, {
      type: 'debugpy',
      request: 'attach',
      name: 'demo-api-snap-084800 on debug',
      connect: { host: '127.0.0.1', port: 5678 },
      pathMappings: [{ localRoot: '/home/me/py', remoteRoot: '/app' }],
      justMyCode: false,
    });
  });

  it('runs gdb for native code in a terminal over ssh, quoted once per shell', async () => {
    fake.settings.set('snapdebug.sshConfigFile', '/home/me/lab ssh/config');
    const started = await startDebugger(services, point({ runtime: 'native', attach: undefined, gdb: ['sudo', 'nsenter', '-t', '4242', '-a', 'gdb', '-p', '1'] }));
    assert.equal(started, true);
    const [terminal] = fake.terminals;
    assert.equal(terminal!.name, 'gdb demo-api-snap-084800 on debug');
    assert.equal(terminal!.shown, 1);
    assert.deepEqual(terminal!.sent, ["ssh -t -F '/home/me/lab ssh/config' debug 'sudo nsenter -t 4242 -a gdb -p 1'"]);
    assert.deepEqual(fake.startedDebugging, []);
  });

  it('closes every open tunnel when the extension is disposed', async () => {
    const tunnel = point();
    await startDebugger(services, tunnel);
    services.context.subscriptions.forEach((d) => d.dispose());
    services.context.subscriptions.length = 0;
    assert.equal(tunnel.closed, 1);
  });
});
