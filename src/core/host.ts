// A host: a name, a Runner that reaches it, and how to run privileged tools there (optional
// `sudo -n`, podman's cgroup-v1 warning silenced). It runs podman command builders, turns their
// failures into sentences, and learns once which checkpoint/restore flags its podman has.
import type { PodmanCommand } from './podman/commands';
import { podman } from './podman/commands';
import type { OptionInfo } from './podman/options';
import type { PodmanInfo } from './podman/schemas';
import type { HostSession } from './remote/session';
import type { RemoteWork } from './remote/work';
import type { RunOptions, RunResult, Runner, StreamProcess } from './ssh/runner';
import { sudoProgram, sudoRefusal, sudoRefused } from './sudo';
import { SnapdebugError, type Fix } from './util/errors';

export interface HostOptions {
  /** Prefix privileged commands with `sudo -n` (never prompts: a missing rule fails clearly). */
  sudo: boolean;
}

export interface HostCapabilities {
  podmanVersion: string;
  /** undefined when CRIU is not installed (or not on root's PATH). */
  criuVersion: string | undefined;
  info: PodmanInfo;
  checkpointFlags: Set<string>;
  restoreFlags: Set<string>;
}

export class PodmanError extends SnapdebugError {}

const cgroupWarning = /level=warning msg="Using cgroups-v1 which is deprecated/;

/** podman's stderr without its cgroup-v1 deprecation warning. */
export function cleanStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !cgroupWarning.test(line))
    .join('\n')
    .trim();
}

/** Long flags (--name) listed in a `podman ... --help` text. */
export function flagsFromHelp(help: string): Set<string> {
  return new Set([...help.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
}

export class Host {
  private capabilitiesPromise: Promise<HostCapabilities> | undefined;
  /** This client's session on the host (shared by every connection to it), set by the registry. */
  session: HostSession | undefined;

  constructor(
    readonly name: string,
    readonly runner: Runner,
    readonly options: HostOptions = { sudo: false },
  ) {}

  /**
   * argv for a privileged program on this host. Through sudo it is `sudo -n PROGRAM ...` and
   * nothing else (no `env`, no shell), so a sudo rule naming our few programs is enough.
   */
  privileged(argv: readonly string[]): string[] {
    return this.options.sudo ? ['sudo', '-n', ...argv] : ['env', 'PODMAN_IGNORE_CGROUPSV1_WARNING=1', ...argv];
  }

  /**
   * argv for one of our POSIX sh scripts (remote/shellLib.ts): it runs as the account we log in
   * as, and its first argument tells it whether to reach privileged programs through `sudo -n`.
   */
  script(body: string, args: readonly string[], name = 'snapdebug'): string[] {
    // The name is $0: what `ps` on the host shows for it.
    return ['sh', '-c', body, name, this.options.sudo ? 'sudo' : 'root', ...args];
  }

  /** Starts a piece of work the host undoes by itself should this client never finish it. */
  beginWork(purpose: string, signal?: AbortSignal): Promise<RemoteWork> {
    if (!this.session) throw new SnapdebugError(`${this.name} has no session to do remote work in.`);
    return this.session.begin(purpose, signal);
  }

  /**
   * Runs a command that is safe to run twice (it reads, or writes the same thing again): a channel
   * that closed without an exit status, seen rarely under load, is asked again.
   */
  async runIdempotent(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const result = await this.runner.run(argv, options);
    return result.exitCode === null && !options.signal?.aborted ? this.runner.run(argv, options) : result;
  }

  /**
   * Runs a podman command and parses its answer. `wrap` runs it inside a script of ours (given the
   * privileged argv): a checkpoint under its lock whose output a reader follows (hostToHost.ts).
   */
  async podman<T>(command: PodmanCommand<T>, options: RunOptions & { wrap?: (argv: string[]) => string[] } = {}): Promise<T> {
    const { wrap, ...runOptions } = options;
    const privileged = this.privileged(['podman', ...command.argv]);
    const argv = wrap ? wrap(privileged) : privileged;
    const result = command.readOnly ? await this.runIdempotent(argv, runOptions) : await this.runner.run(argv, runOptions);
    const stderr = cleanStderr(result.stderr);
    if (result.exitCode === 0) return command.parse(result.stdout);
    if (command.acceptExit?.(result.exitCode, stderr)) return false as T;
    throw await this.failure(command.argv, result.exitCode, stderr);
  }

  /**
   * The error for a failed podman command. When CRIU failed, its log on the host says why far
   * better than podman does: the tail of that log joins the detail, and the fix is read from it.
   */
  async failure(argv: readonly string[], exitCode: number | null, stderr: string): Promise<PodmanError> {
    if (this.options.sudo && sudoRefused.test(stderr)) {
      const refusal = await sudoRefusal(this, sudoProgram(this.privileged(['podman'])));
      return new PodmanError(refusal.message, { detail: stderr, ...(refusal.fix && { fix: refusal.fix }) });
    }
    const error = this.podmanError(argv, exitCode, stderr);
    if (!error.criuLog) return error;
    const tail = await this.tail(error.criuLog.path, 25).catch(() => undefined);
    if (!tail) return error;
    const fix = podmanFix(`${stderr}\n${tail}`);
    return new PodmanError(error.message, {
      detail: `${stderr}\n\nlast lines of ${error.criuLog.path} on ${this.name}:\n${tail.trimEnd()}`,
      criuLog: error.criuLog,
      ...(fix !== undefined && { fix }),
    });
  }

  /** Starts a podman command whose output is a stream (an archive, an image). */
  async startPodman(command: PodmanCommand<unknown>, options: { signal?: AbortSignal } = {}): Promise<StreamProcess> {
    return this.runner.start(this.privileged(['podman', ...command.argv]), options);
  }

  podmanError(argv: readonly string[], exitCode: number | null, stderr: string): PodmanError {
    const what = `podman ${subcommandOf(argv)}`;
    const criuLog = /log file: (\S+\.log)/.exec(stderr)?.[1];
    return new PodmanError(explainPodmanFailure(this.name, what, exitCode, stderr), {
      detail: stderr,
      ...(criuLog && { criuLog: { host: this.name, path: criuLog } }),
      ...(podmanFix(stderr) !== undefined && { fix: podmanFix(stderr) }),
    });
  }

  capabilities(): Promise<HostCapabilities> {
    this.capabilitiesPromise ??= (async () => {
      const [info, checkpointHelp, restoreHelp, criu] = await Promise.all([
        this.podman(podman.info()),
        this.podman(podman.checkpointHelp()),
        this.podman(podman.restoreHelp()),
        this.runIdempotent(this.privileged(['criu', '--version'])),
      ]);
      if (this.options.sudo && sudoRefused.test(criu.stderr)) throw await sudoRefusal(this, sudoProgram(this.privileged(['criu'])));
      return {
        podmanVersion: info.version.Version,
        criuVersion: /Version: (\S+)/.exec(criu.stdout)?.[1],
        info,
        checkpointFlags: flagsFromHelp(checkpointHelp),
        restoreFlags: flagsFromHelp(restoreHelp),
      };
    })().catch((error: unknown) => {
      this.capabilitiesPromise = undefined; // a failed probe is tried again next time
      throw error;
    });
    return this.capabilitiesPromise;
  }

  /** Refuses, in one sentence, any option this host's podman does not have. */
  async requireFlags(verb: 'checkpoint' | 'restore', options: OptionInfo[]): Promise<void> {
    const caps = await this.capabilities();
    const offered = verb === 'checkpoint' ? caps.checkpointFlags : caps.restoreFlags;
    const missing = options.filter((o) => !offered.has(o.flag));
    if (missing.length > 0) {
      const list = missing.map((o) => `“${o.label}” (podman ${o.since}+)`).join(', ');
      throw new SnapdebugError(`podman ${caps.podmanVersion} on ${this.name} has no ${verb} option ${list}.`, {
        fix: {
          text: `Update podman on ${this.name}, or leave ${missing.length === 1 ? 'that option' : 'those options'} out.`,
          options: missing.flatMap((o) => (o.name ? [{ name: o.name, value: 'false' }] : [])),
        },
      });
    }
  }

  /** The last lines of a text file on the host (CRIU logs), or undefined if unreadable. */
  async tail(path: string, lines = 20): Promise<string | undefined> {
    // `cat`, not `tail`: cat is among the few programs a sudo rule for snapdebug names.
    const result = await this.runner.run(this.privileged(['cat', path]));
    if (result.exitCode !== 0) return undefined;
    const all = result.stdout.split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines).join('\n') + '\n';
  }
}

/** `container checkpoint`, `rm`, …: the leading words before the first option. */
export function subcommandOf(argv: readonly string[]): string {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-') || words.length === 2) break;
    words.push(arg);
  }
  return words.join(' ');
}

