// `snapdebug`: the core behind a terminal (the entry point is main.ts). Every argument is checked
// before any host is touched. Exit 0 only on success; 2 on a usage error, said in one line with
// where the help is; 1 on a failure, said as one sentence, the fix (with the flags that carry it
// out), then podman's or CRIU's own words; 130 when cancelled with Ctrl-C (after cleaning up on
// every host). With --json, stdout carries one JSON document: the result, or {"error", "fix"}.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createCore, describeError, isAbortError, redact, SnapdebugError, validateRemotePath, type CheckpointTransport, type Fix } from '../core';
import type { Arguments, CliCommand, OptionSpec, OptionValues } from './context';
import { copiesCommand, discardCommand } from './commands/copies';
import { attachCommand, debugCommand } from './commands/debug';
import { doctorCommand, hostsCommand, logsCommand, psCommand, topCommand } from './commands/hosts';
import { diffCommand, inspectCommand } from './commands/inspect';
import { coreCommand, memoryCommand } from './commands/memory';
import { migrateCommand, restoreCommand } from './commands/restore';
import { checkpointCommand, pushCommand, rmCommand, snapshotsCommand } from './commands/snapshots';
import { cliFixWording, fixFlags, remoteTempDefault } from './options';
import { createOutput } from './output';
import { terminalPrompts } from './prompts';

const version = '0.1.0';

export const commands: CliCommand[] = [
  hostsCommand,
  psCommand,
  topCommand,
  logsCommand,
  doctorCommand,
  checkpointCommand,
  snapshotsCommand,
  pushCommand,
  restoreCommand,
  migrateCommand,
  rmCommand,
  inspectCommand,
  memoryCommand,
  diffCommand,
  coreCommand,
  debugCommand,
  attachCommand,
  copiesCommand,
  discardCommand,
];

const transports: readonly CheckpointTransport[] = ['stream', 'file'];

export const globalOptions: Record<string, OptionSpec> = {
  'ssh-config': { type: 'string', value: 'FILE', help: 'OpenSSH config file naming the hosts (default ~/.ssh/config)' },
  'known-hosts': { type: 'string', value: 'FILE', help: 'known_hosts file to verify host keys against (default: from the ssh config)' },
  'accept-new-host-key': { type: 'boolean', help: 'record unknown host keys, like StrictHostKeyChecking=accept-new' },
  store: { type: 'string', value: 'DIR', help: 'snapshot store folder (default ~/.local/share/snapdebug/snapshots)' },
  sudo: { type: 'boolean', help: 'run podman and CRIU through sudo -n on every host' },
  'remote-tmp': { type: 'string', value: 'DIR', help: `folder on hosts for temporary archives (default ${remoteTempDefault})` },
  transport: { type: 'string', value: transports.join('|'), help: 'how checkpoints leave the host (default stream)' },
  json: { type: 'boolean', help: 'print one JSON document on stdout and nothing else there' },
  verbose: { type: 'boolean', help: 'log every remote command on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

function optionHelp(options: Record<string, OptionSpec>): string {
  return Object.entries(options)
    .map(([name, spec]) => `  --${spec.onByDefault ? '[no-]' : ''}${name}${spec.value ? ` ${spec.value}` : ''}`.padEnd(34) + spec.help)
    .join('\n');
}

export function usage(command?: CliCommand): string {
  if (command) return `usage: snapdebug ${command.usage}\n\n${command.summary}\n\n${optionHelp(command.options)}\n\nglobal options:\n${optionHelp(globalOptions)}`;
  return [
    `snapdebug ${version}: checkpoint Podman containers over SSH with CRIU, restore copies, attach debuggers`,
    '',
    'usage: snapdebug COMMAND [options]',
    '',
    ...commands.map((c) => `  ${c.usage.padEnd(52)} ${c.summary}`),
    '',
    'global options:',
    optionHelp(globalOptions),
  ].join('\n');
}

/** Index of the command word: global options may come before it (`snapdebug --json ps prod`). */
function commandIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) return i;
    const spec = globalOptions[arg.replace(/^--?/, '').split('=')[0]!];
    if (spec?.type === 'string' && !arg.includes('=')) i++; // skip its value
  }
  return -1;
}

export interface Globals {
  json: boolean;
  verbose: boolean;
  sudo: boolean;
  acceptNewHostKey: boolean;
  sshConfig?: string;
  knownHosts?: string;
  store?: string;
  remoteTmp?: string;
  transport?: CheckpointTransport;
}

function globalsFrom(values: OptionValues): Globals {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const transport = text('transport');
  if (transport !== undefined && !transports.includes(transport as CheckpointTransport)) throw new SnapdebugError(`--transport ${transport}: use ${transports.join(' or ')}.`);
  const remoteTmp = text('remote-tmp');
  if (remoteTmp !== undefined) validateRemotePath(remoteTmp);
  // A config named explicitly replaces ~/.ssh/config (as ssh -F): one that is not there is a mistake, not an empty config.
  const sshConfig = text('ssh-config');
  if (sshConfig !== undefined && !existsSync(sshConfig)) throw new SnapdebugError(`--ssh-config ${sshConfig}: no such file.`);
  return {
    json: values.json === true,
    verbose: values.verbose === true,
    sudo: values.sudo === true,
    acceptNewHostKey: values['accept-new-host-key'] === true,
    ...(text('ssh-config') !== undefined && { sshConfig: text('ssh-config') }),
    ...(text('known-hosts') !== undefined && { knownHosts: text('known-hosts') }),
    ...(text('store') !== undefined && { store: text('store') }),
    ...(remoteTmp !== undefined && { remoteTmp }),
    ...(transport !== undefined && { transport: transport as CheckpointTransport }),
  };
}

