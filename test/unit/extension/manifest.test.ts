// package.json's `contributes` against the code: commands registered ↔ declared, menus pointing at
// real commands and views, when-clauses matching the typed contextValue vocabulary (and the trees
// producing only, and all of, that vocabulary), settings read ↔ declared with the same defaults,
// activation events, and activate() putting every disposable in context.subscriptions.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addFixtureSnapshot, addSnapshot, debugPsEntries, fake, makeContext, makeCore, makeServices, podmanHost, prodPsEntries, unreachableHost, walkTree } from './harness';
import { makeTempDir, plannedTempDir } from '../helpers';
import * as vscodeFake from './fakeVscode';

const { registerCommands, allCommands } = await import('../../../src/extension/commands/index');
const { allContextValues } = await import('../../../src/extension/tree/contextValues');
const { readSettings } = await import('../../../src/extension/settings');
const { activate } = await import('../../../src/extension/extension');

interface Contributes {
  commands: { command: string; title: string }[];
  menus: Record<string, { command: string; when?: string }[]>;
  views: Record<string, { id: string }[]>;
  viewsWelcome: { view: string; when?: string }[];
  configuration: { properties: Record<string, { type: string; default: unknown; description?: string; markdownDescription?: string }> };
  debuggers: { type: string; configurationAttributes: { attach: { required: string[]; properties: Record<string, unknown> } } }[];
}
const root = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { contributes: Contributes; activationEvents: string[] };
const contributes = pkg.contributes;
const declaredCommands = contributes.commands.map((c) => c.command);
const viewIds = Object.values(contributes.views).flat().map((v) => v.id);
const menuEntries = Object.entries(contributes.menus).flatMap(([menu, entries]) => entries.map((entry) => ({ menu, ...entry })));
const whenClauses = [...menuEntries.map((e) => e.when), ...contributes.viewsWelcome.map((w) => w.when)].filter((w): w is string => w !== undefined);

/** `key =~ /regex/flags` and `key == value` terms of when-clauses, for one context key. */
function regexTerms(key: string): { when: string; regex: RegExp; source: string }[] {
  return whenClauses.flatMap((when) =>
    [...when.matchAll(new RegExp(`\\b${key}\\s*=~\\s*\\/((?:\\\\.|[^/\\\\])+)\\/([a-z]*)`, 'g'))].map((m) => ({ when, regex: new RegExp(m[1]!, m[2]), source: m[1]! })),
  );
}
function equalityTerms(key: string): { when: string; value: string }[] {
  return whenClauses.flatMap((when) => [...when.matchAll(new RegExp(`\\b${key}\\s*==\\s*([^\\s)&|]+)`, 'g'))].map((m) => ({ when, value: m[1]! })));
}

