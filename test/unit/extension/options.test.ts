// Options written once: the CLI's flags, VS Code's QuickPicks and settings, and "Copy CLI Command"
// all come from the core's option tables (core/podman/options.ts), and here they are held to agree:
// every table option is a CLI flag with the table's help; the QuickPicks offer the table's options
// with its labels, pre-selected from the settings whose defaults are the table's (package.json
// too); and a line Copy CLI Command writes, read back by the real CLI, asks for exactly the options
// the extension itself would use.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { acceptPicked } from './fakeVscode';
import { addSnapshot, fake, makeCore, makeServices, podmanHost, prodPsEntries, withCapabilities } from './harness';
import { plannedTempDir, shellWords } from '../helpers';
import {
  checkpointOptionInfo,
  optionDefaults,
  optionKeys,
  restoreOptionInfo,
  workflowDefaults,
  type CheckpointOptions,
  type OptionTable,
  type RestoreOptions,
} from '../../../src/core';

const { pickCheckpointOptions, pickRestoreOptions } = await import('../../../src/extension/commands/pickers');
const { cliCommandFor } = await import('../../../src/extension/commands/copyCliCommand');
const { optionSettings, readSettings } = await import('../../../src/extension/settings');
const { ContainerNode } = await import('../../../src/extension/tree/hostsTree');
const { SnapshotNode } = await import('../../../src/extension/tree/snapshotsTree');
const { commands, parseInvocation } = await import('../../../src/cli/cli');
const { cliName } = await import('../../../src/cli/options');

const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { default?: unknown; enum?: unknown[] }> } };
};

/** An options object as it acts: the table's defaults under what was set (special ones left out). */
function effective<T>(table: OptionTable<T>, options: Partial<T>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of optionKeys(table)) {
    if (table[key].special || key === 'name') continue;
    const value = options[key] ?? table[key].default;
    if (value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0)) out[key] = value;
  }
  return out;
}