export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'usage-error'; command: string | undefined; message: string; fix: Fix | undefined; json: boolean }
  | { kind: 'run'; command: CliCommand; request: unknown; globals: Globals };

/** parseArgs' own words, shortened to one line. */
function argumentError(error: unknown): string {
  const e = error as Error & { code?: string };
  const option = /'(-[^']*)'/.exec(e.message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  return e.message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
}

/**
 * Reads a command line into the command and its checked request, or help, or a usage error.
 * Nothing here touches a host, the store or the network.
 */
export function parseInvocation(argv: string[]): Invocation {
  const json = argv.includes('--json');
  const usageError = (command: string | undefined, error: unknown): Invocation => ({
    kind: 'usage-error',
    command,
    message: error instanceof SnapdebugError ? error.message : argumentError(error),
    fix: error instanceof SnapdebugError ? error.fix : undefined,
    json,
  });
  const at = commandIndex(argv);
  if (at < 0) {
    if (argv.includes('--version')) return { kind: 'version' };
    if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help', text: usage() };
    return usageError(undefined, new SnapdebugError('no command given'));
  }
  const name = argv[at]!;
  if (name === 'help') return { kind: 'help', text: usage() };
  const command = commands.find((c) => c.name === name);
  if (!command) return usageError(undefined, new SnapdebugError(`unknown command "${name}"`));
  let parsed: Arguments;
  try {
    parsed = parseArgs({ args: [...argv.slice(0, at), ...argv.slice(at + 1)], options: { ...globalOptions, ...command.options }, allowPositionals: true, allowNegative: true, strict: true });
  } catch (error) {
    return usageError(name, error);
  }
  if (parsed.values.help) return { kind: 'help', text: usage(command) };
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    return usageError(name, new SnapdebugError(`${parsed.positionals.length < min ? 'missing' : 'too many'} arguments: snapdebug ${command.usage}`));
  }
  try {
    return { kind: 'run', command, globals: globalsFrom(parsed.values), request: command.parse(parsed) };
  } catch (error) {
    return usageError(name, error);
  }
}

/** The one line a usage error gets, ending with where the help is. */
export function usageLine(command: string | undefined, message: string, fix: Fix | undefined): string {
  const who = command ? `snapdebug ${command}` : 'snapdebug';
  const flags = fixFlags(fix).length > 0 ? ` (${fixFlags(fix).join(', ')})` : '';
  return redact(`${who}: ${message.replace(/\s*\n\s*/g, ' ').replace(/[.:]$/, '')}${flags}. See '${who} --help'.`);
}

/** With --json, an error is a document on stdout too: what failed and what to do about it (secrets masked, as on stderr). */
function jsonError(error: string, fix: Fix | undefined, detail?: string): string {
  return JSON.stringify({ error: redact(error), fix: fix ? redact(cliFixWording(fix)) : null, ...(detail && { detail: redact(detail) }) }, null, 2) + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const invocation = parseInvocation(argv);
  switch (invocation.kind) {
    case 'help':
      process.stdout.write(invocation.text + '\n');
      return 0;
    case 'version':
      process.stdout.write(version + '\n');
      return 0;
    case 'usage-error':
      process.stderr.write(usageLine(invocation.command, invocation.message, invocation.fix) + '\n');
      if (invocation.json) process.stdout.write(jsonError(invocation.message, invocation.fix));
      return 2;
    case 'run':
      return run(invocation.command, invocation.request, invocation.globals);
  }
}

async function run(command: CliCommand, request: unknown, globals: Globals): Promise<number> {
  const out = createOutput({ json: globals.json });
  const controller = new AbortController();
  let interrupted = false;
  let stopLine = 'cancelling: cleaning up on every host (Ctrl-C again to quit at once)';
  // A second Ctrl-C stops waiting for cleanup here: the hosts then undo the work by themselves
  // (their watchdogs see our sessions end). A closed terminal (SIGHUP) cancels like Ctrl-C.
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    out.info(stopLine);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const core = createCore({
    prompts: terminalPrompts,
    ...(globals.sshConfig !== undefined && { sshConfigFile: globals.sshConfig }),
    ...(globals.knownHosts !== undefined && { knownHostsFile: globals.knownHosts }),
    ...(globals.acceptNewHostKey && { acceptNewHostKeys: true }),
    ...(globals.store !== undefined && { storeDir: globals.store }),
    hostOptions: () => ({ sudo: globals.sudo }),
    settings: {
      ...(globals.remoteTmp !== undefined && { remoteTempDir: globals.remoteTmp }),
      ...(globals.transport !== undefined && { transport: globals.transport }),
    },
    log: (line) => {
      if (globals.verbose) out.info(line);
    },
    ...(globals.verbose && {
      commandLog: (e) => out.info(`[${e.host}] ${e.command} (${e.durationMs} ms, exit ${e.exitCode ?? 'none'})`),
    }),
  });
  try {
    const code = await command.run({ core, out, signal: controller.signal, onStopSay: (line) => (stopLine = line) }, request);
    return code ?? 0;
  } catch (error) {
    out.done();
    if (isAbortError(error) || controller.signal.aborted) {
      process.stderr.write('cancelled\n');
      if (globals.json) process.stdout.write(jsonError('cancelled', undefined));
      return 130;
    }
    // The detail carries podman's words and, after a CRIU failure, the tail of CRIU's log.
    process.stderr.write(`snapdebug ${command.name}: ${redact(describeError(error, cliFixWording))}\n`);
    if (globals.json) {
      const fix = error instanceof SnapdebugError ? error.fix : undefined;
      const detail = error instanceof SnapdebugError ? error.detail?.trimEnd() : undefined;
      process.stdout.write(jsonError(error instanceof Error ? error.message : String(error), fix, detail));
    }
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    core.dispose();
  }
}