function explainPodmanFailure(host: string, what: string, exitCode: number | null, stderr: string): string {
  const firstError = /Error: (.*)/.exec(stderr)?.[1]?.trim();
  if (/no such container|no container with name or ID/i.test(stderr)) return `There is no such container on ${host} (${firstError}).`;
  if (/is already in use|name .* is in use/i.test(stderr)) return `The name is already taken on ${host}: ${firstError}`;
  if (/sudo: a password is required|sudo: .*not allowed/i.test(stderr)) return `sudo on ${host} needs a password or does not allow podman.`;
  if (/criu failed|CRIU/i.test(stderr)) return `CRIU failed on ${host} during ${what}.`;
  if (/rootless/i.test(stderr) && /checkpoint/i.test(what)) return `${what} needs rootful podman on ${host}.`;
  if (/image not known|unable to find image|failed to find image|image .* not found/i.test(stderr)) {
    return `The container's image is not on ${host}.`;
  }
  return `${what} failed on ${host}${exitCode === null ? '' : ` (exit ${exitCode})`}${firstError ? `: ${firstError}` : '.'}`;
}

function podmanFix(stderr: string): Fix | undefined {
  if (/sudo: a password is required/i.test(stderr)) return { text: 'Allow passwordless sudo for podman on that host, or connect as root.' };
  if (/established TCP connection|tcp-established|Connected TCP socket/i.test(stderr)) {
    return { text: 'The process holds open TCP connections: checkpoint it with them (copies get them back closed).', options: [{ name: 'checkpoint.tcpEstablished' }] };
  }
  if (/rootless/i.test(stderr)) return { text: 'Checkpoints need rootful podman: connect as root, or run podman through sudo.', options: [{ name: 'sudo' }] };
  if (/multipathtcp=0|Unsupported proto 262/i.test(stderr)) {
    return { text: 'The Go program listens with MPTCP (Go 1.24+ does by default), which CRIU cannot dump: run it with GODEBUG=multipathtcp=0 in its environment.' };
  }
  if (/cpuinfo|CPU feature/i.test(stderr)) return { text: 'The CPUs differ: run the doctor on the source host with the target as its peer to compare them.' };
  if (/address already in use|port is already allocated/i.test(stderr)) {
    return { text: 'Another container holds that port there: publish on a free port.', options: [{ name: 'restore.publish' }] };
  }
  return undefined;
}