describe('options written once', () => {
  beforeEach(() => fake.reset());
  const host = () => withCapabilities(podmanHost(prodPsEntries()));

  it('every podman option of the tables is a CLI flag of its command, with the table\'s help', () => {
    for (const [command, table] of [['checkpoint', checkpointOptionInfo], ['restore', restoreOptionInfo]] as const) {
      const cli = commands.find((c) => c.name === command)!;
      for (const key of optionKeys<object>(table)) {
        const info = (table as Record<string, (typeof checkpointOptionInfo)['keep']>)[key]!;
        if (info.special) continue;
        const spec = cli.options[cliName(info)];
        assert.ok(spec, `${command} --${cliName(info)}`);
        assert.equal(spec.type, info.kind === 'boolean' ? 'boolean' : 'string', key);
        assert.equal(spec.multiple === true, info.kind === 'list', key);
        assert.ok(spec.help.startsWith(info.description), `${key}: ${spec.help}`);
        assert.equal(spec.onByDefault === true, info.default === true, `${key}: --no-${cliName(info)} exactly when it is on by default`);
      }
    }
  });

  it("the settings' defaults are the tables' (package.json and readSettings alike)", () => {
    const properties = manifest.contributes.configuration.properties;
    for (const [name, setting] of Object.entries(optionSettings)) {
      const [verb, key] = name.split('.') as [string, string | undefined];
      const declared = properties[setting];
      assert.ok(declared, `package.json declares ${setting}`);
      if (key === undefined) {
        if (name in workflowDefaults) assert.equal(declared.default, (workflowDefaults as Record<string, string>)[name], setting);
        continue;
      }
      const info = ((verb === 'checkpoint' ? checkpointOptionInfo : restoreOptionInfo) as Record<string, (typeof checkpointOptionInfo)['compress']>)[key]!;
      assert.deepEqual(declared.default, info.default, setting);
      if (info.choices) assert.deepEqual(declared.enum, [...info.choices], setting);
    }
    // Nothing set: what the extension reads is the tables' defaults.
    const settings = readSettings();
    for (const [key, value] of Object.entries(settings.checkpoint)) assert.equal(value, checkpointOptionInfo[key as keyof CheckpointOptions].default, key);
    for (const [key, value] of Object.entries(settings.restore)) assert.equal(value, restoreOptionInfo[key as keyof RestoreOptions].default, key);
    assert.equal(settings.remoteTempDir, workflowDefaults.remoteTempDir);
  });

  it('the QuickPicks offer the table\'s options the host has, labelled as the table says, pre-selected from the settings', async () => {
    fake.settings.set('snapdebug.checkpoint.tcpEstablished', true);
    fake.settings.set('snapdebug.restore.ignoreStaticMac', false);
    const services = makeServices(makeCore({ prod: host() }));
    fake.answerQuickPick(acceptPicked);
    await pickCheckpointOptions(services, 'prod', true);
    fake.answerQuickPick(acceptPicked);
    fake.answerInputBox('demo-api-copy1');
    await pickRestoreOptions(services, 'prod', 'demo-api-copy1');
    const [checkpointPick, restorePick] = fake.quickPicks.map((q) => q.items as Array<{ label: string; description: string; detail: string; picked: boolean; key: string }>);
    const expected = <T>(table: OptionTable<T>, settings: Partial<T>, has: (key: string) => boolean) =>
      optionKeys(table)
        .filter((key) => table[key].offered && has(key))
        .map((key) => ({ label: table[key].label, description: table[key].flag, detail: table[key].description, picked: (settings[key] ?? table[key].default) === true, key }));
    assert.deepEqual(checkpointPick, expected<CheckpointOptions>(checkpointOptionInfo, { tcpEstablished: true }, () => true));
    // podman 5.4 (the lab's) has no --tcp-close: it is not offered.
    assert.deepEqual(restorePick, expected<RestoreOptions>(restoreOptionInfo, { ignoreStaticMac: false }, (key) => key !== 'tcpClose'));
  });

  it('Copy CLI Command writes lines the real CLI reads back as the options the extension uses', async () => {
    const temp = plannedTempDir('options-copy');
    temp.create();
    try {
      fake.settings.set('snapdebug.checkpoint.compression', 'gzip');
      fake.settings.set('snapdebug.checkpoint.fileLocks', true);
      fake.settings.set('snapdebug.restore.ignoreStaticIp', false);
      const core = makeCore({ prod: host() }, temp.dir);
      const services = makeServices(core);
      const read = (line: string) => {
        const invocation = parseInvocation(shellWords(line).slice(1));
        assert.equal(invocation.kind, 'run', line);
        return (invocation as { request: { options: Record<string, unknown> } }).request.options;
      };

      // A running container: Checkpoint… with the QuickPick accepted as it opens.
      const container = new ContainerNode({ host: 'prod', name: 'demo-api', id: '5c80f3f0f8cd', image: 'img', state: 'running', startedAt: 1, createdAt: 1, checkpointed: false, copyOf: undefined });
      fake.answerQuickPick(acceptPicked);
      const extensionCheckpoint = (await pickCheckpointOptions(services, 'prod', true))!;
      const checkpointLine = cliCommandFor(services, container)!;
      assert.equal(checkpointLine, 'snapdebug checkpoint prod/demo-api --compress gzip --file-locks');
      assert.deepEqual(effective(checkpointOptionInfo, read(checkpointLine) as Partial<CheckpointOptions>), effective(checkpointOptionInfo, extensionCheckpoint));

      // A snapshot: Restore on Host… with the QuickPick accepted, to the default debug host.
      fake.settings.set('snapdebug.defaultDebugHost', 'debug');
      const meta = addSnapshot(core.store, { id: 'demo-api-20261126-084800-ab12' });
      fake.answerQuickPick(acceptPicked);
      fake.answerInputBox('demo-api');
      const extensionRestore = (await pickRestoreOptions(services, 'prod', 'demo-api'))!;
      const restoreLine = cliCommandFor(services, new SnapshotNode(meta))!;
      assert.equal(restoreLine, 'snapdebug restore demo-api-20261126-084800-ab12 --to debug --no-ignore-static-ip');
      assert.deepEqual(effective(restoreOptionInfo, read(restoreLine) as Partial<RestoreOptions>), effective(restoreOptionInfo, extensionRestore));
      assert.deepEqual(effective(restoreOptionInfo, read(restoreLine) as Partial<RestoreOptions>), { ignoreStaticMac: true });
      // With nothing changed from the defaults, a copy gets the same from both faces, the CLI's bare line included.
      assert.deepEqual(effective(restoreOptionInfo, read('snapdebug restore x-1 --to debug') as Partial<RestoreOptions>), effective(restoreOptionInfo, optionDefaults(restoreOptionInfo)));
    } finally {
      temp.cleanup();
    }
  });
});
