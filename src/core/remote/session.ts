// One client's session on one host: a long-lived "keeper" channel that sweeps what dead runs
// left, creates the session's folder, starts a watchdog there and then receives our heartbeats.
// When this process dies, the link drops or the channel closes, the heartbeats stop; the
// host's watchdog then undoes every work of the session that never finished (shellLib.ts). After a
// reconnect within the lease, a new keeper adopts the same folder, so transfers can resume.
import type { Host } from '../host';
import type { StreamProcess } from '../ssh/runner';
import { SnapdebugError } from '../util/errors';
import { keeperScript, marker, watchdogScript, workPrefix } from './shellLib';
import { beginWorkScript, folderName, RemoteWork } from './work';

export interface SessionSettings {
  /** Where session folders live on hosts (validated, absolute). */
  remoteTempDir: string;
  /** A session whose heartbeats stopped this long ago is gone: its unfinished work is undone. */
  leaseTtlSeconds: number;
  heartbeatIntervalMs: number;
}

export const defaultSessionSettings: Pick<SessionSettings, 'leaseTtlSeconds' | 'heartbeatIntervalMs'> = {
  // With the watchdog's own cleanup (waiting for CRIU, ending podman) this keeps "podman answers
  // and nothing of the work is left" within 30 s of a drop, and leaves a link that comes back
  // within the lease the chance to resume.
  leaseTtlSeconds: 15,
  heartbeatIntervalMs: 3000,
};

/** The host removed the session's unfinished work (the link was down longer than the lease). */
export class SessionLostError extends SnapdebugError {}

export class HostSession {
  private keeper: StreamProcess | undefined;
  private folder: string | undefined;
  private opening: Promise<string> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Counts sessions opened afresh: a work belongs to the generation it was begun in. */
  generation = 0;
  /** What the sweep removed when this session opened (leftovers of earlier, dead runs). */
  swept: string[] = [];

  constructor(
    private readonly host: Host,
    readonly settings: SessionSettings,
    private readonly log: (line: string) => void,
  ) {}

  /** The session's folder on the host, opening the session or adopting it after a reconnect. */
  async dir(signal?: AbortSignal): Promise<string> {
    if (this.disposed) throw new SnapdebugError(`The session on ${this.host.name} was closed.`);
    if (this.keeper && this.folder) return this.folder;
    this.opening ??= this.open(signal).finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** Whether the keeper's channel is open (false after a dropped link, until the next use adopts the session). */
  get kept(): boolean {
    return this.keeper !== undefined;
  }

  /** Starts a piece of work whose files and side effects the host undoes if it never finishes. */
  async begin(purpose: string, signal?: AbortSignal): Promise<RemoteWork> {
    for (let attempt = 0; ; attempt++) {
      const dir = await this.dir(signal);
      const name = folderName(workPrefix, 8);
      const result = await this.host.runIdempotent(this.host.script(beginWorkScript, [dir, name, purpose.replace(/[^\x20-\x7e]/g, '?')], 'snapdebug-begin'), signal ? { signal } : {});
      const path = result.stdout.trim();
      if (result.exitCode === 0 && path.startsWith(`${dir}/`)) return new RemoteWork(this.host, this, path, this.generation);
      // The session ended under us (its watchdog or a sweep got there first): open a new one.
      if (result.exitCode === 3 && attempt === 0) {
        this.forgetKeeper(true);
        continue;
      }
      throw new SnapdebugError(`Cannot start work on ${this.host.name}: ${result.stderr.trim() || `exit ${result.exitCode ?? 'none'}`}.`);
    }
  }

  /** Whether work begun in `generation` can still be continued (its folder was adopted, not swept). */
  async stillHolds(generation: number, signal?: AbortSignal): Promise<boolean> {
    await this.dir(signal).catch(() => undefined);
    return generation === this.generation && this.keeper !== undefined;
  }

  dispose(): void {
    this.disposed = true;
    // Ending the keeper's input marks the session ended: the watchdog undoes what is unfinished.
    this.keeper?.stdin.end();
    this.forgetKeeper(false);
  }

  private async open(signal?: AbortSignal, attempt = 1): Promise<string> {
    const adopt = this.folder ?? '';
    const argv = this.host.script(keeperScript, [this.settings.remoteTempDir, String(this.settings.leaseTtlSeconds), adopt, watchdogScript], 'snapdebug-keeper');
    const keeper = await this.host.runner.start(argv, signal ? { signal } : {});
    const reply = await firstLines(keeper, (line) => line.startsWith(marker.session) || line.startsWith(marker.sessionGone) || line.startsWith(marker.error));
    keeper.stdout.resume(); // nothing more comes; never let it hold the channel's window
    for (const line of reply.before) {
      if (!line.startsWith(marker.swept)) continue;
      const what = line.slice(marker.swept.length + 1);
      this.swept.push(what);
      this.log(`sweep on ${this.host.name}: removed ${what}`);
    }
    const last = reply.line;
    if (last?.startsWith(marker.session)) {
      const folder = last.slice(marker.session.length + 1).trim();
      if (!adopt) this.generation++;
      else this.log(`session on ${this.host.name}: adopted ${folder} again after the connection dropped`);
      this.keeper = keeper;
      this.folder = folder;
      this.startHeartbeat(keeper);
      return folder;
    }
    keeper.close();
    // A channel that closed before the keeper said anything (seen rarely under load): ask again.
    if (last === undefined && attempt < 3 && !signal?.aborted) return this.open(signal, attempt + 1);
    if (last?.startsWith(marker.sessionGone)) {
      // The host already undid that session's work: start a fresh one; works of the old one are lost.
      this.log(`session on ${this.host.name}: ${adopt} was cleaned up by the host while the link was down`);
      this.folder = undefined;
      return this.open(signal);
    }
    const why = last?.startsWith(marker.error) ? last.slice(marker.error.length + 1) : `${keeper.stderrText().trim() || 'no answer'}`;
    throw new SnapdebugError(`Cannot open a session on ${this.host.name}: ${why}.`, {
      fix: { text: 'The temporary folder must exist on the host and be private or sticky, or choose another.', options: [{ name: 'remoteTempDir' }] },
    });
  }

  private startHeartbeat(keeper: StreamProcess): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (!keeper.stdin.writableEnded) keeper.stdin.write('\n');
    }, this.settings.heartbeatIntervalMs);
    this.heartbeat.unref();
    keeper.stdin.on('error', () => undefined);
    void keeper.exit.then(() => {
      if (this.keeper === keeper) this.forgetKeeper(false);
    });
  }

  /** The keeper is gone (link dropped, or ended); `fresh` also forgets the folder. */
  private forgetKeeper(fresh: boolean): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.keeper?.close();
    this.keeper = undefined;
    if (fresh) this.folder = undefined;
  }
}

/** Reads stdout lines until one satisfies `done` (or the output ends). */
async function firstLines(process: StreamProcess, done: (line: string) => boolean): Promise<{ before: string[]; line: string | undefined }> {
  const before: string[] = [];
  let buffered = '';
  return new Promise((resolve) => {
    const finish = (line: string | undefined) => {
      process.stdout.off('data', onData);
      process.stdout.off('end', onEnd);
      resolve({ before, line });
    };
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (done(line)) return finish(line);
        before.push(line);
      }
    };
    const onEnd = () => finish(buffered || undefined);
    process.stdout.on('data', onData);
    process.stdout.on('end', onEnd);
  });
}
