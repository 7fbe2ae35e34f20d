// Getting a debugger into a restored copy, per runtime, using only what the debug host has:
// Node.js opens its inspector on SIGUSR1; Python gets debugpy injected (gdb inside the copy does
// the injection); native code gets gdb on the host, attached to the copy's process by host PID.
// Every PID is read from the copy's own `podman top`, so nothing outside the copy is ever touched.
import type { Host } from '../host';
import { podman } from '../podman/commands';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { assertTargetPid } from './tunnel';

export type Runtime = 'node' | 'python' | 'native';
export const runtimes: readonly Runtime[] = ['node', 'python', 'native'];

export const inspectorPort = 9229;
export const debugpyPort = 5678;

export interface DebugTarget {
  runtime: Runtime;
  /** The process as the debug host sees it. */
  hostPid: number;
  /** The same process inside the copy's PID namespace. */
  containerPid: number;
  command: string;
}

const runtimePatterns: Record<Exclude<Runtime, 'native'>, RegExp> = {
  node: /(^|\/)(node|nodejs)(\s|$)/,
  python: /(^|\/)python[0-9.]*(\s|$)/,
};

export function runtimeOf(command: string): Runtime {
  if (runtimePatterns.node.test(command)) return 'node';
  if (runtimePatterns.python.test(command)) return 'python';
  return 'native';
}

/** The process to debug in a container: the first one of the wanted (or detected) runtime. */
export async function findDebugTarget(host: Host, container: string, wanted?: Runtime): Promise<DebugTarget> {
  const processes = await host.podman(podman.topHostPids(container));
  if (processes.length === 0) throw new SnapdebugError(`${container} on ${host.name} has no processes to debug.`);
  const classified = processes.map((p) => ({ ...p, runtime: runtimeOf(p.command) }));
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
  assertTargetPid(hostPid);
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  // Read-only probes ask again when a channel closes without an exit status (seen under load).
  const result = await host.runIdempotent(host.privileged(['nsenter', '--target', String(hostPid), '--net', '--', 'cat', '/proc/net/tcp', '/proc/net/tcp6']));
  // Columns: sl local_address rem_address st ...; state 0A is LISTEN.
  return result.stdout.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1]?.endsWith(hexPort) === true && fields[3] === '0A';
  });
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    throwIfAborted(signal);
    if (await condition()) return;
    if (Date.now() > deadline) throw new SnapdebugError(`Timed out after ${timeoutMs / 1000} s waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** SIGUSR1 makes Node.js open its inspector on the copy's 127.0.0.1:9229; wait until it answers. */
export async function prepareNode(host: Host, target: DebugTarget, signal?: AbortSignal): Promise<number> {
  assertTargetPid(target.hostPid);
  if (!(await listensInside(host, target.hostPid, inspectorPort))) {
    const kill = await host.runner.run(host.privileged(['kill', '-USR1', String(target.hostPid)]));
    if (kill.exitCode !== 0) throw new SnapdebugError(`Could not signal the Node.js process ${target.hostPid} on ${host.name}.`, { detail: kill.stderr });
  }
  // The inspector is ready once it listens. (An HTTP probe would hang: it keeps connections open.)
  await waitFor(() => listensInside(host, target.hostPid, inspectorPort), 15_000, `the Node.js inspector in the copy on ${host.name}`, signal);
  return inspectorPort;
}

/** Injects debugpy into the copy's Python process (gdb inside the copy does it) and waits for it. */
export async function preparePython(host: Host, container: string, target: DebugTarget, signal?: AbortSignal): Promise<number> {
  const probe = await host.runIdempotent(host.privileged(['podman', ...podman.exec(container, ['python3', '-c', 'import debugpy']).argv]));
  if (probe.exitCode !== 0) {
    throw new SnapdebugError(`debugpy is not importable in ${container}, so the Python process cannot be attached.`, {
      fix: 'Add debugpy to the image (pip install debugpy, or Debian\'s python3-debugpy) and gdb, which debugpy uses to inject itself.',
    });
  }
  if (!(await listensInside(host, target.hostPid, debugpyPort))) {
    const inject = podman.exec(container, ['python3', '-m', 'debugpy', '--listen', `127.0.0.1:${debugpyPort}`, '--pid', String(target.containerPid)], { privileged: true });
    const result = await host.runner.run(host.privileged(['podman', ...inject.argv]));
    if (result.exitCode !== 0) throw new SnapdebugError(`Injecting debugpy into ${container} failed.`, { detail: result.stderr });
  }
  await waitFor(() => listensInside(host, target.hostPid, debugpyPort), 30_000, `debugpy in the copy on ${host.name}`, signal);
  return debugpyPort;
}

/** gdb on the debug host, attached by host PID: the argv to run there (e.g. over SSH, in batch). */
export async function nativeDebuggerArgv(host: Host, target: DebugTarget): Promise<string[]> {
  assertTargetPid(target.hostPid);
  const gdb = await host.runIdempotent(['sh', '-c', 'command -v gdb || test -x /usr/bin/gdb']);
  if (gdb.exitCode !== 0) {
    throw new SnapdebugError(`There is no gdb on ${host.name}, which native debugging of the copy needs.`, { fix: `Install gdb on ${host.name}.` });
  }
  // The copy lives in other mount and PID namespaces: gdb gets the program through /proc (its
  // own path would resolve on the host) and looks for shared libraries inside the copy's root.
  const pid = String(target.hostPid);
  return host.privileged(['gdb', '-iex', `set sysroot /proc/${pid}/root`, `/proc/${pid}/exe`, '--pid', pid]);
}
