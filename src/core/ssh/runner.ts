// How to run a command on a host, separate from what to run: a Runner takes an argv and runs it
// over the pooled SSH connection (quoted by shellJoin, the one quoting function) or on this
// machine (node:child_process, no shell at all), so `local` is a host like any other.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { AbortError } from '../util/abort';
import { shellJoin } from '../util/quote';
import type { SshConnection } from './connection';

export interface RunOptions {
  signal?: AbortSignal;
  stdin?: string | Buffer;
  /** Ends the remote process (not just our channel) when the signal aborts. */
  killOnAbort?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/** A running command whose output is consumed as a stream (archives, tunnels). */
export interface StreamProcess {
  stdout: Readable;
  stdin: Writable;
  /** stderr collected so far (bounded), for error messages. */
  stderrText(): string;
  exit: Promise<number | null>;
  close(): void;
}

export interface CommandLogEntry {
  host: string;
  command: string;
  durationMs: number;
  exitCode: number | null;
}

export interface Runner {
  readonly label: string;
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  start(argv: readonly string[], options?: { signal?: AbortSignal }): Promise<StreamProcess>;
  /** How often the link to the host dropped so far: a failure that came with a drop may be resumed. */
  drops(): number;
  /** The host key verified when connecting (undefined before a connection, or for a local runner). */
  hostKey?(): Buffer | undefined;
}

export type CommandLogger = (entry: CommandLogEntry) => void;

const stderrLimitBytes = 64 * 1024;
const pidMarker = 'snapdebug-pid ';

function collectBounded(stream: Readable): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (text.length > stderrLimitBytes) text = text.slice(-stderrLimitBytes);
  });
  return () => text;
}

function stripPidLine(stderr: string): string {
  return stderr.split('\n').filter((l) => !l.startsWith(pidMarker)).join('\n');
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

export class SshRunner implements Runner {
  constructor(
    readonly label: string,
    private readonly connection: SshConnection,
    private readonly log: CommandLogger = () => undefined,
  ) {}

  drops(): number {
    return this.connection.drops;
  }

  hostKey(): Buffer | undefined {
    return this.connection.verifiedHostKey;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const started = Date.now();
    // To end the remote process on cancel we need its PID: the shell prints it, then execs.
    const killable = options.killOnAbort === true && options.signal !== undefined;
    const line = killable ? shellJoin(['sh', '-c', `echo "${pidMarker}$$" >&2; exec "$@"`, 'sh', ...argv]) : shellJoin(argv);
    const handle = await this.connection.exec(line, options.signal);
    const stderrText = collectBounded(handle.stderr);
    const onAbort = () => {
      if (killable) void this.killRemote(stderrText());
      handle.close();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      handle.stdin.end(options.stdin);
      const [stdout, exitCode] = await Promise.all([readAll(handle.stdout), handle.exit]);
      if (options.signal?.aborted) throw new AbortError();
      const text = killable ? stripPidLine(stderrText()) : stderrText();
      const stderr = exitCode === null ? `${text}${text && !text.endsWith('\n') ? '\n' : ''}${handle.whyNoExit()}\n` : text;
      this.log({ host: this.label, command: shellJoin(argv), durationMs: Date.now() - started, exitCode });
      return { stdout, stderr, exitCode };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async killRemote(stderr: string): Promise<void> {
    const pid = new RegExp(`${pidMarker}(\\d+)`).exec(stderr)?.[1];
    if (!pid || pid === '0' || pid === '1') return;
    const handle = await this.connection.exec(shellJoin(['kill', '-TERM', pid])).catch(() => undefined);
    handle?.stdin.end();
    handle?.stdout.resume();
    handle?.stderr.resume();
  }

  async start(argv: readonly string[], options: { signal?: AbortSignal } = {}): Promise<StreamProcess> {
    const started = Date.now();
    const command = shellJoin(argv);
    const handle = await this.connection.exec(command, options.signal);
    const stderrText = collectBounded(handle.stderr);
    const exit = handle.exit.then((code) => {
      this.log({ host: this.label, command, durationMs: Date.now() - started, exitCode: code });
      return code;
    });
    return { stdout: handle.stdout, stdin: handle.stdin, stderrText, exit, close: () => handle.close() };
  }
}

/**
 * Runs a local program (the `local` host) with node:child_process: argv as given, no shell at all.
 * A program that cannot be started answers like a shell would (126, 127) instead of throwing.
 */
export class LocalRunner implements Runner {
  readonly label = 'local';

  constructor(private readonly log: CommandLogger = () => undefined) {}

  drops(): number {
    return 0; // no link to drop
  }

  private spawn(argv: readonly string[], stdin: 'pipe' | 'ignore', signal: AbortSignal | undefined): { child: ChildProcess; exit: Promise<number | null>; spawnError: () => string } {
    const [file, ...args] = argv;
    const child = spawn(file!, args, { stdio: [stdin, 'pipe', 'pipe'] });
    let failure = '';
    const exit = new Promise<number | null>((resolve) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        failure = `${file}: ${error.code === 'ENOENT' ? 'command not found' : error.message}\n`;
        if (child.pid === undefined) resolve(error.code === 'ENOENT' ? 127 : 126);
      });
      child.once('close', (code) => resolve(code));
    });
    // Our side of stdin may close early (the program exits without reading it): not an error here.
    child.stdin?.on('error', () => undefined);
    const kill = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', kill, { once: true });
    void exit.then(() => signal?.removeEventListener('abort', kill));
    return { child, exit, spawnError: () => failure };
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const started = Date.now();
    const { child, exit, spawnError } = this.spawn(argv, options.stdin !== undefined ? 'pipe' : 'ignore', options.signal);
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    const [stdout, stderr, exitCode] = await Promise.all([readAll(child.stdout!), readAll(child.stderr!), exit]);
    if (options.signal?.aborted) throw new AbortError();
    this.log({ host: this.label, command: shellJoin(argv), durationMs: Date.now() - started, exitCode });
    return { stdout, stderr: `${stderr}${spawnError()}`, exitCode };
  }

  async start(argv: readonly string[], options: { signal?: AbortSignal } = {}): Promise<StreamProcess> {
    const started = Date.now();
    const { child, exit: exited, spawnError } = this.spawn(argv, 'pipe', options.signal);
    const stderrText = collectBounded(child.stderr!);
    const exit = exited.then((code) => {
      this.log({ host: this.label, command: shellJoin(argv), durationMs: Date.now() - started, exitCode: code });
      return code;
    });
    return { stdout: child.stdout!, stdin: child.stdin!, stderrText: () => `${stderrText()}${spawnError()}`, exit, close: () => void child.kill('SIGTERM') };
  }
}
