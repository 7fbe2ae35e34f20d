// A Runner for bulk reads (pull's lanes): streams through OpenSSH's ssh program, one process and
// one connection per stream, with the host key ssh2 verified pinned (openssh.ts); short commands
// (stat, sha256sum) stay on the pooled ssh2 connection, which is open already.
import { spawn } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { Readable } from 'node:stream';
import { SnapdebugError } from '../util/errors';
import { shellJoin } from '../util/quote';
import type { SshConnection } from './connection';
import { isHostKeyRefusal, opensshArgv, opensshUnsuitable, PinnedKnownHosts } from './openssh';
import type { CommandLogger, RunOptions, RunResult, Runner, StreamProcess } from './runner';

const stderrLimitBytes = 16 * 1024;
/** ssh's exit status for its own failures (the link, the login): counted as a dropped link. */
const sshFailureExit = 255;

/** The size of the file behind a descriptor (-1 when it cannot be read). */
function sizeOf(fd: number): number {
  try {
    return fstatSync(fd).size;
  } catch {
    return -1;
  }
}

function collectBounded(stream: Readable): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-stderrLimitBytes);
  });
  return () => text;
}

/** What OpenSSH's ssh needs to reach one host: the program, the target, the pinned key. */
export interface OpenSshAccess {
  program: string;
  connection: SshConnection;
  pinned: PinnedKnownHosts;
  /** ssh has logged in with it once: from then on a failure of ssh's own is a dropped link. */
  confirmed?: boolean;
}

/** ssh could not log in where ssh2 did (a key with a passphrase and no agent, say): use ssh2 for bulk reads. */
export class OpenSshLoginRefused extends SnapdebugError {
  constructor(readonly reason: string) {
    super(`OpenSSH's ssh cannot log in without a prompt: ${reason}`);
  }
}

/** A host showing ssh another key than the one ssh2 verified: never fallen back from. */
function hostKeyRefused(alias: string, stderr: string): SnapdebugError {
  return new SnapdebugError(`${alias} showed OpenSSH's ssh another host key than the one verified moments ago over ssh2; refusing to go on.`, {
    detail: stderr,
    fix: 'Someone may be intercepting the connection: check the host key with the host\'s administrator.',
  });
}

/** A remote command whose output ssh writes straight into a file of ours: no byte passes through this thread. */
export interface FileStream {
  stderrText(): string;
  exit: Promise<number | null>;
  close(): void;
}

/** Starts `ssh … remoteArgv`; the caller reads stdout, or ssh writes it to the file descriptor `stdoutFd`. */
function startSsh(access: OpenSshAccess, remoteArgv: readonly string[], signal: AbortSignal | undefined, onFailureExit: () => void, stdoutFd?: number): StreamProcess {
  const [program, ...args] = opensshArgv(access.program, access.connection.target, access.pinned, remoteArgv);
  // BatchMode already forbids prompts; SSH_ASKPASS_REQUIRE=never makes sure no helper is started.
  const child = spawn(program!, args, { stdio: ['pipe', stdoutFd ?? 'pipe', 'pipe'], env: { ...process.env, SSH_ASKPASS_REQUIRE: 'never' } });
  const stderrText = collectBounded(child.stderr!);
  let closedByUs = false;
  let spawnFailure = '';
  const exit = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      spawnFailure = `${program}: ${error.message}\n`;
      if (child.pid === undefined) resolve(127);
    });
    child.once('close', (code) => {
      if (code === sshFailureExit && !closedByUs) onFailureExit();
      resolve(code);
    });
  });
  child.stdin!.on('error', () => undefined);
  const close = () => {
    closedByUs = true;
    child.kill('SIGTERM');
  };
  signal?.addEventListener('abort', close, { once: true });
  void exit.then(() => signal?.removeEventListener('abort', close));
  // With its output in a file, ssh has no stdout pipe: an empty stream stands in for it.
  return { stdout: child.stdout ?? Readable.from([]), stdin: child.stdin!, stderrText: () => `${stderrText()}${spawnFailure}`, exit, close };
}

