// Snapshot & Debug from a terminal: `debug` prints one JSON line as soon as a debugger can attach
// (with --json) and keeps the tunnel open until SIGINT/SIGTERM; `attach` does the same for a copy
// that already exists. The copy stays until `snapdebug discard HOST/COPY`.
import { SnapdebugError, attachToCopy, describeEgress, findCopy, formatBytes, formatEgress, parseEgressList, runtimes, shellJoin, snapshotAndDebug, terminalClient, type AllowedEgress, type BackgroundStore, type Runtime } from '../../core';
import { containerArgument, defineCommand, flag, hostArgument, listOption, required, stringOption, type CliContext, type OptionSpec, type OptionValues } from '../context';

function runtimeOption(values: OptionValues): Runtime | undefined {
  const runtime = stringOption(values, 'runtime');
  if (runtime !== undefined && !runtimes.includes(runtime as Runtime)) {
    throw new SnapdebugError(`--runtime ${runtime} is not a runtime: use ${runtimes.join(', ')}.`);
  }
  return runtime as Runtime | undefined;
}

function localPortOption(values: OptionValues): number | undefined {
  const text = stringOption(values, 'local-port');
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new SnapdebugError(`--local-port ${text} is not a port number.`);
  return port;
}

/** --runtime and --local-port, checked. */
function attachChoices(values: OptionValues): { runtime?: Runtime; localPort?: number } {
  const runtime = runtimeOption(values);
  const localPort = localPortOption(values);
  return { ...(runtime && { runtime }), ...(localPort !== undefined && { localPort }) };
}

/** The fence options, shared with `restore`: --allow-egress HOST:PORT (repeatable), --allow-all-egress. */
export const egressOptions: Record<string, OptionSpec> = {
  'allow-egress': { type: 'string', multiple: true, value: 'HOST:PORT', help: 'let the fenced copy reach this host and TCP port (repeatable)' },
  'allow-all-egress': { type: 'boolean', help: 'do not fence the copy: it reaches whatever its host reaches' },
};

/** The HOST:PORT pairs, checked, each once; refused together with --allow-all-egress. */
export function egressChoices(values: OptionValues): { allowEgress: string[]; allowAllEgress: boolean } {
  const allowEgress = parseEgressList(listOption(values, 'allow-egress')).map(formatEgress);
  const allowAllEgress = flag(values, 'allow-all-egress');
  if (allowAllEgress && allowEgress.length > 0) throw new SnapdebugError('--allow-egress opens a fence and --allow-all-egress leaves none: give one of them.');
  return { allowEgress, allowAllEgress };
}

/** One line on what the copy can reach. */
export function fenceLine(copy: string, fence: { allowed: AllowedEgress[] } | undefined): string {
  if (!fence) return `${copy} is not fenced: it reaches whatever its host reaches`;
  const allowed = fence.allowed.map(describeEgress);
  return `${copy} is fenced: it reaches nothing outside itself${allowed.length ? ` but ${allowed.join(', ')}` : ''}`;
}

/** Announces the attach point, then holds the tunnel until the process is told to stop. */
async function holdOpen(
  context: CliContext,
  line: { snapshot: string; host: string; container: string; runtime: Runtime; attach?: { address: string; port: number }; gdb?: string[]; fence?: { allowed: AllowedEgress[] } | null; storing?: boolean },
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
    if (line.fence !== undefined) process.stdout.write(`${fenceLine(line.container, line.fence ?? undefined)}\n`);
    if (line.storing) process.stdout.write(`${line.snapshot} went host to host: the store receives it now, from the source host\n`);
  }
  context.onStopSay(`closing the tunnel; ${line.container} stays on ${line.host} until \`snapdebug discard ${line.host}/${line.container}\``);
  if (line.attach || ports.length > 0) await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  await close();
}

const attachOptions: Record<string, OptionSpec> = {
  runtime: { type: 'string', value: runtimes.join('|'), help: "the debugger to attach (default: detected from the copy's processes)" },
  'local-port': { type: 'string', value: 'PORT', help: 'local port for the debugger tunnel (default: any free port)' },
};

