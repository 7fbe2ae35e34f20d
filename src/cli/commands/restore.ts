// Putting snapshots back: restore onto a host (a copy), restore in place (the seed's --keep), and
// migrate a container host to host.
import { parseContainerAddress } from '../../core/podman/names';
import type { RestoreOptions } from '../../core/podman/options';
import { migrate } from '../../core/snapshot/migrate';
import { restoreInPlace, restoreSnapshot } from '../../core/snapshot/restore';
import { SnapdebugError } from '../../core/util/errors';
import { flag, listOption, stringOption, type CliCommand, type OptionValues } from '../context';

export function restoreOptionsFrom(values: OptionValues): RestoreOptions {
  const name = stringOption(values, 'name');
  const pod = stringOption(values, 'pod');
  const publish = listOption(values, 'publish');
  return {
    ...(name !== undefined && { name }),
    ...(publish.length > 0 && { publish }),
    ...(pod !== undefined && { pod }),
    ...(flag(values, 'keep') && { keep: true }),
    ...(flag(values, 'tcp-established') && { tcpEstablished: true }),
    ...(flag(values, 'tcp-close') && { tcpClose: true }),
    ...(flag(values, 'ignore-static-ip') && { ignoreStaticIp: true }),
    ...(flag(values, 'ignore-static-mac') && { ignoreStaticMac: true }),
    ...(flag(values, 'ignore-rootfs') && { ignoreRootfs: true }),
    ...(flag(values, 'ignore-volumes') && { ignoreVolumes: true }),
    ...(flag(values, 'file-locks') && { fileLocks: true }),
    ...(flag(values, 'print-stats') && { printStats: true }),
  };
}

export const restoreCommand: CliCommand = {
  name: 'restore',
  usage: 'restore SNAPSHOT --to HOST [options] | restore HOST/CONTAINER [--keep]',
  summary: 'Restore a snapshot on a host as a copy, or a checkpointed container in place',
  options: {
    to: { type: 'string', help: 'host to restore the snapshot on' },
    name: { type: 'string', help: 'name of the copy (default: the original name, or NAME-copyN if taken)' },
    publish: { type: 'string', multiple: true, help: 'publish a port of the copy, [[ip:]hostPort:]containerPort (repeatable)' },
    pod: { type: 'string', help: 'restore into this existing pod' },
    keep: { type: 'boolean', help: 'keep checkpoint files and logs (restore in place: the seed\'s --keep)' },
    'tcp-established': { type: 'boolean', help: 'restore established TCP connections (in place only: a copy gets them closed)' },
    'tcp-close': { type: 'boolean', help: 'close established TCP connections (podman 5.7+)' },
    'ignore-static-ip': { type: 'boolean', help: 'give the copy a new IP address' },
    'ignore-static-mac': { type: 'boolean', help: 'give the copy a new MAC address' },
    'ignore-rootfs': { type: 'boolean', help: 'do not apply root file system changes' },
    'ignore-volumes': { type: 'boolean', help: 'do not restore named volumes' },
    'file-locks': { type: 'boolean', help: 'restore held file locks' },
    'print-stats': { type: 'boolean', help: 'ask CRIU for restore statistics' },
    'transfer-image': { type: 'boolean', help: "copy the image from the snapshot's source host if the target lacks it" },
  },
  positionals: [1, 1],
  async run({ core, out, positionals, values, signal }) {
    const target = positionals[0]!;
    const control = { signal, progress: (e: Parameters<typeof out.progress>[0]) => out.progress(e) };
    const options = restoreOptionsFrom(values);
    if (target.includes('/')) {
      // HOST/CONTAINER: the seed article's `podman container restore [--keep] NAME`.
      if (stringOption(values, 'to')) throw new SnapdebugError('Restore in place takes no --to: it restores HOST/CONTAINER on its own host.');
      const { host, container } = parseContainerAddress(target);
      const { name: _n, publish: _p, pod: _pod, ...inPlace } = options;
      const restored = await restoreInPlace(core, { host, container, options: inPlace }, control);
      out.result(restored, () => `${host}/${restored.name} restored in place (pid ${restored.pid})`);
      return;
    }
    const to = stringOption(values, 'to');
    if (!to) throw new SnapdebugError('restore SNAPSHOT needs --to HOST (or give HOST/CONTAINER to restore in place).');
    const restored = await restoreSnapshot(core, { snapshot: target, to, options, ...(flag(values, 'transfer-image') && { transferImage: true }) }, control);
    out.result(restored, () => `${restored.snapshot} restored on ${to} as ${restored.name} (pid ${restored.pid})`);
  },
};

export const migrateCommand: CliCommand = {
  name: 'migrate',
  usage: 'migrate HOST/CONTAINER --to HOST [--remove-source]',
  summary: 'Move a container to another host (checkpoint, transfer, restore, verify)',
  options: {
    to: { type: 'string', help: 'the host to move it to' },
    'remove-source': { type: 'boolean', help: 'remove the source container once the target is verified running' },
    'transfer-image': { type: 'boolean', help: 'copy the image if the target lacks it' },
    'tcp-established': { type: 'boolean', help: 'carry established TCP connections' },
    'keep-snapshot': { type: 'boolean', help: 'keep the migration snapshot in the store' },
  },
  positionals: [1, 1],
  async run({ core, out, positionals, values, signal }) {
    const { host, container } = parseContainerAddress(positionals[0]!);
    const to = stringOption(values, 'to');
    if (!to) throw new SnapdebugError('migrate needs --to HOST.');
    const result = await migrate(
      core,
      {
        from: host,
        container,
        to,
        ...(flag(values, 'remove-source') && { removeSource: true }),
        ...(flag(values, 'transfer-image') && { transferImage: true }),
        ...(flag(values, 'tcp-established') && { tcpEstablished: true }),
        ...(flag(values, 'keep-snapshot') && { keepSnapshot: true }),
      },
      { signal, progress: (e) => out.progress(e) },
    );
    out.result(result, () =>
      [
        `${host}/${container} now runs on ${to} as ${result.target.name} (pid ${result.target.pid})`,
        `podman top on ${to}: ${result.targetTop.map((p) => p.command).join(' | ')}`,
        result.sourceRemoved ? `removed ${container} from ${host}` : `${container} stays stopped (checkpointed) on ${host}; --remove-source removes it`,
      ].join('\n'),
    );
  },
};
