// Taking and keeping snapshots: checkpoint into the store, list, push one to a host, delete.
import type { Compression } from '../../core/archive/checkpointArchive';
import { parseContainerAddress } from '../../core/podman/names';
import type { CheckpointOptions } from '../../core/podman/options';
import { checkpoint } from '../../core/snapshot/checkpoint';
import { pushToKeep } from '../../core/snapshot/push';
import type { SnapshotMeta } from '../../core/snapshot/store';
import { SnapdebugError } from '../../core/util/errors';
import { formatAge, formatBytes, formatDuration } from '../../core/util/format';
import { shellJoin } from '../../core/util/quote';
import { flag, stringOption, type CliCommand, type OptionValues } from '../context';
import { table } from '../output';

function frozen(meta: SnapshotMeta): string {
  return meta.criu ? formatDuration(meta.criu.frozenTimeUs / 1000) : 'unknown';
}

export function checkpointOptionsFrom(values: OptionValues): CheckpointOptions {
  const compress = stringOption(values, 'compress');
  if (compress !== undefined && !['zstd', 'gzip', 'none'].includes(compress)) {
    throw new SnapdebugError(`--compress ${compress}: use zstd, gzip or none.`);
  }
  return {
    leaveRunning: !flag(values, 'stop'),
    ...(compress !== undefined && { compress: compress as Compression }),
    ...(flag(values, 'tcp-established') && { tcpEstablished: true }),
    ...(flag(values, 'file-locks') && { fileLocks: true }),
    ...(flag(values, 'ignore-rootfs') && { ignoreRootfs: true }),
    ...(flag(values, 'ignore-volumes') && { ignoreVolumes: true }),
    ...(flag(values, 'pre-checkpoint') && { preCheckpoint: true }),
    ...(stringOption(values, 'with-previous') !== undefined && { withPrevious: true }),
    ...(flag(values, 'keep') && { keep: true }),
    ...(flag(values, 'print-stats') && { printStats: true }),
  };
}

export const checkpointOptionSpecs: CliCommand['options'] = {
  stop: { type: 'boolean', help: 'stop the container (the seed article\'s default); without it, it keeps running' },
  compress: { type: 'string', help: 'zstd (default), gzip or none' },
  'tcp-established': { type: 'boolean', help: 'include established TCP connections' },
  'file-locks': { type: 'boolean', help: 'include held file locks' },
  'ignore-rootfs': { type: 'boolean', help: 'leave out root file system changes' },
  'ignore-volumes': { type: 'boolean', help: 'leave out named volumes' },
  'pre-checkpoint': { type: 'boolean', help: 'dump memory only, as the base of a later --with-previous' },
  'with-previous': { type: 'string', help: 'SNAPSHOT: dump only what changed since that pre-checkpoint' },
  keep: { type: 'boolean', help: 'keep CRIU logs and statistics on the host' },
  'print-stats': { type: 'boolean', help: 'ask CRIU for statistics (always read from the archive)' },
};

export function describeSnapshot(meta: SnapshotMeta): string {
  return `${meta.id}: ${meta.kind} of ${meta.source.host}/${meta.source.container}, ${formatBytes(meta.size)} ${meta.compression}, frozen ${frozen(meta)}, ${
    meta.options.leaveRunning ? (meta.sourceLeftRunning ? 'source kept running' : 'source NOT running afterwards') : 'source stopped'
  }`;
}

export const checkpointCommand: CliCommand = {
  name: 'checkpoint',
  usage: 'checkpoint HOST/CONTAINER [options]',
  summary: 'Checkpoint a container into the local store (it keeps running unless --stop)',
  options: checkpointOptionSpecs,
  positionals: [1, 1],
  async run({ core, out, positionals, values, signal }) {
    const { host, container } = parseContainerAddress(positionals[0]!);
    const previous = stringOption(values, 'with-previous');
    const meta = await checkpoint(
      core,
      { host, container, options: checkpointOptionsFrom(values), ...(previous !== undefined && { previous }) },
      { signal, progress: (e) => out.progress(e) },
    );
    out.result(meta, () => describeSnapshot(meta));
  },
};

export const snapshotsCommand: CliCommand = {
  name: 'snapshots',
  usage: 'snapshots',
  summary: 'List the snapshots in the local store',
  options: {},
  positionals: [0, 0],
  async run({ core, out }) {
    const all = core.store.list();
    out.result(all, () =>
      all.length === 0
        ? `no snapshots in ${core.store.dir}`
        : table([
            ['ID', 'SOURCE', 'AGE', 'SIZE', 'FROZEN'],
            ...all.map((m) => [m.id, `${m.source.host}/${m.source.container}`, formatAge(new Date(m.createdAt)), formatBytes(m.size), frozen(m)]),
          ]),
    );
  },
};

export const rmCommand: CliCommand = {
  name: 'rm',
  usage: 'rm SNAPSHOT...',
  summary: 'Delete snapshots from the store (they hold process memory, secrets included)',
  options: {},
  positionals: [1, 100],
  async run({ core, out, positionals }) {
    const removed = positionals.map((id) => {
      const meta = core.store.get(id);
      core.store.remove(meta.id);
      return meta.id;
    });
    out.result({ removed }, () => removed.map((id) => `deleted ${id}`).join('\n'));
  },
};

export const pushCommand: CliCommand = {
  name: 'push',
  usage: 'push SNAPSHOT --to HOST',
  summary: "Copy a snapshot to a private folder on a host, verified there (restore it later with podman or snapdebug); the host removes it after --keep-for",
  options: {
    to: { type: 'string', help: 'the host to send it to' },
    'keep-for': { type: 'string', help: 'HOURS the archive stays on the host (default 24): it holds process memory' },
  },
  positionals: [1, 1],
  async run({ core, out, positionals, values, signal }) {
    const to = stringOption(values, 'to');
    if (!to) throw new SnapdebugError('push needs --to HOST.');
    const hours = Number(stringOption(values, 'keep-for') ?? 24);
    if (!(hours > 0 && hours <= 24 * 30)) throw new SnapdebugError('--keep-for takes hours, more than 0 and at most 720.');
    const meta = core.store.get(positionals[0]!);
    const pushed = await pushToKeep(core, meta, to, hours * 3600_000, { signal, progress: (e) => out.progress(e) });
    out.result({ host: to, path: pushed.path, sha256: pushed.sha256, bytes: pushed.bytes, expiresAt: pushed.expiresAt }, () =>
      [
        `${meta.id} is on ${to} at ${pushed.path} (sha256 verified there)`,
        `restore it there with: ${shellJoin(['podman', 'container', 'restore', '--import', pushed.path])}`,
        `it holds process memory: ${to} removes it at ${pushed.expiresAt} (or now: ${shellJoin(['rm', '-r', pushed.path.slice(0, pushed.path.lastIndexOf('/'))])})`,
      ].join('\n'),
    );
  },
};
