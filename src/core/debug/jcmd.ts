// jcmd for a Java copy, run inside the copy as the JVM's own user (podman exec --user, never
// --privileged): the copy's own JDK tool speaks the attach protocol of its own JVM, and can do
// nothing that JVM's user could not. (A host JDK as root would reach the JVM through
// /proc/PID/root/tmp, a path the copy controls: its symlinks resolve on the host.) Files the JVM
// writes, heap dumps, stay inside the copy until streamed out, and are removed from it in every
// outcome: process memory never rests on a host after the work.
import type { Writable } from 'node:stream';
import type { WorkControl } from '../core';
import type { Host } from '../host';
import { cleanStderr } from '../host';
import { podman } from '../podman/commands';
import { validateContainerRef, validateExecUser } from '../podman/names';
import { marker, prelude } from '../remote/shellLib';
import { AbortError, onAbort } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import type { DebugTarget } from './attach';

/** The JVM's effective user:group inside the copy. */
async function jvmUser(host: Host, container: string, target: DebugTarget): Promise<string> {
  const users = await host.podman(podman.topUsers(container));
  const row = users.find((u) => u.pid === target.containerPid);
  if (!row || !row.user || !row.group) throw new SnapdebugError(`Could not tell which user runs the JVM (PID ${target.containerPid}) in ${container}.`);
  return `${row.user}:${row.group}`;
}

/** jcmd beside the JVM's java when the command names its path, else jcmd on the copy's PATH. */
export function jcmdPath(command: string): string {
  const program = command.trim().split(/\s+/)[0] ?? '';
  return /^\/[\w./+-]*\/java$/.test(program) ? program.replace(/java$/, 'jcmd') : 'jcmd';
}

function jcmdFailure(container: string, stdout: string, stderr: string): SnapdebugError {
  const text = `${stdout}\n${cleanStderr(stderr)}`.trim();
  if (/executable file .* not found|no such file or directory/i.test(text) && /jcmd/.test(text)) {
    return new SnapdebugError(`There is no jcmd in ${container}: its image has a Java runtime without the JDK's tools.`, {
      fix: { text: 'Thread and heap dumps need jcmd in the image (a JDK image, or the jdk-jcmd module added with jlink).' },
      detail: text,
    });
  }
  return new SnapdebugError(`jcmd failed in ${container}.`, { detail: text });
}

/** jcmd exits 0 even when the JVM refused the command; its output then names the exception. */
function jcmdRefused(output: string): boolean {
  return /^(Exception|com\.sun\.tools\.attach\.|java\.\w+\.\w*Exception)/m.test(output);
}

/** Runs jcmd against the copy's JVM and returns what it printed. */
export async function jcmdIn(host: Host, container: string, target: DebugTarget, args: string[], signal?: AbortSignal): Promise<string> {
  const user = await jvmUser(host, container, target);
  const command = podman.exec(container, [jcmdPath(target.command), String(target.containerPid), ...args], { user });
  const result = await host.runner.run(host.privileged(['podman', ...command.argv]), signal ? { signal } : {});
  if (result.exitCode !== 0 || jcmdRefused(result.stdout)) {
    throw jcmdFailure(container, result.stdout, result.stderr);
  }
  return result.stdout;
}

/**
 * The heap dump, run on the debug host as one script, so that the file the JVM writes is removed
 * whatever becomes of this client: jcmd answers into the work's folder (never into our channel, so
 * a channel that dies cannot cut jcmd short while the JVM goes on writing), then the copy's `cat`
 * streams the file to us, then the copy's `rm` removes it — a `cat` whose reader vanished just
 * fails, and the script (deaf to SIGPIPE and SIGHUP) goes on to `rm`. stderr carries jcmd's output,
 * then "snapdebug-exit JCMD CAT" with both exit statuses.
 * Arguments: sudo|root, work folder, copy, user, jcmd, JVM PID in the copy, file in the copy.
 */
