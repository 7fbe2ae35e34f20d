// What snapdebug has on a host right now, for doctor: sessions (ours and other clients'), folders
// kept on purpose (a copy's CRIU options, pushed archives), files an older snapdebug left in the
// temp folder, and processes still running for a session that is gone ("stuck": a podman that
// hangs holding a container lock is what makes `podman ps` hang for everyone on the host).
import type { Host } from '../host';
import { cleanupLib, keepPrefix, prelude, sessionPrefix } from './shellLib';

/** Arguments: sudo|root, temp folder, TTL seconds. One line per finding: KIND fields... */
const inventoryScript = `${prelude}${cleanupLib}
sd_tmp=$1 ttl=$2
live() { [ -d "$1" ] && [ ! -e "$1/ended" ] && [ "$(age "$1/lease")" -le "$ttl" ]; }
for s in "$sd_tmp"/${sessionPrefix}*; do
  [ -d "$s" ] || continue
  if live "$s"; then echo "session live $s"; else echo "session stale $s"; fi
done
for k in "$sd_tmp"/${keepPrefix}*; do
  [ -d "$k" ] || continue
  if [ -f "$k/copy" ]; then echo "kept copy $k $(cat "$k/copy")"; else echo "kept archive $k $(cat "$k/expires" 2>/dev/null)"; fi
done
for f in "$sd_tmp"/snapdebug-*.tar "$sd_tmp"/snapdebug-*.tar.* "$sd_tmp"/snapdebug-criu-*.conf; do
  [ -e "$f" ] && echo "legacy $f"
done
for d in /proc/[0-9]*; do
  args=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null) || continue
  case $args in *"$sd_tmp/${sessionPrefix}"*) ;; *) continue ;; esac
  s=$(printf '%s' "$args" | sed -n "s|.*\\($sd_tmp/${sessionPrefix.replace('.', '\\\\.')}[A-Za-z0-9]*\\).*|\\1|p")
  live "$s" && continue
  echo "stuck \${d#/proc/} $args"
done
kill=$(sed -n 's/^[[:space:]]*KillUserProcesses[[:space:]]*=[[:space:]]*//p' /etc/systemd/logind.conf /etc/systemd/logind.conf.d/*.conf 2>/dev/null | tail -n 1)
user=$(id -un)
if [ -e "/var/lib/systemd/linger/$user" ]; then linger=yes; else linger=no; fi
echo "logind \${kill:-default} $(id -u) $linger $user"
`;

export interface HostInventory {
  liveSessions: string[];
  staleSessions: string[];
  keptForCopies: Array<{ folder: string; copy: string }>;
  keptArchives: Array<{ folder: string; expiresAt?: string }>;
  legacyFiles: string[];
  stuck: Array<{ pid: number; command: string }>;
  /** systemd-logind's KillUserProcesses for the login user (a non-root user's watchdog dies with the SSH session when it is yes and the user does not linger). */
  logind?: { killUserProcesses: string; uid: number; linger: boolean; user: string };
}

export function parseInventory(stdout: string): HostInventory {
  const inventory: HostInventory = { liveSessions: [], staleSessions: [], keptForCopies: [], keptArchives: [], legacyFiles: [], stuck: [] };
  for (const line of stdout.split('\n')) {
    const [kind, a = '', b = '', ...rest] = line.trim().split(' ');
    if (kind === 'session') (a === 'live' ? inventory.liveSessions : inventory.staleSessions).push(b);
    else if (kind === 'kept' && a === 'copy') inventory.keptForCopies.push({ folder: b, copy: rest[0] ?? '' });
    else if (kind === 'kept' && a === 'archive') {
      const expires = Number(rest[0]);
      inventory.keptArchives.push({ folder: b, ...(Number.isFinite(expires) && expires > 0 && { expiresAt: new Date(expires * 1000).toISOString() }) });
    } else if (kind === 'legacy') inventory.legacyFiles.push(a);
    else if (kind === 'stuck' && /^\d+$/.test(a)) inventory.stuck.push({ pid: Number(a), command: [b, ...rest].join(' ').trim() });
    else if (kind === 'logind' && /^\d+$/.test(b)) inventory.logind = { killUserProcesses: a, uid: Number(b), linger: rest[0] === 'yes', user: rest[1] ?? '' };
  }
  return inventory;
}

export async function hostInventory(host: Host, tempDir: string, ttlSeconds: number): Promise<HostInventory> {
  const result = await host.runner.run(host.script(inventoryScript, [tempDir, String(ttlSeconds)]));
  return parseInventory(result.stdout);
}
