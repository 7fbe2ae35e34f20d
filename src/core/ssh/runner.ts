// How to run a command on a host, separate from what to run: a Runner takes an argv and runs it
// over the pooled SSH connection (quoted by shellJoin, the one quoting function) or on this
// machine (execa, no shell at all), so `local` is a host like any other.
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { execa } from 'execa';
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
      const stderr = killable ? stripPidLine(stderrText()) : stderrText();
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

export class LocalRunner implements Runner {
  readonly label = 'local';

  constructor(private readonly log: CommandLogger = () => undefined) {}

  drops(): number {
    return 0; // no link to drop
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const started = Date.now();
    const [file, ...args] = argv;
    const result = await execa(file!, args, {
      reject: false,
      stripFinalNewline: false,
      ...(options.signal && { cancelSignal: options.signal }),
      ...(options.stdin !== undefined ? { input: options.stdin } : { stdin: 'ignore' as const }),
    });
    if (options.signal?.aborted) throw new AbortError();
    const exitCode = result.exitCode ?? null;
    this.log({ host: this.label, command: shellJoin(argv), durationMs: Date.now() - started, exitCode });
    return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode };
  }

  async start(argv: readonly string[], options: { signal?: AbortSignal } = {}): Promise<StreamProcess> {
    const started = Date.now();
    const [file, ...args] = argv;
    const child = execa(file!, args, {
      reject: false,
      buffer: false,
      stdin: 'pipe',
      ...(options.signal && { cancelSignal: options.signal }),
    });
    const stdout = child.stdout ?? new PassThrough();
    const stderrText = collectBounded(child.stderr!);
    const exit = child.then((r) => {
      const code = r.exitCode ?? null;
      this.log({ host: this.label, command: shellJoin(argv), durationMs: Date.now() - started, exitCode: code });
      return code;
    });
    return { stdout, stdin: child.stdin!, stderrText, exit, close: () => child.kill('SIGTERM') };
  }
}
