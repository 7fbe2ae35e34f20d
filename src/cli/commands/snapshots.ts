// Taking and keeping snapshots: checkpoint into the store, list, push one to a host, delete.
import {
  checkpoint,
  checkpointOptionInfo,
  deleteSnapshots,
  formatAge,
  formatBytes,
  formatDuration,
  getSnapshot,
  isOlderThan,
  pushToKeep,
  retentionDefaults,
  restoreArchiveCommand,
  scanSnapshots,
  shellJoin,
  SnapdebugError,
  storeFolder,
  validateCheckpointOptions,
  validateSnapshotRef,
  type CheckpointOptions,
  type SnapshotMeta,
} from '../../core';
import { containerArgument, defineCommand, flag, hostArgument, required, stringOption, type Arguments, type OptionSpec, type OptionValues } from '../context';
import { tableOptionSpecs, tableValues } from '../options';
import { table } from '../output';

function frozen(meta: SnapshotMeta): string {
  return meta.criu ? formatDuration(meta.criu.frozenTimeUs / 1000) : 'unknown';
}

/** The checkpoint options of a command line; --stop and --with-previous SNAPSHOT are the CLI's own words. */
export const checkpointOptionSpecs: Record<string, OptionSpec> = {
  stop: { type: 'boolean', help: "stop the container (the seed article's default); without it, it keeps running" },
  ...tableOptionSpecs(checkpointOptionInfo),
  'with-previous': { type: 'string', value: 'SNAPSHOT', help: `${checkpointOptionInfo.withPrevious.description} SNAPSHOT (taken with --pre-checkpoint)` },
};

export function checkpointOptionsFrom(values: Arguments['values']): CheckpointOptions {
  const options: CheckpointOptions = {
    leaveRunning: !flag(values, 'stop'),
    ...tableValues(checkpointOptionInfo, values),
    ...(stringOption(values, 'with-previous') !== undefined && { withPrevious: true }),
  };
  validateCheckpointOptions(options);
  return options;
}

export function describeSnapshot(meta: SnapshotMeta): string {
  return `${meta.id}: ${meta.kind} of ${meta.source.host}/${meta.source.container}, ${formatBytes(meta.size)} ${meta.compression}, frozen ${frozen(meta)}, ${
    meta.options.leaveRunning ? (meta.sourceLeftRunning ? 'source kept running' : 'source NOT running afterwards') : 'source stopped'
  }`;
}

export const checkpointCommand = defineCommand({
  name: 'checkpoint',
  usage: 'checkpoint HOST/CONTAINER [options]',
  summary: 'Checkpoint a container into the local store (it keeps running unless --stop)',
  options: checkpointOptionSpecs,
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const previous = stringOption(values, 'with-previous');
    return { ...containerArgument(positionals[0]!), options: checkpointOptionsFrom(values), ...(previous !== undefined && { previous: validateSnapshotRef(previous) }) };
  },
  async run({ core, out, signal }, request) {
    const meta = await checkpoint(core, request, { signal, progress: (e) => out.progress(e) });
    out.result(meta, () => describeSnapshot(meta));
  },
});

/** A whole number option of at least 0 (0 turns it off), or the default. */
export function countOption(values: OptionValues, name: string, fallback: number): number {
  const text = stringOption(values, name);
  if (text === undefined) return fallback;
  if (!/^\d{1,6}$/.test(text)) throw new SnapdebugError(`--${name} ${text}: give a whole number (0 turns it off).`);
  return Number(text);
}

export const snapshotsCommand = defineCommand({
  name: 'snapshots',
  usage: 'snapshots [--max-age-days N]',
  summary: `List the snapshots in the local store, marking those older than N days (default ${retentionDefaults.maxAgeDays})`,
  options: { 'max-age-days': { type: 'string', value: 'N', help: `snapshots older than this are marked old (default ${retentionDefaults.maxAgeDays}, 0: never)` } },
  positionals: [0, 0],
  parse: ({ values }) => ({ maxAgeDays: countOption(values, 'max-age-days', retentionDefaults.maxAgeDays) }),
  async run({ core, out }, { maxAgeDays }) {
    const { snapshots: all, invalid } = scanSnapshots(core);
    // Metadata the store will not act on: one line each, on stderr, so --json stays one document.
    for (const file of invalid) out.info(`not a snapshot (left alone): ${file.file}: ${file.problem}`);
    const now = new Date();
    const old = new Set(all.filter((m) => isOlderThan(m, maxAgeDays, now)).map((m) => m.id).reverse());
    out.result(
      all.map((m) => ({ ...m, old: old.has(m.id) })),
      () =>
        all.length === 0
          ? `no snapshots in ${storeFolder(core)}`
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
});

export const rmCommand = defineCommand({
  name: 'rm',
  usage: 'rm SNAPSHOT...',
  summary: 'Delete snapshots from the store (they hold process memory, secrets included)',
  options: {},
  positionals: [1, 100],
  parse: ({ positionals }) => positionals.map(validateSnapshotRef),
  async run({ core, out }, refs) {
    const deleted = deleteSnapshots(core, refs);
    // As VS Code's Delete Snapshot warns: what was taken on top of them cannot be restored now.
    if (deleted.orphaned.length > 0) {
      out.info(`warning: ${deleted.orphaned.length === 1 ? 'this checkpoint was' : 'these checkpoints were'} taken on top of what was deleted and can no longer be restored: ${deleted.orphaned.join(', ')}`);
    }
    out.result(deleted, () => deleted.removed.map((id) => `deleted ${id}`).join('\n'));
  },
});

export const pushCommand = defineCommand({
  name: 'push',
  usage: 'push SNAPSHOT --to HOST',
  summary: 'Copy a snapshot to a private folder on a host, verified there (restore it later with podman or snapdebug); the host removes it after --keep-for',
  options: {
    to: { type: 'string', value: 'HOST', help: 'the host to send it to' },
    'keep-for': { type: 'string', value: 'HOURS', help: 'how long the archive stays on the host (default 24): it holds process memory' },
  },
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const hours = Number(stringOption(values, 'keep-for') ?? 24);
    if (!(hours > 0 && hours <= 24 * 30)) throw new SnapdebugError('--keep-for takes hours, more than 0 and at most 720.');
    return { snapshot: validateSnapshotRef(positionals[0]!), to: hostArgument(required(values, 'to', 'the host to send the snapshot to')), hours };
  },
  async run({ core, out, signal }, { snapshot, to, hours }) {
    const meta = getSnapshot(core, snapshot);
    const pushed = await pushToKeep(core, meta, to, hours * 3600_000, { signal, progress: (e) => out.progress(e) });
    out.result({ host: to, path: pushed.path, sha256: pushed.sha256, bytes: pushed.bytes, expiresAt: pushed.expiresAt }, () =>
      [
        `${meta.id} is on ${to} at ${pushed.path} (sha256 verified there)`,
        `restore it there with: ${shellJoin(restoreArchiveCommand(pushed.path))}`,
        `it holds process memory: ${to} removes it at ${pushed.expiresAt} (or now: ${shellJoin(['rm', '-r', pushed.path.slice(0, pushed.path.lastIndexOf('/'))])})`,
      ].join('\n'),
    );
  },
});

