// Delve for a Go copy: the debug host's own `dlv attach PID --headless` (never a binary of the
// copy), serving DAP and Delve's JSON-RPC on one port. It runs in the copy's network namespace only
// (`nsenter --net`: mount and PID namespaces stay the host's, so dlv is the host's program and
// attaches by host PID): it listens on the copy's loopback, where the tunnel's relay reaches it
// like node's inspector or debugpy, and no port opens on the debug host, where any local user could
// connect to a root debugger holding production's memory. A small host shell holds it and sends
// dlv SIGINT — Delve then detaches cleanly, breakpoints removed, the copy left running — as soon
// as either our SSH channel closes (we close it, or the connection dies) or the remote work it
// belongs to is gone (the session's watchdog removes it when this client stops sending
// heartbeats: a link that hangs without closing). Neither needs this client to be alive.
import type { Host } from '../host';
import type { RemoteWork } from '../remote/work';
import type { StreamProcess } from '../ssh/runner';
import { onAbort, throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { listensInside, type DebugTarget } from './attach';
import { probeListening } from './listening';
import { requireDebugTools } from './requirements';
import { assertTargetPid } from './tunnel';

/** Delve's usual port first; the next ones when the copy itself listens there. */
export const delvePorts: readonly number[] = [2345, 2346, 2347, 2348, 2349];

const stopTimeoutMs = 10_000;

/** How long Delve gets to attach and listen (it reads the program's DWARF first). */
const listenWaitSeconds = 30;

/**
 * $1 host PID, $2 port, $3 the work's folder. `cat` (on our channel, through fd 3: a background
 * command's stdin would be /dev/null) ends when our side closes; the loop ends when dlv does, cat
 * does, or the work's folder goes; then dlv is told to detach and waited for, and cat ended.
 */
export const delveHolderScript = `exec 3<&0
dlv attach "$1" "/proc/$1/exe" --headless --accept-multiclient --continue --api-version=2 --listen="127.0.0.1:$2" </dev/null 3<&- &
dlv=$!
cat <&3 >/dev/null &
c=$!
exec 3<&-
while kill -0 "$dlv" 2>/dev/null && kill -0 "$c" 2>/dev/null && [ -d "$3" ]; do sleep 1; done
kill -INT "$dlv" 2>/dev/null
kill "$c" 2>/dev/null
wait "$dlv"
`;

export function delveArgv(hostPid: number, port: number, workDir: string): string[] {
  assertTargetPid(hostPid);
  return ['nsenter', '--target', String(hostPid), '--net', '--', 'sh', '-c', delveHolderScript, 'snapdebug-delve', String(hostPid), String(port), workDir];
}

export interface DelveServer {
  port: number;
  /** Detaches Delve from the copy (which keeps running) and ends it. */
  stop(): Promise<void>;
}

async function freePort(host: Host, hostPid: number): Promise<number> {
  for (const port of delvePorts) if (!(await listensInside(host, hostPid, port))) return port;
  throw new SnapdebugError(`Ports ${delvePorts.join(', ')} are all taken inside the copy on ${host.name}: no room for Delve.`);
}

function stopper(process: StreamProcess, work: RemoteWork): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      process.stdin.end();
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), stopTimeoutMs).unref());
      await Promise.race([process.exit, timer]);
      process.close();
      // Removing the work's folder is the holder's other signal: Delve goes even if it missed EOF.
      await work.finish().catch(() => work.abandon());
    })());
}

/** Starts Delve against the copy's Go process and waits until it listens. */
export async function startDelve(host: Host, target: DebugTarget, signal?: AbortSignal): Promise<DelveServer> {
  await requireDebugTools(host, 'go');
  const port = await freePort(host, target.hostPid);
  throwIfAborted(signal);
  // The work holds no undo steps: its folder alone keeps Delve attached (the holder watches it).
  const work = await host.beginWork(`Delve attached to ${target.hostPid}`, signal);
  const process = await host.runner.start(host.privileged(delveArgv(target.hostPid, port, work.dir))).catch(async (error: unknown) => {
    await work.abandon();
    throw error;
  });
  const stop = stopper(process, work);
  let output = '';
  process.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4096)));
  // The debug host waits for Delve to listen (listening.ts); should Delve end first, that wait
  // is cut short (the script ended on the host too) and Delve's own words are the error.
  const waiting = new AbortController();
  const stopLinking = onAbort(signal, () => waiting.abort());
  let exited = false;
  void process.exit.then(() => {
    exited = true;
    waiting.abort();
  });
  const delveFailed = () => {
    const said = `${output}\n${process.stderrText()}`.trim();
    return new SnapdebugError(`Delve could not attach to the Go process of the copy on ${host.name}.`, {
      detail: said,
      ...(/version of Go is too (old|new)|too old|too new/i.test(said) && {
        fix: { text: `Install a Delve on ${host.name} that supports the Go release the program was built with.` },
      }),
    });
  };
  try {
    const { state } = await probeListening(host, target.hostPid, port, { waitSeconds: listenWaitSeconds, abort: waiting.signal }).catch((error: unknown) => {
      throw exited ? delveFailed() : error;
    });
    if (exited) throw delveFailed();
    if (state !== 'listening') throw new SnapdebugError(`Timed out after ${listenWaitSeconds} s waiting for Delve in the copy on ${host.name}.`);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    stopLinking();
  }
  return { port, stop };
}
