// Taking and keeping snapshots: checkpoint into the store, list, push one to a host, delete.
import type { Compression } from '../../core/archive/checkpointArchive';
import { parseContainerAddress } from '../../core/podman/names';
import type { CheckpointOptions } from '../../core/podman/options';
import { checkpoint } from '../../core/snapshot/checkpoint';
import { pushSnapshot } from '../../core/snapshot/push';
import { isOlderThan, type SnapshotMeta } from '../../core/snapshot/store';
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

/** A whole number option of at least 0, or the default. */
export function countOption(values: OptionValues, name: string, fallback: number): number {
  const text = stringOption(values, name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new SnapdebugError(`--${name} ${text}: give a whole number (0 turns it off).`);
  return Number(text);
}

export const snapshotsCommand: CliCommand = {
  name: 'snapshots',
  usage: 'snapshots [--max-age-days N]',
  summary: 'List the snapshots in the local store, marking those older than N days (default 7)',
  options: { 'max-age-days': { type: 'string', help: 'snapshots older than this are marked old (default 7, 0: never)' } },
  positionals: [0, 0],
  async run({ core, out, values }) {
    const maxAgeDays = countOption(values, 'max-age-days', 7);
    const { snapshots: all, invalid } = core.store.scan();
    // Metadata the store will not act on: one line each, on stderr, so --json stays one document.
    for (const file of invalid) out.info(`not a snapshot (left alone): ${file.file}: ${file.problem}`);
    const now = new Date();
    const old = new Set(all.filter((m) => isOlderThan(m, maxAgeDays, now)).map((m) => m.id).reverse());
    out.result(
      all.map((m) => ({ ...m, old: old.has(m.id) })),
      () =>
        all.length === 0
          ? `no snapshots in ${core.store.dir}`
          : table([
              ['ID', 'SOURCE', 'AGE', 'SIZE', 'FROZEN'],
              ...all.map((m) => [m.id, `${m.source.host}/${m.source.container}`, `${formatAge(new Date(m.createdAt))}${old.has(m.id) ? ' (old)' : ''}`, formatBytes(m.size), frozen(m)]),
            ]),
    );
    if (old.size > 0) {
      out.info(
        `${old.size} snapshot${old.size === 1 ? ' is' : 's are'} older than ${maxAgeDays} day${maxAgeDays === 1 ? '' : 's'} and hold${old.size === 1 ? 's' : ''} process memory, secrets included. Remove ${old.size === 1 ? 'it' : 'them'} with: ${shellJoin(['snapdebug', 'rm', ...old])}`,
      );
    }
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
  summary: "Copy a snapshot to a host's temporary folder, verified there (restore it later with podman or snapdebug)",
  options: { to: { type: 'string', help: 'the host to send it to' } },
  positionals: [1, 1],
  async run({ core, out, positionals, values, signal }) {
    const to = stringOption(values, 'to');
    if (!to) throw new SnapdebugError('push needs --to HOST.');
    const meta = core.store.get(positionals[0]!);
    const pushed = await pushSnapshot(core, meta, to, { stableName: true }, { signal, progress: (e) => out.progress(e) });
    out.result({ host: to, path: pushed.path, sha256: pushed.sha256, bytes: pushed.bytes }, () =>
      [
        `${meta.id} is on ${to} at ${pushed.path} (sha256 verified there)`,
        `restore it there with: ${shellJoin(['podman', 'container', 'restore', '--import', pushed.path])}`,
        `it holds process memory: remove it when done (${shellJoin(['rm', pushed.path])})`,
      ].join('\n'),
    );
  },
};
