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
      fix: 'Thread and heap dumps need jcmd in the image (a JDK image, or the jdk-jcmd module added with jlink).',
      detail: text,
    });
  }
  return new SnapdebugError(`jcmd failed in ${container}.`, { detail: text });
}

/** Runs jcmd against the copy's JVM and returns what it printed. */
export async function jcmdIn(host: Host, container: string, target: DebugTarget, args: string[], signal?: AbortSignal): Promise<string> {
  const user = await jvmUser(host, container, target);
  const command = podman.exec(container, [jcmdPath(target.command), String(target.containerPid), ...args], { user });
  const result = await host.runner.run(host.privileged(['podman', ...command.argv]), signal ? { signal } : {});
  // jcmd exits 0 even when the JVM refused the command; its output then names the exception.
  if (result.exitCode !== 0 || /^(Exception|com\.sun\.tools\.attach\.|java\.\w+\.\w*Exception)/m.test(result.stdout)) {
    throw jcmdFailure(container, result.stdout, result.stderr);
  }
  return result.stdout;
}

/**
 * GC.heap_dump into the copy's /tmp (a name no one can guess; the JVM refuses to overwrite), then
 * the copy's own `cat`, as the JVM's user, streams it into `out`; the file goes in every outcome.
 */
export async function heapDumpToStore(host: Host, container: string, target: DebugTarget, inCopy: string, out: Writable, control: WorkControl): Promise<void> {
  const user = await jvmUser(host, container, target);
  const remove = () => host.runner.run(host.privileged(['podman', ...podman.exec(container, ['rm', '-f', inCopy], { user }).argv])).catch(() => undefined);
  try {
    const printed = await jcmdIn(host, container, target, ['GC.heap_dump', inCopy], control.signal);
    const total = Number(/Heap dump file created \[(\d+) bytes/.exec(printed)?.[1] ?? NaN);
    const reader = await host.runner.start(host.privileged(['podman', ...podman.exec(container, ['cat', inCopy], { user }).argv]), control.signal ? { signal: control.signal } : {});
    let bytes = 0;
    const stopListening = onAbort(control.signal, () => reader.close());
    try {
      await new Promise<void>((resolve, reject) => {
        reader.stdout.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (!out.write(chunk)) {
            reader.stdout.pause();
            out.once('drain', () => reader.stdout.resume());
          }
          control.progress?.({ phase: 'capture', message: `Heap dump of ${container}`, bytes, ...(Number.isFinite(total) && { total }) });
        });
        reader.stdout.once('end', resolve);
        reader.stdout.once('error', reject);
        out.once('error', reject);
      });
      const code = await reader.exit;
      if (control.signal?.aborted) throw new AbortError();
      if (code !== 0) throw new SnapdebugError(`Reading the heap dump out of ${container} failed.`, { detail: cleanStderr(reader.stderrText()) });
      if (Number.isFinite(total) && bytes !== total) throw new SnapdebugError(`The heap dump of ${container} arrived with ${bytes} of its ${total} bytes.`);
    } finally {
      stopListening();
    }
  } finally {
    await remove();
  }
}
