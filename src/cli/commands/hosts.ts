// Looking at hosts: which are configured, their containers and processes, and whether they can
// checkpoint at all (doctor).
import { doctor } from '../../core/doctor';
import { podman } from '../../core/podman/commands';
import { parseContainerAddress } from '../../core/podman/names';
import { formatAge } from '../../core/util/format';
import type { CliCommand } from '../context';
import { stringOption } from '../context';
import { table } from '../output';

export const hostsCommand: CliCommand = {
  name: 'hosts',
  usage: 'hosts',
  summary: 'List the hosts named in the ssh config',
  options: {},
  positionals: [0, 0],
  async run({ core, out }) {
    const hosts = core.hosts.configured();
    out.result(
      hosts.map((name) => {
        const t = core.hosts.pool.target(name);
        return { name, user: t.user, hostName: t.hostName, port: t.port };
      }),
      () => (hosts.length === 0 ? `no hosts in ${core.hosts.pool.configFile}` : table([['HOST', 'ADDRESS'], ...hosts.map((h) => { const t = core.hosts.pool.target(h); return [h, `${t.user}@${t.hostName}:${t.port}`]; })])),
    );
  },
};

export const psCommand: CliCommand = {
  name: 'ps',
  usage: 'ps HOST',
  summary: "List a host's containers",
  options: {},
  positionals: [1, 1],
  async run({ core, out, positionals, signal }) {
    const entries = await core.hosts.get(positionals[0]!).podman(podman.ps(), { signal });
    out.result(entries, () =>
      table([
        ['NAME', 'IMAGE', 'STATE', 'CREATED'],
        ...entries.map((c) => [c.Names[0] ?? c.Id.slice(0, 12), c.Image, c.State, c.Created ? formatAge(new Date(c.Created * 1000)) : '']),
      ]),
    );
  },
};

export const topCommand: CliCommand = {
  name: 'top',
  usage: 'top HOST/CONTAINER',
  summary: "List a container's processes (podman top)",
  options: {},
  positionals: [1, 1],
  async run({ core, out, positionals, signal }) {
    const { host, container } = parseContainerAddress(positionals[0]!);
    const processes = await core.hosts.get(host).podman(podman.top(container), { signal });
    out.result(processes, () => table([['USER', 'PID', 'PPID', 'ELAPSED', 'COMMAND'], ...processes.map((p) => [p.user, String(p.pid), String(p.ppid), p.elapsed, p.command])]));
  },
};

export const doctorCommand: CliCommand = {
  name: 'doctor',
  usage: 'doctor HOST [--peer HOST]',
  summary: 'Check that a host can checkpoint, and that a peer can restore what it takes',
  options: { peer: { type: 'string', help: 'also check this host, and CPU compatibility from HOST to it' } },
  positionals: [1, 1],
  async run({ core, out, positionals, values }) {
    const report = await doctor(core, positionals[0]!, stringOption(values, 'peer'));
    const mark = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };
    out.result(report, () =>
      report.checks
        .map((c) => `${mark[c.level]}  ${c.name}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}`)
        .concat(report.ok ? `${report.host}${report.peer ? ` and ${report.peer}` : ''}: ready` : 'not ready: see the failures above')
        .join('\n'),
    );
    return report.ok ? 0 : 1;
  },
};
