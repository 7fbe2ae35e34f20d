// Looking at hosts: which are configured, their containers (checkpointed ones and our copies
// marked, as in VS Code's Hosts view), processes and logs, and whether they can checkpoint at all
// (doctor).
import {
  configuredHosts,
  containerLogs,
  containerProcesses,
  defaultLogLines,
  doctor,
  formatAge,
  hostAddress,
  listContainers,
  sshConfigFile,
  SnapdebugError,
  type ContainerInfo,
} from '../../core';
import { containerArgument, defineCommand, hostArgument, stringOption } from '../context';
import { cliFixWording } from '../options';
import { table } from '../output';

export const hostsCommand = defineCommand({
  name: 'hosts',
  usage: 'hosts',
  summary: 'List the hosts named in the ssh config',
  options: {},
  positionals: [0, 0],
  parse: () => undefined,
  async run({ core, out }) {
    const hosts = configuredHosts(core).map((name) => hostAddress(core, name));
    out.result(hosts, () => (hosts.length === 0 ? `no hosts in ${sshConfigFile(core)}` : table([['HOST', 'ADDRESS'], ...hosts.map((h) => [h.name, `${h.user}@${h.hostName}:${h.port}`])])));
  },
});

/** What the Hosts view says beside a container: checkpointed, copy of SNAPSHOT. */
function marks(container: ContainerInfo): string {
  return [container.checkpointed ? 'checkpointed' : '', container.copyOf ? `copy of ${container.copyOf}` : ''].filter(Boolean).join(', ');
}

export const psCommand = defineCommand({
  name: 'ps',
  usage: 'ps HOST',
  summary: "List a host's containers (checkpointed ones and snapdebug's copies marked)",
  options: {},
  positionals: [1, 1],
  parse: ({ positionals }) => hostArgument(positionals[0]!),
  async run({ core, out, signal }, host) {
    const containers = await listContainers(core, host, signal);
    out.result(containers, () =>
      table([
        ['NAME', 'IMAGE', 'STATE', 'CREATED', 'NOTES'],
        ...containers.map((c) => [c.name, c.image, c.state, c.createdAt ? formatAge(new Date(c.createdAt * 1000)) : '', marks(c)]),
      ]),
    );
  },
});

export const topCommand = defineCommand({
  name: 'top',
  usage: 'top HOST/CONTAINER',
  summary: "List a container's processes (podman top)",
  options: {},
  positionals: [1, 1],
  parse: ({ positionals }) => containerArgument(positionals[0]!),
  async run({ core, out, signal }, { host, container }) {
    const processes = await containerProcesses(core, host, container, signal);
    out.result(processes, () => table([['USER', 'PID', 'PPID', 'ELAPSED', 'COMMAND'], ...processes.map((p) => [p.user, String(p.pid), String(p.ppid), p.elapsed, p.command])]));
  },
});

export const logsCommand = defineCommand({
  name: 'logs',
  usage: 'logs HOST/CONTAINER [--tail N]',
  summary: 'The last lines a container wrote (podman logs)',
  options: { tail: { type: 'string', value: 'N', help: `how many lines (default ${defaultLogLines})` } },
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const text = stringOption(values, 'tail');
    const lines = text === undefined ? defaultLogLines : Number(text);
    if (!Number.isInteger(lines) || lines < 1) throw new SnapdebugError(`--tail ${text} is not a number of lines.`);
    return { ...containerArgument(positionals[0]!), lines };
  },
  async run({ core, out, signal }, { host, container, lines }) {
    const text = await containerLogs(core, host, container, lines, signal);
    out.result({ host, container, logs: text }, () => text.replace(/\n$/, ''));
  },
});

export const doctorCommand = defineCommand({
  name: 'doctor',
  usage: 'doctor HOST [--peer HOST]',
  summary: 'Check that a host can checkpoint, and that a peer can restore what it takes',
  options: { peer: { type: 'string', value: 'HOST', help: 'also check this host, and CPU compatibility from HOST to it' } },
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const peer = stringOption(values, 'peer');
    return { host: hostArgument(positionals[0]!), peer: peer === undefined ? undefined : hostArgument(peer) };
  },
  async run({ core, out }, { host, peer }) {
    const report = await doctor(core, host, peer);
    const mark = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };
    // Fixes are worded for the terminal in JSON too: the flags that carry them out.
    const checks = report.checks.map((c) => ({ ...c, ...(c.fix && { fix: cliFixWording(c.fix) }) }));
    out.result({ ...report, checks }, () =>
      checks
        .map((c) => `${mark[c.level]}  ${c.name}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}`)
        .concat(report.ok ? `${report.host}${report.peer ? ` and ${report.peer}` : ''}: ready` : 'not ready: see the failures above')
        .join('\n'),
    );
    return report.ok ? 0 : 1;
  },
});