export const debugCommand = defineCommand({
  name: 'debug',
  usage: 'debug HOST/CONTAINER --to HOST',
  summary: 'Snapshot & Debug: checkpoint (it keeps running), restore a copy on the debug host, attach',
  options: {
    to: { type: 'string', value: 'HOST', help: 'the debug host for the copy' },
    'transfer-image': { type: 'boolean', help: 'copy the image if the debug host lacks it' },
    'copy-only': { type: 'boolean', help: 'restore the copy without attaching a debugger (a JVM without a JDWP agent)' },
    'through-here': { type: 'boolean', help: 'send the archive through this machine even when the debug host reaches the source host' },
    ...egressOptions,
    ...attachOptions,
  },
  positionals: [1, 1],
  parse: ({ positionals, values }) => {
    const { host, container } = containerArgument(positionals[0]!);
    const to = hostArgument(required(values, 'to', 'the debug host for the copy'));
    if (to === host) throw new SnapdebugError(`--to ${to} is the production host: the copy needs a host of its own.`);
    const { allowEgress, allowAllEgress } = egressChoices(values);
    return {
      host,
      container,
      to,
      ...attachChoices(values),
      ...(flag(values, 'transfer-image') && { transferImage: true }),
      ...(flag(values, 'through-here') && { throughHere: true }),
      ...(flag(values, 'copy-only') && { copyOnly: true }),
      ...(allowAllEgress ? { allowAllEgress } : { allowEgress }),
    };
  },
  async run(context, request) {
    const { core, out, signal } = context;
    const session = await snapshotAndDebug(core, request, { signal, progress: (e) => out.progress(e) });
    // Host to host, the store receives the snapshot while the debugger is attached. Its own
    // signal: Ctrl-C closes the tunnel and waits for the store; a second Ctrl-C quits, and the
    // source host removes its archive by itself (its watchdog).
    const storing = session.storing;
    let storePending = storing !== undefined;
    const stored = storing && storeFollowed(context, storing).finally(() => (storePending = false));
    await holdOpen(
      context,
      {
        snapshot: session.snapshot.id,
        host: request.to,
        container: session.copy.name,
        runtime: session.target.runtime,
        ...(session.attach && { attach: session.attach }),
        ...(session.gdb && { gdb: session.gdb }),
        fence: session.copy.fence ?? null,
        ...(storing && { storing: true }),
      },
      session.close,
      session.ports,
    );
    if (stored && storePending) {
      out.info(`waiting for the store to receive ${storing.id} (Ctrl-C again quits; ${request.host} then removes its archive by itself)`);
      await stored;
    }
  },
});

/** The store's copy arriving after the attach, with its progress: a line when it is in, or why it is not. */
async function storeFollowed(context: CliContext, storing: BackgroundStore): Promise<void> {
  const { out } = context;
  try {
    const meta = await storing.follow({ progress: (e) => out.progress(e) });
    out.done();
    out.info(`${meta.id} is in the store (${formatBytes(meta.size)}, sha256 verified)`);
  } catch (error) {
    out.info(`${storing.id} did not reach the store: ${(error as Error).message}`);
  }
}

export const attachCommand = defineCommand({
  name: 'attach',
  usage: 'attach HOST/COPY',
  summary: 'Attach a debugger to a copy that already runs (tunnel held until Ctrl-C)',
  options: attachOptions,
  positionals: [1, 1],
  parse: ({ positionals, values }) => ({ ...containerArgument(positionals[0]!), ...attachChoices(values) }),
  async run(context, request) {
    const { core, out, signal } = context;
    const attached = await attachToCopy(core, request, { signal, progress: (e) => out.progress(e) });
    const snapshot = (await findCopy(core, request.host, request.container, signal))?.snapshot ?? '';
    await holdOpen(
      context,
      { snapshot, host: request.host, container: request.container, runtime: attached.target.runtime, ...(attached.attach && { attach: attached.attach }), ...(attached.gdb && { gdb: attached.gdb }) },
      attached.close,
    );
  },
});
