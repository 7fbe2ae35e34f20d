// debugpy into a Python copy, driven from the debug host: the host's own gdb attaches to the
// copy's process by host PID and has that process import the debugpy it already has and listen
// on its loopback — what `python -m debugpy --pid` does, minus running any binary of the copy.
// (Running the copy's python3 under `podman exec --privileged`, as before, let a production image
// that replaced python3 run as root on the debug host.) The code runs inside the copy's process,
// with exactly the privileges that process already has.
import type { Host } from '../host';
import { SnapdebugError } from '../util/errors';
import { gdbSafetyOptions, type DebugTarget } from './attach';
import { probeListening } from './listening';
import { requireDebugTools } from './requirements';
import { assertTargetPid } from './tunnel';

export const debugpyPort = 5678;

/**
 * Python run inside the copy's process. It finds debugpy on the process's own sys.path and hands
 * over to debugpy's own injected entry (server/attach_pid_injected.py), which copes with a process
 * that never imported threading. No quotes of the other kind, no backslashes: gdb reads it as a C
 * string. Importing nothing else first matters: attach() checks whether threading was imported.
 */
export function injectedPython(port: number): string {
  return [
    'import sys, os.path as p',
    "d = [x for x in sys.path if p.exists(p.join(x, 'debugpy', 'server', 'attach_pid_injected.py'))][0]",
    "sys.path.insert(0, p.join(d, 'debugpy', 'server'))",
    'import attach_pid_injected',
    'del sys.path[0]',
    `attach_pid_injected.attach({'mode': 'listen', 'address': ['127.0.0.1', ${port}], 'wait_for_client': False, 'log_to': None, 'adapter_access_token': None})`,
  ].join('; ');
}

/**
 * gdb in batch: take the GIL as any C extension would, run the code, give the GIL back. Other
 * threads keep running during the calls (scheduler-locking off), so one holding the GIL lets go.
 */
export function pythonInjectionArgv(hostPid: number, port: number): string[] {
  assertTargetPid(hostPid);
  const pid = String(hostPid);
  return [
    'gdb', ...gdbSafetyOptions, '-batch',
    '-ex', 'set scheduler-locking off',
    '-ex', 'call (int)PyGILState_Ensure()',
    '-ex', `call (int)PyRun_SimpleString("${injectedPython(port)}")`,
    '-ex', 'call (void)PyGILState_Release($1)',
    `/proc/${pid}/exe`, '--pid', pid,
  ];
}

/** PyRun_SimpleString's result in gdb's output ($2), or undefined when gdb never got that far. */
export function injectionResult(gdbOutput: string): number | undefined {
  const value = /^\$2 = (-?\d+)\s*$/m.exec(gdbOutput)?.[1];
  return value === undefined ? undefined : Number(value);
}

/** How long debugpy gets to listen once gdb has run the code (it starts a thread that binds). */
const debugpyWaitSeconds = 30;

/**
 * Loads debugpy into the copy's Python process (unless it listens already) and waits for it. The
 * wait is the debug host's (listening.ts): one round trip, however long debugpy takes to bind.
 */
export async function preparePython(host: Host, container: string, target: DebugTarget, signal?: AbortSignal): Promise<number> {
  const abort = signal ? { abort: signal } : {};
  if ((await probeListening(host, target.hostPid, debugpyPort, abort)).state !== 'listening') {
    await requireDebugTools(host, 'python');
    const result = await host.runner.run(host.privileged(pythonInjectionArgv(target.hostPid, debugpyPort)), { ...(signal && { signal, killOnAbort: true }) });
    const status = injectionResult(result.stdout);
    if (status === undefined) {
      throw new SnapdebugError(`gdb on ${host.name} could not run code in the Python process of ${container}.`, {
        detail: `${result.stdout}\n${result.stderr}`.trim(),
        fix: { text: 'The interpreter must export the Python C API (CPython does); check that gdb on the debug host can attach (ptrace) to the copy.' },
      });
    }
    if (status !== 0) {
      throw new SnapdebugError(`debugpy is not importable in ${container}, so its Python process cannot be attached.`, {
        detail: 'The traceback went to the copy\'s own output: podman logs COPY.',
        fix: { text: "Add debugpy to the image (pip install debugpy, or Debian's python3-debugpy). gdb is needed on the debug host only." },
      });
    }
    const { state } = await probeListening(host, target.hostPid, debugpyPort, { waitSeconds: debugpyWaitSeconds, ...abort });
    if (state !== 'listening') throw new SnapdebugError(`Timed out after ${debugpyWaitSeconds} s waiting for debugpy in the copy on ${host.name}.`);
  }
  return debugpyPort;
}
