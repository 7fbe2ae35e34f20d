// Processes the lab starts are tracked by PID and kernel start time (so a recycled PID is never
// mistaken for ours), and ended only that way: never by name.
import { readFileSync } from 'node:fs';

export interface TrackedPid {
  pid: number;
  /** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
  startTicks: number;
}

/** Start time of a live process; undefined once it has ended (a zombie counts as ended). */
export function startTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function track(pid: number): TrackedPid {
  const startTicks = startTicksOf(pid);
  if (startTicks === undefined) throw new Error(`process ${pid} ended before it could be tracked`);
  return { pid, startTicks };
}

export function isAlive(p: TrackedPid | undefined): boolean {
  return p !== undefined && startTicksOf(p.pid) === p.startTicks;
}

export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Sends a signal to a tracked process (or its whole process group) if it is still ours. */
export function signalTracked(p: TrackedPid | undefined, signal: NodeJS.Signals, group = false): void {
  if (!isAlive(p)) return;
  try {
    process.kill(group ? -p!.pid : p!.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
