// `snapdebug`: the core behind a terminal (the entry point is main.ts). Exit 0 only on success, 1 on failure, 2 on a usage
// error, 130 when cancelled with Ctrl-C (after cleaning up on every host). Errors are one sentence
// on stderr, then what to do and podman's or CRIU's own words.
import { parseArgs } from 'node:util';
import { createCore, type CheckpointTransport } from '../core/core';
import { isAbortError } from '../core/util/abort';
import { describeError } from '../core/util/errors';
import type { CliCommand, OptionSpec } from './context';
import { heapCommand, profileCommand, threadsCommand } from './commands/captures';
import { copiesCommand, discardCommand } from './commands/copies';
import { attachCommand, debugCommand } from './commands/debug';
import { doctorCommand, hostsCommand, psCommand, topCommand } from './commands/hosts';
import { migrateCommand, restoreCommand } from './commands/restore';
import { checkpointCommand, pushCommand, rmCommand, snapshotsCommand } from './commands/snapshots';
import { createOutput } from './output';
import { terminalPrompts } from './prompts';

const version = '0.1.0';

export const commands: CliCommand[] = [
  hostsCommand,
  psCommand,
  topCommand,
  doctorCommand,
  checkpointCommand,
  snapshotsCommand,
  pushCommand,
  restoreCommand,
  migrateCommand,
  rmCommand,
  debugCommand,
  attachCommand,
  heapCommand,
  profileCommand,
  threadsCommand,
  copiesCommand,
  discardCommand,
];

const globalOptions: Record<string, OptionSpec> = {
  'ssh-config': { type: 'string', help: 'OpenSSH config file naming the hosts (default ~/.ssh/config)' },
  'known-hosts': { type: 'string', help: 'known_hosts file to verify host keys against (default: from the ssh config)' },
  'accept-new-host-key': { type: 'boolean', help: 'record unknown host keys, like StrictHostKeyChecking=accept-new' },
  store: { type: 'string', help: 'snapshot store folder (default ~/.local/share/snapdebug/snapshots)' },
  sudo: { type: 'boolean', help: 'run podman and CRIU through sudo -n on every host' },
  'remote-tmp': { type: 'string', help: 'folder on hosts for temporary archives (default /var/tmp)' },
  transport: { type: 'string', help: 'how checkpoints leave the host: stream (default) or file' },
  json: { type: 'boolean', help: 'print one JSON document on stdout and nothing else there' },
  verbose: { type: 'boolean', help: 'log every remote command on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

function optionHelp(options: Record<string, OptionSpec>): string {
  return Object.entries(options)
    .map(([name, spec]) => `  --${name}${spec.type === 'string' ? ' VALUE' : ''}`.padEnd(30) + spec.help)
    .join('\n');
}

function usage(command?: CliCommand): string {
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

export async function main(argv: string[]): Promise<number> {
  const at = commandIndex(argv);
  const name = at >= 0 ? argv[at] : argv.includes('--version') ? '--version' : argv.find((a) => a === '--help' || a === '-h');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write(version + '\n');
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`snapdebug: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv.slice(0, at), ...argv.slice(at + 1)], options: { ...globalOptions, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`snapdebug ${name}: ${(error as Error).message}\n\n${usage(command)}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage(command) + '\n');
    return 0;
  }
  const [min, max] = command.positionals;
  if (positionals.length < min || positionals.length > max) {
    process.stderr.write(`usage: snapdebug ${command.usage}\n`);
    return 2;
  }
  const transport = values.transport as string | undefined;
  if (transport !== undefined && transport !== 'stream' && transport !== 'file') {
    process.stderr.write('snapdebug: --transport is stream or file\n');
    return 2;
  }

  const out = createOutput({ json: values.json === true });
  const controller = new AbortController();
  let interrupted = false;
  let stopLine = 'cancelling: cleaning up on every host (Ctrl-C again to quit at once)';
  const onSignal = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: stop waiting for cleanup
    interrupted = true;
    out.info(stopLine);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const core = createCore({
    prompts: terminalPrompts,
    ...(typeof values['ssh-config'] === 'string' && { sshConfigFile: values['ssh-config'] }),
    ...(typeof values['known-hosts'] === 'string' && { knownHostsFile: values['known-hosts'] }),
    ...(values['accept-new-host-key'] === true && { acceptNewHostKeys: true }),
    ...(typeof values.store === 'string' && { storeDir: values.store }),
    hostOptions: () => ({ sudo: values.sudo === true }),
    settings: {
      ...(typeof values['remote-tmp'] === 'string' && { remoteTempDir: values['remote-tmp'] }),
      ...(transport !== undefined && { transport: transport as CheckpointTransport }),
    },
    log: (line) => {
      if (values.verbose) out.info(line);
    },
    ...(values.verbose === true && {
      commandLog: (e) => out.info(`[${e.host}] ${e.command} (${e.durationMs} ms, exit ${e.exitCode ?? 'none'})`),
    }),
  });
  try {
    const code = await command.run({ core, out, signal: controller.signal, values, positionals, onStopSay: (line) => (stopLine = line) });
    return code ?? 0;
  } catch (error) {
    out.done();
    if (isAbortError(error) || controller.signal.aborted) {
      process.stderr.write('cancelled\n');
      return 130;
    }
    // The detail carries podman's words and, after a CRIU failure, the tail of CRIU's log.
    process.stderr.write(`snapdebug ${name}: ${describeError(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    core.dispose();
  }
}
