// Copies restored by snapdebug: list them, discard one.
import { describeEgress, discardCopy, listCopies, type CopyInfo } from '../../core';
import { containerArgument, defineCommand, hostArgument } from '../context';
import { table } from '../output';

/** "fenced", "fenced: db:5432 (10.0.0.5)", or "no" for a copy that reaches everything. */
export function fenceColumn(copy: Pick<CopyInfo, 'fence'>): string {
  if (!copy.fence) return 'no';
  return copy.fence.allowed.length === 0 ? 'fenced' : `fenced: ${copy.fence.allowed.map(describeEgress).join(', ')}`;
}

export const copiesCommand = defineCommand({
  name: 'copies',
  usage: 'copies HOST...',
  summary: 'List the copies snapdebug restored on hosts',
  options: {},
  positionals: [1, 50],
  parse: ({ positionals }) => positionals.map(hostArgument),
  async run({ core, out, signal }, hosts) {
    const copies = (await Promise.all(hosts.map((h) => listCopies(core, h, signal)))).flat();
    out.result(copies, () => table([['HOST', 'COPY', 'STATE', 'SNAPSHOT', 'FENCE'], ...copies.map((c) => [c.host, c.name, c.state, c.snapshot, fenceColumn(c)])]));
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