export const heapDumpScript = `${prelude}
w=$1 c=$2 u=$3 jcmd=$4 pid=$5 f=$6
trap '' HUP PIPE
ours "$w" || exit 2
valid_name "$c" || exit 2
r podman exec --user "$u" "$c" "$jcmd" "$pid" GC.heap_dump "$f" > "$w/jcmd.out" 2>&1
j=$?
cat "$w/jcmd.out" >&2
k=$j
# jcmd exits 0 even when the JVM refused: only a dump it announced is read
if [ "$j" = 0 ]; then
  if grep -q '^Heap dump file created' "$w/jcmd.out"; then r podman exec --user "$u" "$c" cat "$f"; k=$?; else k=3; fi
fi
r podman exec --user "$u" "$c" rm -f "$f" >/dev/null 2>&1
echo "${marker.exit} $j $k" >&2
`;

/** jcmd's output and the two exit statuses, from the heap dump script's stderr. */
export function heapDumpOutcome(stderr: string): { jcmdOutput: string; jcmdExit: number | undefined; catExit: number | undefined } {
  const match = new RegExp(`^${marker.exit} (\\d+) (\\d+)$`, 'm').exec(stderr);
  return {
    jcmdOutput: match ? stderr.slice(0, match.index) : stderr,
    jcmdExit: match ? Number(match[1]) : undefined,
    catExit: match ? Number(match[2]) : undefined,
  };
}

/**
 * GC.heap_dump into the copy's /tmp (a name no one can guess; the JVM refuses to overwrite),
 * streamed into `out` and removed from the copy by the host script above. The work notes the
 * file in its undo list first, so the session's watchdog removes it too should the script itself
 * be gone before its `rm` (the host rebooting apart, nothing else ends it).
 */
export async function heapDumpToStore(host: Host, container: string, target: DebugTarget, inCopy: string, out: Writable, control: WorkControl): Promise<void> {
  const user = await jvmUser(host, container, target);
  const jcmd = jcmdPath(target.command);
  validateContainerRef(container);
  validateExecUser(user);
  const work = await host.beginWork(`heap dump of ${container}`, control.signal);
  try {
    await work.willUndo({ kind: 'copyFile', container, user, path: inCopy });
    const dump = await host.runner.start(
      host.script(heapDumpScript, [work.dir, container, user, jcmd, String(target.containerPid), inCopy], 'snapdebug-heap-dump'),
      control.signal ? { signal: control.signal } : {},
    );
    let bytes = 0;
    let total = NaN;
    const stopListening = onAbort(control.signal, () => dump.close());
    try {
      await new Promise<void>((resolve, reject) => {
        dump.stdout.on('data', (chunk: Buffer) => {
          if (bytes === 0) total = Number(/Heap dump file created \[(\d+) bytes/.exec(dump.stderrText())?.[1] ?? NaN);
          bytes += chunk.length;
          if (!out.write(chunk)) {
            dump.stdout.pause();
            out.once('drain', () => dump.stdout.resume());
          }
          control.progress?.({ phase: 'capture', message: `Heap dump of ${container}`, bytes, ...(Number.isFinite(total) && { total }) });
        });
        dump.stdout.once('end', resolve);
        dump.stdout.once('error', reject);
        out.once('error', reject);
      });
      await dump.exit;
      if (control.signal?.aborted) throw new AbortError();
      const outcome = heapDumpOutcome(dump.stderrText());
      total = Number(/Heap dump file created \[(\d+) bytes/.exec(outcome.jcmdOutput)?.[1] ?? NaN);
      if (outcome.jcmdExit !== 0 || jcmdRefused(outcome.jcmdOutput)) throw jcmdFailure(container, outcome.jcmdOutput, '');
      if (outcome.catExit !== 0) throw new SnapdebugError(`Reading the heap dump out of ${container} failed.`, { detail: cleanStderr(outcome.jcmdOutput) });
      if (Number.isFinite(total) && bytes !== total) throw new SnapdebugError(`The heap dump of ${container} arrived with ${bytes} of its ${total} bytes.`);
    } finally {
      stopListening();
    }
    await work.finish();
  } catch (error) {
    await work.abandon();
    throw error;
  }
}
