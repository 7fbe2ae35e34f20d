// Copies restored by snapdebug: list them, discard one.
import { parseContainerAddress } from '../../core/podman/names';
import { discardCopy, listCopies } from '../../core/snapshot/copies';
import type { CliCommand } from '../context';
import { table } from '../output';

export const copiesCommand: CliCommand = {
  name: 'copies',
  usage: 'copies HOST...',
  summary: 'List the copies snapdebug restored on hosts',
  options: {},
  positionals: [1, 50],
  async run({ core, out, positionals, signal }) {
    const copies = (await Promise.all(positionals.map((h) => listCopies(core, h, signal)))).flat();
    out.result(copies, () => table([['HOST', 'COPY', 'STATE', 'SNAPSHOT'], ...copies.map((c) => [c.host, c.name, c.state, c.snapshot])]));
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
