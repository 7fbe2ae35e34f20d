// Putting snapshots back: restore onto a host (a copy), restore in place (the seed's --keep), and
// migrate a container host to host.
import {
  SnapdebugError,
  migrate,
  restoreInPlace,
  restoreOptionInfo,
  restoreSnapshot,
  validateRestoreOptions,
  validateSnapshotRef,
  type RestoreOptions,
} from '../../core';
import { containerArgument, defineCommand, flag, hostArgument, required, stringOption, type OptionValues } from '../context';
import { tableOptionSpecs, tableValues, withDefaults } from '../options';
import { egressChoices, egressOptions, fenceLine } from './debug';

/** --fenced, or --allow-egress (which fences too); nothing (or --allow-all-egress): not fenced. */
function fenceChoice(values: OptionValues): { fence?: { allowEgress: string[] } } {
  const { allowEgress, allowAllEgress } = egressChoices(values);
  if (allowAllEgress && flag(values, 'fenced')) throw new SnapdebugError('--fenced and --allow-all-egress contradict each other: give one of them.');
  return flag(values, 'fenced') || allowEgress.length > 0 ? { fence: { allowEgress } } : {};
}

/** What a restore in place takes: no name, ports or pod (it stays the container it was). */
const inPlaceKeys = ['keep', 'tcpEstablished', 'tcpClose', 'fileLocks', 'ignoreStaticIp', 'ignoreStaticMac', 'printStats'] as const;

/** A copy's options: what the command line gave over the table's defaults (a copy gets a new IP and MAC). */
export function restoreOptionsFrom(values: OptionValues): RestoreOptions {
  const options = withDefaults(restoreOptionInfo, tableValues(restoreOptionInfo, values));
  validateRestoreOptions(options);
  return options;
}

export const restoreCommand = defineCommand({
  name: 'restore',
  usage: 'restore SNAPSHOT --to HOST [options] | restore HOST/CONTAINER [--keep]',
  summary: 'Restore a snapshot on a host as a copy, or a checkpointed container in place',
  options: {
    to: { type: 'string', value: 'HOST', help: 'host to restore the snapshot on' },
    ...tableOptionSpecs(restoreOptionInfo),
    'transfer-image': { type: 'boolean', help: "copy the image from the snapshot's source host if the target lacks it" },
    fenced: { type: 'boolean', help: 'fence the copy: it reaches nothing outside itself but what --allow-egress names' },
    ...egressOptions,
  },
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const target = positionals[0]!;
    if (target.includes('/')) {
      const fenceFlags = ['fenced', 'allow-egress', 'allow-all-egress'].filter((name) => values[name] !== undefined);
      if (fenceFlags.length > 0) throw new SnapdebugError(`A restore in place keeps the container's own network: --${fenceFlags[0]} only applies to a snapshot restored --to a host.`);
      // HOST/CONTAINER: the seed article's `podman container restore [--keep] NAME`, with only what was said.
      if (stringOption(values, 'to') !== undefined) throw new SnapdebugError('A restore in place takes no --to: it restores HOST/CONTAINER on its own host.');
      const given = tableValues(restoreOptionInfo, values);
      const misplaced = Object.keys(given).filter((key) => !(inPlaceKeys as readonly string[]).includes(key));
      if (misplaced.length > 0) {
        throw new SnapdebugError(`A restore in place keeps the container as it was: ${misplaced.map((k) => restoreOptionInfo[k as keyof RestoreOptions].flag).join(', ')} only apply to a snapshot restored --to a host.`);
      }
      validateRestoreOptions(given);
      return { inPlace: true as const, ...containerArgument(target), options: given as Pick<RestoreOptions, (typeof inPlaceKeys)[number]> };
    }
    return {
      inPlace: false as const,
      snapshot: validateSnapshotRef(target),
      to: hostArgument(required(values, 'to', 'the host to restore the snapshot on (or give HOST/CONTAINER to restore in place)')),
      options: restoreOptionsFrom(values),
      ...(flag(values, 'transfer-image') && { transferImage: true }),
      ...fenceChoice(values),
    };
  },
  async run({ core, out, signal }, request) {
    const control = { signal, progress: (e: Parameters<typeof out.progress>[0]) => out.progress(e) };
    if (request.inPlace) {
      const restored = await restoreInPlace(core, request, control);
      out.result(restored, () => `${request.host}/${restored.name} restored in place (pid ${restored.pid})`);
      return;
    }
    const { inPlace: _, ...copy } = request;
    const restored = await restoreSnapshot(core, copy, control);
    out.result(restored, () => `${restored.snapshot} restored on ${request.to} as ${restored.name} (pid ${restored.pid})\n${fenceLine(restored.name, restored.fence)}`);
  },
});

export const migrateCommand = defineCommand({
  name: 'migrate',
  usage: 'migrate HOST/CONTAINER --to HOST [--remove-source]',
  summary: 'Move a container to another host (checkpoint, transfer, restore, verify)',
  options: {
    to: { type: 'string', value: 'HOST', help: 'the host to move it to' },
    'remove-source': { type: 'boolean', help: 'remove the source container once the target is verified running' },
    'transfer-image': { type: 'boolean', help: 'copy the image if the target lacks it' },
    'tcp-established': { type: 'boolean', help: 'carry established TCP connections' },
    'keep-snapshot': { type: 'boolean', help: 'keep the migration snapshot in the store' },
    'through-here': { type: 'boolean', help: 'send the archive through this machine even when the target host reaches the source host' },
  },
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const { host, container } = containerArgument(positionals[0]!);
    const to = hostArgument(required(values, 'to', 'the host to move the container to'));
    if (to === host) throw new SnapdebugError(`--to ${to} is where ${container} already runs: name another host.`);
    return {
      from: host,
      container,
      to,
      ...(flag(values, 'remove-source') && { removeSource: true }),
      ...(flag(values, 'transfer-image') && { transferImage: true }),
      ...(flag(values, 'tcp-established') && { tcpEstablished: true }),
      ...(flag(values, 'keep-snapshot') && { keepSnapshot: true }),
      ...(flag(values, 'through-here') && { throughHere: true }),
    };
  },
  async run({ core, out, signal }, request) {
    const result = await migrate(core, request, { signal, progress: (e) => out.progress(e) });
    out.result(result, () =>
      [
        `${request.from}/${request.container} now runs on ${request.to} as ${result.target.name} (pid ${result.target.pid})`,
        `podman top on ${request.to}: ${result.targetTop.map((p) => p.command).join(' | ')}`,
        result.route.hostToHost ? `the archive went host to host (${request.from} → ${request.to})` : `the archive went through this machine: ${result.route.reason}`,
        ...(request.keepSnapshot ? [result.stored ? `${result.snapshot.id} is in the store` : `${result.snapshot.id} did not reach the store (see --verbose)`] : []),
        result.sourceRemoved ? `removed ${request.container} from ${request.from}` : `${request.container} stays stopped (checkpointed) on ${request.from}; --remove-source removes it`,
      ].join('\n'),
    );
  },
});
