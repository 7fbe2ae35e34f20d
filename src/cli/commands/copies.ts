// Copies restored by snapdebug: list them, discard one.
import { parseContainerAddress } from '../../core/podman/names';
import { discardCopy, isStale, listCopies } from '../../core/snapshot/copies';
import { formatAge } from '../../core/util/format';
import { shellJoin } from '../../core/util/quote';
import type { CliCommand } from '../context';
import { table } from '../output';
import { countOption } from './snapshots';

export const copiesCommand: CliCommand = {
  name: 'copies',
  usage: 'copies HOST... [--stale-after-hours N]',
  summary: 'List the copies snapdebug restored on hosts, marking those restored more than N hours ago (default 24)',
  options: { 'stale-after-hours': { type: 'string', help: 'copies restored longer ago are marked stale (default 24, 0: never)' } },
  positionals: [1, 50],
  async run({ core, out, positionals, signal, values }) {
    const hours = countOption(values, 'stale-after-hours', 24);
    const copies = (await Promise.all(positionals.map((h) => listCopies(core, h, signal)))).flat().map((c) => ({ ...c, stale: isStale(c, hours) }));
    out.result(copies, () =>
      table([
        ['HOST', 'COPY', 'STATE', 'SNAPSHOT', 'RESTORED'],
        ...copies.map((c) => [c.host, c.name, c.state, c.snapshot, `${c.restoredAt ? formatAge(new Date(c.restoredAt)) : 'unknown'}${c.stale ? ' (stale)' : ''}`]),
      ]),
    );
    const stale = copies.filter((c) => c.stale);
    if (stale.length > 0) {
      out.info(
        `${stale.length} cop${stale.length === 1 ? 'y was' : 'ies were'} restored more than ${hours} hour${hours === 1 ? '' : 's'} ago and hold${stale.length === 1 ? 's' : ''} production's data. Discard with: ${stale.map((c) => shellJoin(['snapdebug', 'discard', `${c.host}/${c.name}`])).join('; ')}`,
      );
    }
  },
};

export const discardCommand: CliCommand = {
  name: 'discard',
  usage: 'discard HOST/COPY',
  summary: 'Remove a copy restored by snapdebug (refuses any other container)',
  options: {},
  positionals: [1, 1],
  async run({ core, out, positionals }) {
    const { host, container } = parseContainerAddress(positionals[0]!);
    const copy = await discardCopy(core, host, container);
    out.result(copy, () => `discarded ${host}/${copy.name} (a copy of ${copy.snapshot})`);
  },
};
