// One piece of remote work: a private folder inside the session's folder on a host, holding the
// work's temporary files, and an undo list the host replays if the work never finishes (the
// client died, the link dropped, or it failed). Each step that creates something on the host
// writes its undo line *before* it acts, so there is no moment when it could be forgotten.
import { randomBytes } from 'node:crypto';
import type { Host } from '../host';
import { validateFenceId } from '../fence/rules';
import { validateContainerRef, validateExecUser, validateImageRef, validateVolumeName } from '../podman/names';
import { SnapdebugError } from '../util/errors';
import type { HostSession } from './session';
import { abandonScript, keepPrefix, marker, prelude, sessionPrefix, workPrefix } from './shellLib';

/**
 * Arguments: sudo|root, session folder, the work's folder name (w.RANDOM, chosen by the client so
 * that asking again after a lost answer finds the same folder), purpose. Prints the folder.
 */
export const beginWorkScript = `${prelude}
s=$1 w=$1/$2
case $s in */${sessionPrefix}*) ;; *) exit 2 ;; esac
case $2 in ${workPrefix}[A-Za-z0-9]*) ;; *) exit 2 ;; esac
{ ours "$s" && [ ! -e "$s/ended" ]; } || exit 3
if mkdir -m 700 "$w" 2>/dev/null; then
  printf '%s\\n' "$3" > "$w/purpose"
elif ! { ours "$w" && [ -f "$w/purpose" ]; }; then
  exit 2
fi
echo "$w"
`;

/** A random name for a folder on a host (letters and digits): the client names its folders. */
export function folderName(prefix: string, length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * A folder that outlives the work (a copy's CRIU options; an archive `snapdebug push` leaves on
 * purpose), created privately and listed in the work's undo list until the work finishes.
 * Arguments: sudo|root, temp folder, work folder, the folder's name (chosen by the client, as for
 * a work), copy name or "", expiry (epoch s) or "".
 */
const keepScript = `${prelude}
sd_tmp=$1 w=$2 k=$1/$3 copy=$4 expires=$5
ours "$w" || exit 3
case $3 in ${keepPrefix}[A-Za-z0-9]*) ;; *) exit 2 ;; esac
# The undo step first: should the folder then be made and anything after fail (a full disk),
# the work's undo still removes it.
grep -qx "keep $k" "$w/undo" 2>/dev/null || echo "keep $k" >> "$w/undo" || exit 2
if ! mkdir -m 700 "$k" 2>/dev/null && ! ours "$k"; then exit 2; fi
if [ -n "$copy" ]; then printf '%s\\n' "$copy" > "$k/copy" || exit 2; fi
if [ -n "$expires" ]; then
  printf '%s\\n' "$expires" > "$k/expires"
  # removed on time even if no snapdebug ever connects again (the sweep covers a reboot)
  wait_s=$((expires - $(date +%s)))
  if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi
  $detach sh -c 'trap "" HUP; sleep "$1"; rm -rf "$2"' snapdebug-expire "$wait_s" "$k" </dev/null >/dev/null 2>&1 &
fi
echo "$k"
`;

/** What a work's undo list can say; the host checks every argument again before acting. */
export type UndoStep =
  /** A streaming checkpoint under our wrapper shell PID, of container ID. */
  | { kind: 'stream'; wrapperPid: number; containerId: string }
  /** The checkpoint images podman leaves in a running container's folder. */
  | { kind: 'images'; containerId: string }
  /** A container we are creating (a restore): removed if the work does not finish. */
  | { kind: 'container'; name: string }
  | { kind: 'volume'; name: string }
  /** A migration's source, stopped by the checkpoint: run again if the migration does not finish. */
  | { kind: 'unstop'; name: string }
  /** A one-archive key in the login account's authorized_keys, found by its tag (hostToHost.ts). */
  | { kind: 'authkey'; tag: string }
  /** The ssh a debug host runs to fetch an archive from the source host. */
  | { kind: 'fetch'; pid: number }
  /** A copy's fence (fence/): its rules and network, taken down if the copy is never made. */
  | { kind: 'fence'; id: string; copy: string }
  /** An image's or a container's root file system we mounted to read files from (a core's libraries). */
  | { kind: 'unmount'; what: 'image' | 'container'; ref: string }
  /** A file a copy's process writes inside the copy (a JVM's heap dump), removed there as `user`. */
  | { kind: 'copyFile'; container: string; user: string; path: string };

/** The only files inside a copy an undo list may name: ours, in its /tmp. */
export const copyFilePattern = /^\/tmp\/snapdebug-[a-z]+-[0-9a-f]{16}\.[a-z]+$/;

