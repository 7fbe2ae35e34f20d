// Whether a port listens inside a copy, asked on the debug host in one round trip. Over a WAN link
// every command costs a round trip or more (≈ 130 ms at 40 ms RTT), and attaching used to take
// three or more in a row: look, signal, look again until the debugger listened. One POSIX sh
// script (remote/shellLib.ts's prelude) now reads the copy's listening sockets, sends the signal
// only if nothing listens yet, and waits there, looking every listenPollMs, for a bounded time.
// It also says whether the host has socat, which the tunnel's relays need to know (tunnel.ts).
import type { Host } from '../host';
import { prelude } from '../remote/shellLib';
import { SnapdebugError } from '../util/errors';
import { assertTargetPid, rememberSocat } from './tunnel';

/** What the script prints, one word a line; anything else on stdout is ignored. */
const said = {
  socat: 'snapdebug-socat',
  listening: 'snapdebug-listening',
  notListening: 'snapdebug-not-listening',
  signalFailed: 'snapdebug-signal-failed',
} as const;

/** How often the script looks again while it waits (a look is a sudo, an nsenter, a cat). */
export const listenPollMs = 50;

/** The longest wait a script may be asked for: it ends by itself, whatever becomes of this client. */
export const maxListenWaitSeconds = 60;

/** Signals a script may send; Node.js opens its inspector on SIGUSR1. */
export type ListenSignal = 'USR1';

/**
 * Arguments: sudo|root, host PID, port, signal (none or USR1), seconds to wait (0: look once).
 * Prints whether the host has socat, then how it ended: listening, not-listening, or
 * signal-failed (kill's message on stderr). The copy's socket tables go to awk only, never to us;
 * every argument is checked again here, as every script of ours does.
 */
export const listenScript = `${prelude}
pid=$1 port=$2 sig=$3 wait_s=$4
valid_pid "$pid" || exit 2
case $port in ''|0*|*[!0-9]*) exit 2 ;; esac
[ "$port" -le 65535 ] || exit 2
case $sig in none|USR1) ;; *) exit 2 ;; esac
case $wait_s in ''|*[!0-9]*) exit 2 ;; esac
[ "$wait_s" -le ${maxListenWaitSeconds} ] || exit 2
if command -v socat >/dev/null 2>&1; then echo "${said.socat} yes"; else echo "${said.socat} no"; fi
# Columns: sl local_address rem_address st ...; state 0A is LISTEN, on any local address
p=$(printf ':%04X' "$port")
listens() {
  r nsenter --target "$pid" --net -- cat /proc/net/tcp /proc/net/tcp6 2>/dev/null </dev/null |
    awk -v p="$p" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}
if listens; then echo "${said.listening}"; exit 0; fi
if [ "$sig" != none ]; then
  r kill -"$sig" "$pid" </dev/null || { echo "${said.signalFailed}"; exit 0; }
fi
# whole seconds from date: one more than asked, so the wait is never shorter than that
end=$(( $(date +%s) + wait_s + 1 ))
[ "$wait_s" = 0 ] && end=0
while [ "$(date +%s)" -lt "$end" ]; do
  # a sleep without fractions (not coreutils, not busybox) waits a whole second instead
  sleep ${(listenPollMs / 1000).toFixed(3)} 2>/dev/null || sleep 1
  if listens; then echo "${said.listening}"; exit 0; fi
done
echo "${said.notListening}"
`;

export type ListenState = 'listening' | 'not-listening' | 'signal-failed';

/** The script's answer from its stdout; undefined when it never got to say (a dropped channel, a refusal). */
export function listenOutcome(stdout: string): { state: ListenState | undefined; socat: boolean | undefined } {
  const lines = new Set(stdout.split('\n').map((line) => line.trim()));
  const socat = lines.has(`${said.socat} yes`) ? true : lines.has(`${said.socat} no`) ? false : undefined;
  const state = lines.has(said.signalFailed) ? 'signal-failed' : lines.has(said.listening) ? 'listening' : lines.has(said.notListening) ? 'not-listening' : undefined;
  return { state, socat };
}

export interface ListenOptions {
  /** Sent only when nothing listens on the port yet. */
  signal?: ListenSignal;
  /** How long the host waits for the port after looking (and signalling); 0 looks once. */
  waitSeconds?: number;
  /** Cancels, and ends the script on the host. */
  abort?: AbortSignal;
}

/**
 * Looks, on the host, whether something listens on `port` in the network namespace of `hostPid`
 * (any local address), optionally signalling the process and waiting for it: one round trip.
 */
export async function probeListening(host: Host, hostPid: number, port: number, options: ListenOptions = {}): Promise<{ state: ListenState; stderr: string }> {
  assertTargetPid(hostPid);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SnapdebugError(`Refusing to look for port ${port}: it is not a TCP port.`);
  const waitSeconds = Math.ceil(options.waitSeconds ?? 0);
  if (!(waitSeconds >= 0 && waitSeconds <= maxListenWaitSeconds)) throw new SnapdebugError(`Refusing to wait ${options.waitSeconds} s for a port: at most ${maxListenWaitSeconds} s.`);
  const argv = host.script(listenScript, [String(hostPid), String(port), options.signal ?? 'none', String(waitSeconds)], 'snapdebug-listen');
  // Safe to run again after a channel closed without an exit status: it looks before it
  // signals, and a second SIGUSR1 finds Node.js's inspector already open.
  const result = await host.runIdempotent(argv, options.abort ? { signal: options.abort, killOnAbort: true } : {});
  const { state, socat } = listenOutcome(result.stdout);
  if (socat !== undefined) rememberSocat(host, socat);
  if (state === undefined) {
    throw new SnapdebugError(`Could not tell whether anything listens on port ${port} in the copy on ${host.name}.`, {
      detail: `exit ${result.exitCode ?? 'without status'}\n${result.stderr}`.trim(),
    });
  }
  return { state, stderr: result.stderr };
}
