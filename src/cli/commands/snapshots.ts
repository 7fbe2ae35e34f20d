// Taking and keeping snapshots: checkpoint into the store, list, push one to a host, delete.
import {
  checkpoint,
  checkpointOptionInfo,
  checkpointToHost,
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
  type ProgressEvent,
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

const keepForSpec: OptionSpec = { type: 'string', value: 'HOURS', help: 'how long the archive stays on the host (default 24): it holds process memory' };

/** --keep-for HOURS in milliseconds: more than 0, at most 30 days. */
function keepForMs(values: OptionValues): number {
  const hours = Number(stringOption(values, 'keep-for') ?? 24);
  if (!(hours > 0 && hours <= 24 * 30)) throw new SnapdebugError('--keep-for takes hours, more than 0 and at most 720.');
  return hours * 3600_000;
}

/** What the host keeping an archive says, as push and checkpoint --push-to print it. */
function keptLines(id: string, to: string, kept: { path: string; expiresAt: string }, how: string): string[] {
  return [
    `${id} is on ${to} at ${kept.path} (${how})`,
    `restore it there with: ${shellJoin(restoreArchiveCommand(kept.path))}`,
    `it holds process memory: ${to} removes it at ${kept.expiresAt} (or now: ${shellJoin(['rm', '-r', kept.path.slice(0, kept.path.lastIndexOf('/'))])})`,
  ];
}

export const checkpointCommand = defineCommand({
  name: 'checkpoint',
  usage: 'checkpoint HOST/CONTAINER [options]',
  summary: 'Checkpoint a container into the local store (it keeps running unless --stop); --push-to keeps its archive on another host too',
  options: {
    ...checkpointOptionSpecs,
    'push-to': { type: 'string', value: 'HOST', help: 'also keep the archive on HOST, sent host to host when HOST reaches the source (as the seed\'s scp)' },
    'keep-for': { ...keepForSpec, help: `with --push-to: ${keepForSpec.help}` },
    'through-here': { type: 'boolean', help: 'with --push-to: send the archive through this machine even when HOST reaches the source host' },
  },
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const previous = stringOption(values, 'with-previous');
    const to = stringOption(values, 'push-to');
    if (to === undefined && (stringOption(values, 'keep-for') !== undefined || flag(values, 'through-here'))) {
      throw new SnapdebugError('--keep-for and --through-here go with --push-to HOST.');
    }
    const target = containerArgument(positionals[0]!);
    const options = checkpointOptionsFrom(values);
    if (to !== undefined && hostArgument(to) === target.host) throw new SnapdebugError(`--push-to ${to} is where ${target.container} runs: name another host.`);
    if (to !== undefined && (options.preCheckpoint || previous !== undefined)) throw new SnapdebugError('--push-to takes a full checkpoint: push a pre-checkpoint, or one with previous, afterwards with `snapdebug push`.');
    return {
      ...target,
      options,
      ...(previous !== undefined && { previous: validateSnapshotRef(previous) }),
      ...(to !== undefined && { pushTo: { to: hostArgument(to), keepForMs: keepForMs(values), throughHere: flag(values, 'through-here') } }),
    };
  },
  async run({ core, out, signal }, { pushTo, ...request }) {
    const control = { signal, progress: (e: ProgressEvent) => out.progress(e) };
    if (!pushTo) {
      const meta = await checkpoint(core, request, control);
      out.result(meta, () => describeSnapshot(meta));
      return;
    }
    const { meta, kept, route } = await checkpointToHost(core, { ...request, to: pushTo.to, keepForMs: pushTo.keepForMs, ...(pushTo.throughHere && { throughHere: true }) }, control);
    const how = route.hostToHost ? `fetched from ${meta.source.host} host to host, sha256 verified` : `sent from here, sha256 verified there; through this machine: ${route.reason}`;
    out.result({ ...meta, kept: { host: pushTo.to, path: kept.path, sha256: kept.sha256, bytes: kept.bytes, expiresAt: kept.expiresAt }, route }, () =>
      [describeSnapshot(meta), ...keptLines(meta.id, pushTo.to, kept, how)].join('\n'),
    );
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
    'keep-for': keepForSpec,
  },
  positionals: [1, 1],
  parse: ({ positionals, values }) => ({ snapshot: validateSnapshotRef(positionals[0]!), to: hostArgument(required(values, 'to', 'the host to send the snapshot to')), keepForMs: keepForMs(values) }),
  async run({ core, out, signal }, { snapshot, to, keepForMs: keepFor }) {
    const meta = getSnapshot(core, snapshot);
    const pushed = await pushToKeep(core, meta, to, keepFor, { signal, progress: (e) => out.progress(e) });
    out.result({ host: to, path: pushed.path, sha256: pushed.sha256, bytes: pushed.bytes, expiresAt: pushed.expiresAt }, () => keptLines(meta.id, to, pushed, 'sha256 verified there').join('\n'));
  },
});

