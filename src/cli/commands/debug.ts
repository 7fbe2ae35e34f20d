// Snapshot & Debug from a terminal: `debug` prints one JSON line as soon as a debugger can attach
// (with --json) and keeps the tunnel open until SIGINT/SIGTERM; `attach` does the same for a copy
// that already exists. The copy stays until `snapdebug discard HOST/COPY`.
import { runtimes, terminalClient, type Runtime } from '../../core';
import { attachToCopy, snapshotAndDebug } from '../../core/debug/session';
import { podman } from '../../core/podman/commands';
import { parseContainerAddress } from '../../core/podman/names';
import { originLabel } from '../../core/snapshot/restore';
import { SnapdebugError } from '../../core/util/errors';
import { shellJoin } from '../../core/util/quote';
import { flag, stringOption, type CliContext, type CliCommand, type OptionValues } from '../context';

function runtimeOption(values: OptionValues): Runtime | undefined {
  const runtime = stringOption(values, 'runtime');
  if (runtime !== undefined && !runtimes.includes(runtime as Runtime)) {
    throw new SnapdebugError(`--runtime ${runtime}: use ${runtimes.join(', ')}.`);
  }
  return runtime as Runtime | undefined;
}

function localPortOption(values: OptionValues): number | undefined {
  const text = stringOption(values, 'local-port');
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SnapdebugError(`--local-port ${text} is not a port number.`);
  return port;
}

/** Announces the attach point, then holds the tunnel until the process is told to stop. */
async function holdOpen(
  context: CliContext,
  line: { snapshot: string; host: string; container: string; runtime: Runtime; attach?: { address: string; port: number }; gdb?: string[] },
  close: () => Promise<void>,
  ports: ReadonlyArray<{ port: string; local: number }> = [],
): Promise<void> {
  const { out, signal } = context;
  if (out.json) {
    const { gdb, ...rest } = line;
    process.stdout.write(JSON.stringify({ ...rest, ...(gdb && { gdb: shellJoin(gdb) }) }) + '\n');
  } else {
    out.done();
    if (line.attach) {
      process.stdout.write(`${line.runtime} debugger of ${line.host}/${line.container} at ${line.attach.address}:${line.attach.port} (Ctrl-C closes the tunnel; the copy stays)\n`);
      const client = terminalClient(line.runtime, line.attach);
      if (client) process.stdout.write(`connect from a terminal: ${client}\n`);
    } else if (line.gdb) {
      process.stdout.write(`run gdb on ${line.host}: ${shellJoin(line.gdb)}\n`);
    } else {
      const copy = `${line.host}/${line.container}`;
      process.stdout.write(`${copy} runs without a debugger${line.runtime === 'java' ? `; dumps: snapdebug threads ${copy}, snapdebug heap ${copy}` : ''}\n`);
    }
    for (const forwarded of ports) process.stdout.write(`the copy's ${forwarded.port} at 127.0.0.1:${forwarded.local}\n`);
  }
  context.onStopSay(`closing the tunnel; ${line.container} stays on ${line.host} until \`snapdebug discard ${line.host}/${line.container}\``);
  if (line.attach || ports.length > 0) await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  await close();
}

const attachOptions: CliCommand['options'] = {
  runtime: { type: 'string', help: `${runtimes.join(', ')} (default: detected from the copy's processes)` },
  'local-port': { type: 'string', help: 'local port for the debugger tunnel (default: any free port)' },
};

export const debugCommand: CliCommand = {
  name: 'debug',
  usage: 'debug HOST/CONTAINER --to HOST',
  summary: 'Snapshot & Debug: checkpoint (it keeps running), restore a copy on the debug host, attach',
  options: {
    to: { type: 'string', help: 'the debug host for the copy' },
    'transfer-image': { type: 'boolean', help: 'copy the image if the debug host lacks it' },
    'copy-only': { type: 'boolean', help: 'restore the copy without attaching a debugger (a JVM without a JDWP agent)' },
    ...attachOptions,
  },
  positionals: [1, 1],
  async run(context) {
    const { core, out, positionals, values, signal } = context;
    const { host, container } = parseContainerAddress(positionals[0]!);
    const to = stringOption(values, 'to');
    if (!to) throw new SnapdebugError('debug needs --to HOST: the debug host for the copy.');
    const runtime = runtimeOption(values);
    const localPort = localPortOption(values);
    const session = await snapshotAndDebug(
      core,
      { host, container, to, ...(runtime && { runtime }), ...(localPort !== undefined && { localPort }), ...(flag(values, 'transfer-image') && { transferImage: true }), ...(flag(values, 'copy-only') && { copyOnly: true }) },
      { signal, progress: (e) => out.progress(e) },
    );
    await holdOpen(
      context,
      { snapshot: session.snapshot.id, host: to, container: session.copy.name, runtime: session.target.runtime, ...(session.attach && { attach: session.attach }), ...(session.gdb && { gdb: session.gdb }) },
      session.close,
      session.ports,
    );
  },
};

export const attachCommand: CliCommand = {
  name: 'attach',
  usage: 'attach HOST/COPY',
  summary: 'Attach a debugger to a copy that already runs (tunnel held until Ctrl-C)',
  options: attachOptions,
  positionals: [1, 1],
  async run(context) {
    const { core, out, positionals, values, signal } = context;
    const { host, container } = parseContainerAddress(positionals[0]!);
    const runtime = runtimeOption(values);
    const localPort = localPortOption(values);
    const attached = await attachToCopy(core, { host, container, ...(runtime && { runtime }), ...(localPort !== undefined && { localPort }) }, { signal, progress: (e) => out.progress(e) });
    const [copy] = await core.hosts.get(host).podman(podman.inspect([container]));
    const snapshot = copy?.Config.Labels[originLabel] ?? '';
    await holdOpen(context, { snapshot, host, container, runtime: attached.target.runtime, ...(attached.attach && { attach: attached.attach }), ...(attached.gdb && { gdb: attached.gdb }) }, attached.close);
  },
};