export function undoLine(step: UndoStep): string {
  switch (step.kind) {
    case 'stream':
      return `stream ${step.wrapperPid} ${validateContainerRef(step.containerId)}`;
    case 'images':
      return `images ${validateContainerRef(step.containerId)}`;
    case 'container':
    case 'unstop':
      return `${step.kind} ${validateContainerRef(step.name)}`;
    case 'volume':
      return `volume ${validateVolumeName(step.name)}`;
    case 'authkey':
      if (!/^snapdebug-fetch-[a-z0-9]+$/.test(step.tag)) throw new SnapdebugError(`"${step.tag}" is not a key tag snapdebug makes.`);
      return `authkey ${step.tag}`;
    case 'fetch':
      if (!Number.isInteger(step.pid) || step.pid < 2) throw new SnapdebugError(`${step.pid} is not a process id.`);
      return `fetch ${step.pid}`;
    case 'fence':
      return `fence ${validateFenceId(step.id)} ${validateContainerRef(step.copy)}`;
    case 'unmount':
      return `unmount ${step.what} ${step.what === 'image' ? validateImageRef(step.ref) : validateContainerRef(step.ref)}`;
    case 'copyFile':
      if (!copyFilePattern.test(step.path)) throw new SnapdebugError(`${step.path} is not a file snapdebug removes in copies.`);
      return `copyfile ${validateContainerRef(step.container)} ${validateExecUser(step.user)} ${step.path}`;
  }
}

const fileNamePattern = /^[a-z0-9][a-z0-9._-]*$/;

export class RemoteWork {
  private ended = false;

  constructor(
    readonly host: Host,
    readonly session: HostSession,
    /** The work's private folder on the host. */
    readonly dir: string,
    /** The session generation it was begun in (see HostSession.stillHolds). */
    readonly generation: number,
  ) {}

  /** A path for a file of this work, inside its private folder. */
  file(name: string): string {
    if (!fileNamePattern.test(name)) throw new SnapdebugError(`"${name}" is not a file name snapdebug uses on hosts.`);
    return `${this.dir}/${name}`;
  }

  /** Records a step to undo should the work never finish; call it before taking the step. */
  async willUndo(...steps: UndoStep[]): Promise<void> {
    if (steps.length === 0) return;
    const text = steps.map(undoLine).join('\n') + '\n';
    // Asked again when the answer is lost: an undo step written twice is undone twice, harmlessly.
    const result = await this.host.runIdempotent(['sh', '-c', 'cat >> "$1/undo"', 'sh', this.dir], { stdin: text });
    if (result.exitCode !== 0) throw new SnapdebugError(`Cannot record the work's undo steps on ${this.host.name}.`, { detail: result.stderr });
  }

  /** A private folder outside the work that stays when the work finishes (removed if it does not). */
  async keep(what: { copy?: string; expiresAtMs?: number }): Promise<string> {
    const copy = what.copy === undefined ? '' : validateContainerRef(what.copy);
    const expires = what.expiresAtMs === undefined ? '' : String(Math.floor(what.expiresAtMs / 1000));
    const result = await this.host.runIdempotent(this.host.script(keepScript, [this.session.settings.remoteTempDir, this.dir, folderName(keepPrefix, 10), copy, expires], 'snapdebug-keep'));
    const path = result.stdout.trim();
    if (result.exitCode !== 0 || !path.startsWith(`${this.session.settings.remoteTempDir}/${keepPrefix}`)) {
      throw new SnapdebugError(`Cannot create a private folder in ${this.session.settings.remoteTempDir} on ${this.host.name}.`, { detail: result.stderr });
    }
    return path;
  }

  /** The work is done: its temporary files go, and nothing of it is undone any more. */
  async finish(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // Asked twice: a file that appears while rm walks the folder fails the first pass.
    let result = await this.host.runIdempotent(['rm', '-rf', this.dir]);
    if (result.exitCode !== 0) result = await this.host.runIdempotent(['rm', '-rf', this.dir]);
    if (result.exitCode !== 0) throw new SnapdebugError(`Cannot remove ${this.dir} on ${this.host.name}.`, { detail: result.stderr });
  }

  /**
   * Undoes the work now, newest step first, and removes its files; never throws. Returns what it
   * undid, or undefined when the host cannot be reached now (its watchdog undoes it by itself).
   */
  async abandon(log: (line: string) => void = () => undefined): Promise<string[] | undefined> {
    if (this.ended) return [];
    this.ended = true;
    // A session whose keeper is gone, or that could not reach the host moments ago, lost its link:
    // reconnecting could take longer than the watchdog needs, and would hold up undoing the work
    // on hosts that are reachable.
    if (!this.session.kept || this.session.lastReachFailed) {
      log(`could not undo ${this.dir} on ${this.host.name} now (its link dropped); the host's watchdog will`);
      return undefined;
    }
    try {
      const result = await this.host.runIdempotent(this.host.script(abandonScript, [this.session.settings.remoteTempDir, this.dir], 'snapdebug-abandon'));
      if (result.exitCode !== 0) throw new Error(result.stderr.trim() || `exit ${result.exitCode ?? 'none'}`);
      const undone = result.stdout.split('\n').filter((l) => l.startsWith(marker.undone)).map((l) => l.slice(marker.undone.length + 1));
      if (undone.length > 0) log(`undid on ${this.host.name}: ${undone.join(', ')}`);
      return undone;
    } catch (error) {
      // The link is down: the host's watchdog undoes it when the lease runs out.
      log(`could not undo ${this.dir} on ${this.host.name} now (${(error as Error).message}); the host's watchdog will`);
      return undefined;
    }
  }
}
