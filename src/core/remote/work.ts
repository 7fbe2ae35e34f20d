// One piece of remote work: a private folder inside the session's folder on a host, holding the
// work's temporary files, and an undo list the host replays if the work never finishes (the
// client died, the link dropped, or it failed). Each step that creates something on the host
// writes its undo line *before* it acts, so there is no moment when it could be forgotten.
import type { Host } from '../host';
import { validateFenceId } from '../fence/rules';
import { validateContainerRef, validateVolumeName } from '../podman/names';
import { SnapdebugError } from '../util/errors';
import type { HostSession } from './session';
import { abandonScript, keepPrefix, marker, prelude, sessionPrefix, workPrefix } from './shellLib';

/** Arguments: sudo|root, session folder, purpose. Prints the new work's folder. */
export const beginWorkScript = `${prelude}
s=$1
case $s in */${sessionPrefix}*) ;; *) exit 2 ;; esac
{ ours "$s" && [ ! -e "$s/ended" ]; } || exit 3
w=$(mktemp -d "$s/${workPrefix}XXXXXXXX") || exit 2
printf '%s\\n' "$2" > "$w/purpose"
echo "$w"
`;

/**
 * A folder that outlives the work (a copy's CRIU options; an archive `snapdebug push` leaves on
 * purpose), created privately and listed in the work's undo list until the work finishes.
 * Arguments: sudo|root, temp folder, work folder, copy name or "", expiry (epoch s) or "".
 */
const keepScript = `${prelude}
sd_tmp=$1 w=$2 copy=$3 expires=$4
ours "$w" || exit 3
k=$(mktemp -d "$sd_tmp/${keepPrefix}XXXXXXXXXX") || exit 2
echo "keep $k" >> "$w/undo"
[ -n "$copy" ] && printf '%s\\n' "$copy" > "$k/copy"
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
  /** A copy's fence (fence/): its rules and network, taken down if the copy is never made. */
  | { kind: 'fence'; id: string; copy: string };

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
    case 'fence':
      return `fence ${validateFenceId(step.id)} ${validateContainerRef(step.copy)}`;
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
    const result = await this.host.runner.run(['sh', '-c', 'cat >> "$1/undo"', 'sh', this.dir], { stdin: text });
    if (result.exitCode !== 0) throw new SnapdebugError(`Cannot record the work's undo steps on ${this.host.name}.`, { detail: result.stderr });
  }

  /** A private folder outside the work that stays when the work finishes (removed if it does not). */
  async keep(what: { copy?: string; expiresAtMs?: number }): Promise<string> {
    const copy = what.copy === undefined ? '' : validateContainerRef(what.copy);
    const expires = what.expiresAtMs === undefined ? '' : String(Math.floor(what.expiresAtMs / 1000));
    const result = await this.host.runner.run(this.host.script(keepScript, [this.session.settings.remoteTempDir, this.dir, copy, expires]));
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
    const result = await this.host.runner.run(['rm', '-rf', this.dir]);
    if (result.exitCode !== 0) throw new SnapdebugError(`Cannot remove ${this.dir} on ${this.host.name}.`, { detail: result.stderr });
  }

  /** Undoes the work now, newest step first, and removes its files; never throws. Returns what it undid. */
  async abandon(log: (line: string) => void = () => undefined): Promise<string[]> {
    if (this.ended) return [];
    this.ended = true;
    try {
      const result = await this.host.runner.run(this.host.script(abandonScript, [this.session.settings.remoteTempDir, this.dir]));
      const undone = result.stdout.split('\n').filter((l) => l.startsWith(marker.undone)).map((l) => l.slice(marker.undone.length + 1));
      if (undone.length > 0) log(`undid on ${this.host.name}: ${undone.join(', ')}`);
      return undone;
    } catch (error) {
      // The link is down: the host's watchdog undoes it when the lease runs out.
      log(`could not undo ${this.dir} on ${this.host.name} now (${(error as Error).message}); the host's watchdog will`);
      return [];
    }
  }
}