/**
 * Logs in once with ssh (running `true`) to learn whether it can, without a prompt, where ssh2
 * could. Answers the reason when it cannot (a key with a passphrase and no agent, say); a host
 * that shows ssh another key than the one ssh2 verified is refused outright, never fallen back
 * from: that is what an interception looks like.
 */
export async function probeOpenSsh(access: OpenSshAccess, signal?: AbortSignal): Promise<string | undefined> {
  const probe = startSsh(access, ['true'], signal, () => undefined);
  probe.stdin.end();
  probe.stdout.resume();
  const code = await probe.exit;
  if (code === 0) {
    access.confirmed = true;
    return undefined;
  }
  const stderr = probe.stderrText().trim();
  if (isHostKeyRefusal(stderr)) throw hostKeyRefused(access.connection.target.alias, stderr);
  return stderr.split('\n').at(-1) || `ssh exited with ${code}`;
}

/** Pins the key of an open (verified) ssh2 connection, or says why ssh must not be used for it. */
export function pinVerifiedKey(connection: SshConnection): PinnedKnownHosts | string {
  const unsuitable = opensshUnsuitable(connection.target);
  if (unsuitable) return unsuitable;
  if (!connection.verifiedHostKey) return 'no host key has been verified for it yet';
  return new PinnedKnownHosts(connection.verifiedHostKey);
}

export class OpenSshRunner implements Runner {
  private failures = 0;

  constructor(
    readonly label: string,
    /** The host's ssh2 runner: short commands go there. */
    private readonly short: Runner,
    private readonly access: OpenSshAccess,
    private readonly log: CommandLogger = () => undefined,
  ) {}

  /** Drops of the ssh2 connection, plus ssh processes that ended in ssh's own failure (255) unasked. */
  drops(): number {
    return this.short.drops() + this.failures;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.short.run(argv, options);
  }

  async start(argv: readonly string[], options: { signal?: AbortSignal } = {}): Promise<StreamProcess> {
    if (!this.access.pinned.exists) throw new SnapdebugError(`The pinned host key for ${this.label} is gone (the core was disposed).`);
    const started = Date.now();
    const command = shellJoin(argv);
    const stream = startSsh(this.access, argv, options.signal, () => this.failures++);
    const exit = stream.exit.then((code) => {
      this.log({ host: `${this.label} (ssh)`, command, durationMs: Date.now() - started, exitCode: code });
      return code;
    });
    return { ...stream, exit };
  }

  /**
   * Starts `argv` with its output written by ssh itself to `fd` (opened for appending by the
   * caller): the bytes go from ssh's decryption to the file without a copy through Node.
   */
  startToFile(argv: readonly string[], fd: number, options: { signal?: AbortSignal } = {}): FileStream {
    if (!this.access.pinned.exists) throw new SnapdebugError(`The pinned host key for ${this.label} is gone (the core was disposed).`);
    const started = Date.now();
    const command = shellJoin(argv);
    const sizeBefore = sizeOf(fd);
    const stream = startSsh(this.access, argv, options.signal, () => this.failures++, fd);
    stream.stdin.end();
    const exit = stream.exit.then((code) => {
      this.log({ host: `${this.label} (ssh)`, command, durationMs: Date.now() - started, exitCode: code });
      // The first stream is also the first login (hosts.ts asks no probe for one stream): ssh's own
      // failure before any byte then means it cannot log in here, not that the link dropped.
      if (code === 0 || sizeOf(fd) > sizeBefore) this.access.confirmed = true;
      else if (code === sshFailureExit && !this.access.confirmed && !options.signal?.aborted) {
        const stderr = stream.stderrText().trim();
        if (isHostKeyRefusal(stderr)) throw hostKeyRefused(this.access.connection.target.alias, stderr);
        throw new OpenSshLoginRefused(stderr.split('\n').at(-1) || `ssh exited with ${code}`);
      }
      return code;
    });
    return { stderrText: stream.stderrText, exit, close: stream.close };
  }
}
