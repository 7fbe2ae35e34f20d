// Finding the process to debug in a container and getting a debugger into it, per runtime, with
// tools of the debug host only: Node.js opens its inspector on SIGUSR1; Python gets debugpy loaded
// by the host's gdb (python.ts); Go gets the host's Delve (delve.ts); Java is reached through the
// JDWP agent it was started with (java.ts); native code gets the host's gdb by host PID. Every PID
// is read from the container's own `podman top` (or, for a copy's first process, its own `podman
// inspect`: debug/session.ts), so nothing outside it is ever touched, and no
// binary of the container ever runs with more privilege than the container has.
import type { Host } from '../host';
import { podman } from '../podman/commands';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { isGoExecutable, readExecutableHead } from './goBinary';
import { probeListening } from './listening';
import { assertTargetPid } from './tunnel';

export type Runtime = 'node' | 'python' | 'go' | 'java' | 'native';
export const runtimes: readonly Runtime[] = ['node', 'python', 'go', 'java', 'native'];

export const inspectorPort = 9229;

export interface DebugTarget {
  runtime: Runtime;
  /** The process as the debug host sees it. */
  hostPid: number;
  /** The same process inside the container's PID namespace. */
  containerPid: number;
  command: string;
}

const runtimePatterns: Record<'node' | 'python' | 'java', RegExp> = {
  node: /(^|\/)(node|nodejs)(\s|$)/,
  python: /(^|\/)python[0-9.]*(\s|$)/,
  java: /(^|\/)java(\s|$)/,
};

/**
 * The runtime a command line shows. Go programs carry no interpreter in their command: they read
 * as native here, and findDebugTarget tells them apart by their executable.
 */
export function runtimeOf(command: string): Exclude<Runtime, 'go'> {
  const program = command.trim().split(/\s+/)[0] ?? '';
  for (const runtime of ['node', 'python', 'java'] as const) if (runtimePatterns[runtime].test(`${program} `)) return runtime;
  return 'native';
}

/** How many native processes of a container are read to find a Go program (each read is bounded). */
const goProbeLimit = 4;

/** The process to debug in a container: the first one of the wanted (or detected) runtime. */
export async function findDebugTarget(host: Host, container: string, wanted?: Runtime): Promise<DebugTarget> {
  const processes = await host.podman(podman.topHostPids(container));
  if (processes.length === 0) throw new SnapdebugError(`${container} on ${host.name} has no processes to debug.`);
  const classified: Array<(typeof processes)[number] & { runtime: Runtime }> = processes.map((p) => ({ ...p, runtime: runtimeOf(p.command) }));
  const interpreted = classified.some((p) => p.runtime !== 'native');
  if (wanted === 'go' || (wanted === undefined && !interpreted)) {
    // PID 1 first: the service itself, usually.
    const natives = classified.filter((p) => p.runtime === 'native').sort((a, b) => Number(b.pid === 1) - Number(a.pid === 1));
    for (const candidate of natives.slice(0, goProbeLimit)) {
      assertTargetPid(candidate.hostPid);
      if (isGoExecutable(await readExecutableHead(host, candidate.hostPid))) candidate.runtime = 'go';
    }
  }
  const match =
    wanted === undefined
      ? (classified.find((p) => p.runtime !== 'native') ?? classified.find((p) => p.pid === 1) ?? classified[0]!)
      : (classified.find((p) => p.runtime === wanted) ?? (wanted === 'native' ? classified.find((p) => p.pid === 1) : undefined));
  if (!match) {
    throw new SnapdebugError(`No ${wanted} process runs in ${container} on ${host.name}: ${processes.map((p) => p.command).join(' | ')}`);
  }
  assertTargetPid(match.hostPid);
  return { runtime: wanted ?? match.runtime, hostPid: match.hostPid, containerPid: match.pid, command: match.command };
}

/** Whether something listens on 127.0.0.1:port (or any address) inside the process's network namespace. */
export async function listensInside(host: Host, hostPid: number, port: number): Promise<boolean> {
  return (await probeListening(host, hostPid, port)).state === 'listening';
}

/** How long Node.js gets to open its inspector after SIGUSR1 (it is usually a few milliseconds). */
const inspectorWaitSeconds = 15;

/**
 * SIGUSR1 makes Node.js open its inspector on the copy's 127.0.0.1:9229; the debug host looks
 * first, signals only if nothing listens there, and waits until it does, in one round trip
 * (listening.ts). The inspector is ready once it listens: an HTTP probe would hang, as it keeps
 * connections open.
 */
export async function prepareNode(host: Host, target: DebugTarget, signal?: AbortSignal): Promise<number> {
  assertTargetPid(target.hostPid);
  throwIfAborted(signal);
  const { state, stderr } = await probeListening(host, target.hostPid, inspectorPort, { signal: 'USR1', waitSeconds: inspectorWaitSeconds, ...(signal && { abort: signal }) });
  if (state === 'signal-failed') throw new SnapdebugError(`Could not signal the Node.js process ${target.hostPid} on ${host.name}.`, { detail: stderr });
  if (state === 'not-listening') throw new SnapdebugError(`Timed out after ${inspectorWaitSeconds} s waiting for the Node.js inspector in the copy on ${host.name}.`);
  return inspectorPort;
}

/**
 * gdb's options whenever it looks at a copy: nothing from the copy is ever run in gdb (no
 * auto-loaded scripts: the copy's files are untrusted), and no symbol server is asked.
 */
export const gdbSafetyOptions: readonly string[] = ['-nx', '-iex', 'set auto-load off', '-iex', 'set debuginfod enabled off'];

/** gdb on the debug host, attached by host PID: the argv to run there (e.g. over SSH, in batch). */
export function nativeDebuggerArgv(host: Host, target: DebugTarget): string[] {
  assertTargetPid(target.hostPid);
  // The copy lives in other mount and PID namespaces: gdb gets the program through /proc (its
  // own path would resolve on the host); shared libraries it reads in the copy's mount namespace
  // (gdb's default sysroot "target:" does that for a process in another namespace).
  const pid = String(target.hostPid);
  return host.privileged(['gdb', ...gdbSafetyOptions, `/proc/${pid}/exe`, '--pid', pid]);
}
