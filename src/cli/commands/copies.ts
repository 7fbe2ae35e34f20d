// Copies restored by snapdebug: list them, discard one.
import { describeEgress, discardCopy, formatAge, isStale, listCopies, retentionDefaults, shellJoin, type CopyInfo } from '../../core';
import { containerArgument, defineCommand, hostArgument } from '../context';
import { table } from '../output';
import { countOption } from './snapshots';

/** "fenced", "fenced: db:5432 (10.0.0.5)", or "no" for a copy that reaches everything. */
export function fenceColumn(copy: Pick<CopyInfo, 'fence'>): string {
  if (!copy.fence) return 'no';
  return copy.fence.allowed.length === 0 ? 'fenced' : `fenced: ${copy.fence.allowed.map(describeEgress).join(', ')}`;
}

export const copiesCommand = defineCommand({
  name: 'copies',
  usage: 'copies HOST... [--stale-after-hours N]',
  summary: `List the copies snapdebug restored on hosts, marking those restored more than N hours ago (default ${retentionDefaults.staleAfterHours})`,
  options: { 'stale-after-hours': { type: 'string', value: 'N', help: `copies restored longer ago are marked stale (default ${retentionDefaults.staleAfterHours}, 0: never)` } },
  positionals: [1, 50],
  parse: ({ positionals, values }) => ({ hosts: positionals.map(hostArgument), hours: countOption(values, 'stale-after-hours', retentionDefaults.staleAfterHours) }),
  async run({ core, out, signal }, { hosts, hours }) {
    const now = new Date();
    const copies = (await Promise.all(hosts.map((h) => listCopies(core, h, signal)))).flat().map((c) => ({ ...c, stale: isStale(c, hours, now) }));
    out.result(copies, () =>
      table([
        ['HOST', 'COPY', 'STATE', 'SNAPSHOT', 'RESTORED', 'FENCE'],
        ...copies.map((c) => [c.host, c.name, c.state, c.snapshot, `${c.restoredAt ? formatAge(new Date(c.restoredAt)) : 'unknown'}${c.stale ? ' (stale)' : ''}`, fenceColumn(c)]),
      ]),
    );
    const stale = copies.filter((c) => c.stale);
    if (stale.length > 0) {
      out.info(
        `${stale.length} cop${stale.length === 1 ? 'y was' : 'ies were'} restored more than ${hours} hour${hours === 1 ? '' : 's'} ago and hold${stale.length === 1 ? 's' : ''} production's data. Discard with: ${stale.map((c) => shellJoin(['snapdebug', 'discard', `${c.host}/${c.name}`])).join('; ')}`,
      );
    }
  },
});

export const discardCommand = defineCommand({
  name: 'discard',
  usage: 'discard HOST/COPY',
  summary: 'Remove a copy restored by snapdebug (refuses any other container)',
  options: {},
  positionals: [1, 1],
  parse: ({ positionals }) => containerArgument(positionals[0]!),
  async run({ core, out }, { host, container }) {
    const copy = await discardCopy(core, host, container);
    out.result(copy, () => `discarded ${host}/${copy.name} (a copy of ${copy.snapshot})`);
  },
});