describe('package.json contributes ↔ src/extension', () => {
  beforeEach(() => fake.reset());

  describe('commands', () => {
    it('registerCommands() registers exactly the commands package.json declares', () => {
      const services = makeServices(makeCore({}));
      const disposables = registerCommands(services);
      const registered = [...fake.commands.keys()];
      assert.deepEqual([...registered].sort(), [...declaredCommands].sort());
      assert.equal(disposables.length, registered.length, 'one disposable per command');
      assert.equal(new Set(allCommands.map((c) => c.id)).size, allCommands.length, 'no command id twice in the registry');
      disposables.forEach((d) => d.dispose());
      assert.equal(fake.commands.size, 0, 'disposing unregisters');
    });

    it('names commands snapdebug.<verb><Noun> and gives each a title', () => {
      for (const command of contributes.commands) {
        assert.match(command.command, /^snapdebug\.[a-z]+[A-Za-z]*$/);
        assert.ok(command.title.trim().length > 0, `${command.command} has a title`);
      }
    });

    it('every command a menu names exists', () => {
      const unknown = menuEntries.filter((e) => !declaredCommands.includes(e.command)).map((e) => `${e.menu}: ${e.command}`);
      assert.deepEqual(unknown, []);
      assert.ok(menuEntries.length > 20, 'the menus were read');
    });

    it('a command error escaping its handler is logged and shown with "Show Log", not swallowed', async () => {
      const services = makeServices(makeCore({}));
      const disposables = registerCommands(services);
      // showLog's handler is trivial; make the channel throw so the wrapper's catch runs.
      services.channel.show = () => {
        throw new Error('the channel is gone');
      };
      const result = await fake.commands.get('snapdebug.showLog')!();
      assert.equal(result, undefined);
      assert.deepEqual(fake.messages.map((m) => [m.kind, m.message, m.items]), [['error', 'snapdebug.showLog: the channel is gone', ['Show Log']]]);
      assert.match(services.channel.text(), /\[error\] snapdebug\.showLog: Error: the channel is gone/);
      disposables.forEach((d) => d.dispose());
    });
  });

  describe('when-clauses and the contextValue vocabulary', () => {
    it('every viewItem regex is anchored and matches at least one contextValue', () => {
      const terms = regexTerms('viewItem');
      assert.ok(terms.length > 15, 'the viewItem regexes were found');
      for (const term of terms) {
        assert.ok(term.source.startsWith('^'), `anchored: ${term.when}`);
        assert.ok(allContextValues.some((v) => term.regex.test(v)), `/${term.source}/ matches no contextValue (${term.when})`);
      }
    });

    it('every viewItem == value is a contextValue', () => {
      for (const term of equalityTerms('viewItem')) assert.ok((allContextValues as readonly string[]).includes(term.value), `${term.value} (${term.when})`);
    });

    it('every view a when-clause or viewsWelcome names exists', () => {
      for (const term of equalityTerms('view')) assert.ok(viewIds.includes(term.value), `view ${term.value} (${term.when})`);
      for (const term of regexTerms('view')) assert.ok(viewIds.some((id) => term.regex.test(id)), `/${term.source}/ (${term.when})`);
      for (const welcome of contributes.viewsWelcome) assert.ok(viewIds.includes(welcome.view), `viewsWelcome ${welcome.view}`);
      assert.deepEqual([...viewIds].sort(), ['snapdebug.copies', 'snapdebug.hosts', 'snapdebug.snapshots']);
    });

    it('the trees give items only contextValues of the vocabulary, and every value of it appears', async () => {
      const temp = makeTempDir('manifest-trees');
      try {
        fake.settings.set('snapdebug.hosts', ['prod', 'debug', 'empty', 'broken']);
        const core = makeCore(
          { prod: podmanHost(prodPsEntries()), debug: podmanHost(debugPsEntries()), empty: podmanHost([]), broken: unreachableHost('connect ECONNREFUSED 192.0.2.7:22') },
          temp.dir,
        );
        addSnapshot(core.store, { id: 'demo-api-20261126-084800-ab12' });
        addSnapshot(core.store, { id: 'demo-api-20261126-084500-cd34', kind: 'pre-checkpoint', createdAt: '2026-11-26T08:45:00.000Z' });
        // A real archive, so the snapshot's processes, environment, files, sockets and maps show.
        addFixtureSnapshot(core.store, 'demo-sleeper-20261130-083519-8ed8', 'demo-sleeper-checkpoint.tar.zst', { source: { host: 'prod', container: 'demo-sleeper' } });
        const services = makeServices(core);
        await services.views.hosts.refresh();
        const items = [
          ...(await walkTree(services.views.hosts)),
          ...(await walkTree(services.views.snapshots)),
          ...(await walkTree(services.views.copies)),
        ].map((w) => w.item);
        const produced = new Set(items.map((i) => i.contextValue));
        assert.ok(!produced.has(undefined), 'every item has a contextValue');
        const outside = [...produced].filter((v) => !(allContextValues as readonly (string | undefined)[]).includes(v));
        assert.deepEqual(outside, []);
        assert.deepEqual([...allContextValues].filter((v) => !produced.has(v)), [], 'no vocabulary value is dead');
      } finally {
        temp.cleanup();
      }
    });

    it('the tree providers never spell a contextValue as a string literal (only through contextValues)', () => {
      const treeDir = join(root, 'src', 'extension', 'tree');
      for (const file of readdirSync(treeDir).filter((f) => f !== 'contextValues.ts')) {
        const text = readFileSync(join(treeDir, file), 'utf8');
        assert.doesNotMatch(text, /contextValue\s*[:=]\s*['"`]/, file);
      }
    });

    it('every snapdebug.* context key of a when-clause is set by activate()', () => {
      // The key of each term: `key`, `!key`, `key == value`, `key =~ /re/` between && || ( ).
      const terms = whenClauses.flatMap((when) => when.split(/&&|\|\||[()]/).map((t) => t.trim().replace(/^!\s*/, '')).filter(Boolean));
      const keys = new Set(terms.map((t) => t.split(/\s/)[0]!).filter((k) => k.startsWith('snapdebug.')));
      assert.ok(keys.has('snapdebug.noHosts'));
      fake.settings.set('snapdebug.hosts', ['prod']);
      const context = makeContext();
      activate(context);
      const set = fake.executed.filter((e) => e.command === 'setContext').map((e) => e.args[0]);
      for (const key of keys) assert.ok(set.includes(key), `${key} is set with setContext`);
      assert.deepEqual(fake.executed.find((e) => e.args[0] === 'snapdebug.noHosts')?.args, ['snapdebug.noHosts', false]);
      context.subscriptions.forEach((d) => d.dispose());
    });
  });

  describe('configuration', () => {
    const properties = contributes.configuration.properties;

    it('readSettings() reads exactly the declared properties', () => {
      readSettings();
      assert.deepEqual([...fake.settingReads.keys()].sort(), Object.keys(properties).sort());
    });

    it('every declared property has a description', () => {
      for (const [key, property] of Object.entries(properties)) {
        assert.ok((property.description ?? property.markdownDescription ?? '').trim().length > 10, key);
      }
    });

    it("the code's fallbacks give the same settings as package.json's defaults (what VS Code hands out)", () => {
      const fromFallbacks = readSettings();
      for (const [key, property] of Object.entries(properties)) fake.settings.set(key, property.default);
      assert.deepEqual(readSettings(), fromFallbacks);
    });

    it('an empty string setting means "the default" and ~/ is expanded', () => {
      fake.settings.set('snapdebug.sshConfigFile', '  ');
      fake.settings.set('snapdebug.snapshotDirectory', '~/snaps');
      fake.settings.set('snapdebug.remoteTempDir', '');
      fake.settings.set('snapdebug.refreshIntervalSeconds', -5);
      fake.settings.set('snapdebug.debug.runtime', 'auto');
      const settings = readSettings();
      assert.equal(settings.sshConfigFile, undefined);
      assert.equal(settings.snapshotDirectory, `${process.env.HOME ?? ''}/snaps`);
      assert.equal(settings.remoteTempDir, '/var/tmp');
      assert.equal(settings.refreshIntervalSeconds, 0);
      assert.equal(settings.debug.runtime, undefined);
    });
  });

  describe('activation', () => {
    it('activation events name only our views and debug type (never *)', () => {
      const debugTypes = contributes.debuggers.map((d) => d.type);
      assert.ok(pkg.activationEvents.length > 0);
      for (const event of pkg.activationEvents) {
        assert.notEqual(event, '*');
        const [kind, name] = event.split(':') as [string, string | undefined];
        if (kind === 'onView') assert.ok(viewIds.includes(name!), event);
        else if (kind === 'onDebugResolve' || kind === 'onDebugDynamicConfigurations' || kind === 'onDebugInitialConfigurations') assert.ok(debugTypes.includes(name!), event);
        else if (kind === 'onCommand') assert.ok(declaredCommands.includes(name!), event);
        else assert.fail(`unexpected activation event ${event}`);
      }
    });

    it('activate() creates the declared views and debug provider, and every disposable reaches context.subscriptions', () => {
      fake.settings.set('snapdebug.hosts', ['prod']);
      const context = makeContext();
      activate(context);
      assert.deepEqual(fake.treeViews.map((v) => v.viewId).sort(), [...viewIds].sort());
      assert.deepEqual([...fake.debugProviders.keys()], contributes.debuggers.map((d) => d.type));
      assert.deepEqual([...fake.commands.keys()].sort(), [...declaredCommands].sort());
      assert.equal(fake.contentProviders.size, 1);
      assert.ok(fake.configurationListeners > 0);

      context.subscriptions.forEach((d) => d.dispose());
      assert.equal(fake.commands.size, 0, 'commands unregistered');
      assert.equal(fake.debugProviders.size, 0, 'debug provider unregistered');
      assert.equal(fake.contentProviders.size, 0, 'content provider unregistered');
      assert.equal(fake.configurationListeners, 0, 'configuration listener removed');
      assert.ok(fake.treeViews.every((v) => v.disposed), 'views disposed');
      assert.ok(fake.outputChannels.every((c) => c.disposed), 'log channel disposed');
    });

    describe('after activation', () => {
      const temp = plannedTempDir('activate');
      let context: ReturnType<typeof makeContext>;
      const realSetInterval = globalThis.setInterval;
      const realClearInterval = globalThis.clearInterval;
      let timers: { ms: number | undefined; cleared: boolean; handle: NodeJS.Timeout }[];

      beforeEach(() => {
        temp.create();
        // No host at all (an empty SSH config), so nothing here ever opens a connection.
        writeFileSync(join(temp.dir, 'ssh_config'), '');
        fake.settings.set('snapdebug.sshConfigFile', join(temp.dir, 'ssh_config'));
        fake.settings.set('snapdebug.snapshotDirectory', join(temp.dir, 'store'));
        timers = [];
        globalThis.setInterval = ((callback: () => void, ms?: number) => {
          const handle = realSetInterval(callback, ms);
          timers.push({ ms, cleared: false, handle });
          return handle;
        }) as typeof setInterval;
        globalThis.clearInterval = ((handle: NodeJS.Timeout) => {
          for (const t of timers) if (t.handle === handle) t.cleared = true;
          realClearInterval(handle);
        }) as typeof clearInterval;
        context = makeContext();
      });
      afterEach(() => {
        context.subscriptions.forEach((d) => d.dispose());
        globalThis.setInterval = realSetInterval;
        globalThis.clearInterval = realClearInterval;
        for (const t of timers) realClearInterval(t.handle);
        temp.cleanup();
      });

      it('a change of a snapdebug setting rebuilds the core and refreshes every view; other settings do nothing', async () => {
        const services = activate(context);
        const before = services.core();
        assert.deepEqual(services.hostNames(), [], 'the empty SSH config names no host');
        const changed: string[] = [];
        for (const view of fake.treeViews) view.options.treeDataProvider.onDidChangeTreeData?.(() => changed.push(view.viewId));

        await vscodeFake.workspace.getConfiguration('editor').update('fontSize', 14);
        assert.deepEqual(changed, []);
        assert.equal(services.core(), before);

        await vscodeFake.workspace.getConfiguration('snapdebug').update('useSudo', ['*']);
        assert.deepEqual([...new Set(changed)].sort(), ['snapdebug.copies', 'snapdebug.hosts', 'snapdebug.snapshots']);
        assert.notEqual(services.core(), before, 'a new core: new connections with the new settings');
        assert.deepEqual(fake.executed.filter((e) => e.command === 'setContext').at(-1)?.args, ['snapdebug.noHosts', true]);
      });

      it('refreshes periodically only while the Hosts or Copies view is visible', () => {
        fake.settings.set('snapdebug.refreshIntervalSeconds', 45);
        activate(context);
        assert.equal(timers.length, 0, 'no timer while every view is hidden');
        const hosts = fake.treeViews.find((v) => v.viewId === 'snapdebug.hosts')!;
        hosts.setVisible(true);
        assert.deepEqual(timers.map((t) => [t.ms, t.cleared]), [[45_000, false]]);
        hosts.setVisible(false);
        assert.deepEqual(timers.map((t) => [t.ms, t.cleared]), [[45_000, true]]);
        fake.treeViews.find((v) => v.viewId === 'snapdebug.copies')!.setVisible(true);
        assert.equal(timers.filter((t) => !t.cleared).length, 1);
        context.subscriptions.forEach((d) => d.dispose());
        context.subscriptions.length = 0;
        assert.equal(timers.filter((t) => !t.cleared).length, 0, 'disposing stops it');
      });

      it('never refreshes on a timer when the interval is 0', () => {
        fake.settings.set('snapdebug.refreshIntervalSeconds', 0);
        activate(context);
        for (const view of fake.treeViews) view.setVisible(true);
        assert.deepEqual(timers, []);
      });
    });
  });
});
