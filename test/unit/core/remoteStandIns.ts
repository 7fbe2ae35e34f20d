// Stand-ins for a host's privileged programs, for running our POSIX sh (remote/shellLib.ts) here
// through a real `sh`: podman, criu, nsenter and sudo as small scripts on PATH that log what they were
// asked to do, so tests can check what a watchdog, a sweep or an abandon did, and in which order.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Host } from '../../../src/core/host';
import { HostSession, type SessionSettings } from '../../../src/core/remote/session';
import { LocalRunner } from '../../../src/core/ssh/runner';
import { makeTempDir } from '../helpers';

const podman = `#!/bin/sh
echo "podman $*" >> "$FAKE_LOG"
case "$1 $2" in
  "container inspect")
    case "$4" in
      *StaticDir*) echo "$FAKE_STATIC \${FAKE_CHECKPOINTED:-false}" ;;
      *Running*) echo "\${FAKE_RUNNING:-false} \${FAKE_CHECKPOINTED:-true}" ;;
    esac ;;
  "container checkpoint")
    prev=; out=
    for a; do [ "$prev" = --export ] && out=$a; prev=$a; done
    case \${FAKE_MODE:-ok} in
      ok) printf '%s' "\${FAKE_ARCHIVE:-archive bytes}" > "$out"; echo demo ;;
      file) cat "$FAKE_ARCHIVE_FILE" > "$out"; echo demo ;;
      args) printf '%s\\0' "$@" > "$out" ;;
      late-fail) printf data > "$out"; echo "snapdebug-exit 0" >&2; echo "${'0'.repeat(64)}  -" >&2; exit 1 ;;
      fail) echo "Error: no container with name or ID \\"demo\\" found" >&2; exit 125 ;;
      hang)
        trap 'echo "podman TERM" >> "$FAKE_LOG"; exit 143' TERM
        criu
        exec 3> "$out"; printf partial >&3
        # Outlives podman holding the FIFO (fd 3), as a stuck child of podman's could; not the
        # test's own pipes, and cleanup() ends it by its PID.
        sleep 600 > /dev/null 2>&1 &
        echo $! >> "$FAKE_LOG.pids"
        wait $! ;;
    esac ;;
  "container restore")
    # A restore still reading its archive while its gate file exists: what a client killed mid-restore leaves.
    if [ -n "\${FAKE_RESTORE_GATE:-}" ]; then
      while [ -e "$FAKE_RESTORE_GATE" ]; do sleep 0.05; done
      echo "podman restored" >> "$FAKE_LOG"
    fi ;;
  "container exists") [ -n "\${FAKE_EXISTS:-}" ]; exit $? ;;
  "image mount"|"container mount") echo "$FAKE_MOUNT" ;;
esac
exit 0
`;

/** Stands for CRIU still dumping: the watchdog must wait for it before it ends podman. */
const criu = `#!/bin/sh
sleep 1
echo "criu done" >> "$FAKE_LOG"
`;

/** Enters no namespace: logs the program it was asked to run there, then runs it. */
const nsenter = `#!/bin/sh
while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
shift
echo "nsenter $1" >> "$FAKE_LOG"
if [ "\${FAKE_MODE:-}" = hang-stat ] && [ "$1" = stat ]; then echo $$ >> "$FAKE_LOG.pids"; exec sleep 600; fi
if [ "\${FAKE_MODE:-}" = hang-tar ] && [ "$1" = tar ]; then echo $$ >> "$FAKE_LOG.pids"; exec sleep 600; fi
if [ "\${FAKE_MODE:-}" = hang-tar-once ] && [ "$1" = tar ] && [ ! -e "$FAKE_LOG.tar-hung" ]; then : > "$FAKE_LOG.tar-hung"; echo $$ >> "$FAKE_LOG.pids"; exec sleep 600; fi
exec "$@"
`;

/** Logs the program asked for, then runs it: what a sudo rule would have to allow. */
const sudo = `#!/bin/sh
[ "$1" = -n ] || { echo "sudo without -n" >> "$FAKE_LOG"; exit 1; }
shift
echo "sudo $1" >> "$FAKE_LOG"
exec "$@"
`;

export interface StandIns {
  dir: string;
  tmp: string;
  log: string;
  /** Lines the stand-ins logged so far. */
  lines(): string[];
  /** A `local` host whose session lives in `tmp`. */
  host(options?: { sudo?: boolean; session?: Partial<SessionSettings> }): Host;
  cleanup(): void;
}

/** Sets PATH and the stand-ins' variables in process.env (children inherit them); cleanup restores them. */
export function standIns(): StandIns {
  const { dir, cleanup } = makeTempDir('remote');
  const bin = join(dir, 'bin');
  const tmp = join(dir, 'tmp');
  const log = join(dir, 'log');
  mkdirSync(bin);
  mkdirSync(tmp, { mode: 0o700 });
  mkdirSync(join(dir, 'static', 'userdata', 'checkpoint'), { recursive: true });
  for (const [name, text] of Object.entries({ podman, criu, sudo, nsenter })) writeFileSync(join(bin, name), text, { mode: 0o755 });
  const saved = { PATH: process.env.PATH, FAKE_LOG: process.env.FAKE_LOG, FAKE_STATIC: process.env.FAKE_STATIC };
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.FAKE_LOG = log;
  process.env.FAKE_STATIC = join(dir, 'static', 'userdata');
  writeFileSync(log, '');
  const hosts: Host[] = [];
  return {
    dir,
    tmp,
    log,
    lines: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    host: (options = {}) => {
      const host = new Host('local', new LocalRunner(), { sudo: options.sudo === true });
      host.session = new HostSession(host, { remoteTempDir: tmp, leaseTtlSeconds: 2, heartbeatIntervalMs: 300, ...options.session }, () => undefined);
      hosts.push(host);
      return host;
    },
    cleanup: () => {
      for (const host of hosts) host.session?.dispose();
      // The stand-ins' long sleeps (a hanging podman, a hanging stat), by the PIDs they wrote: ended
      // once the folder is gone, since a stand-in let go of its sleep writes on into the work folder.
      const pids = existsSync(`${log}.pids`) ? readFileSync(`${log}.pids`, 'utf8').split('\n').filter((pid) => /^\d+$/.test(pid)) : [];
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      cleanup();
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

/** Polls until `condition` holds: the host's watchdog runs on its own clock (1 s ticks). */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
