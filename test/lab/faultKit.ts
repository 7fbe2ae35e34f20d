// What the fault suite needs around a real snapdebug: the CLI as one process (so SIGKILL kills
// the client, not a wrapper), waiting for the moment a phase starts, and looking at every host
// without SSH (its link may be cut) for anything a workflow must not leave behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { labFiles } from '../../lab/paths';
import { hostShell } from '../../lab/links';

export interface CliRun {
  child: ChildProcess;
  /** stderr lines so far (progress and errors). */
  lines: string[];
  /** Resolves when a stderr line matches (rejects if the process ends first, or after timeoutMs). */
  reached(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** The CLI as a user runs it, in one Node.js process (tsx loaded in-process). */
export function startCli(store: string, args: string[], remoteTmp?: string): CliRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', '--ssh-config', labFiles.sshConfig, '--store', store, ...(remoteTmp ? ['--remote-tmp', remoteTmp] : []), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    lines,
    exited,
    reached: (pattern, timeoutMs = 120_000) =>
      lines.some((l) => pattern.test(l))
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no line matched ${pattern} in ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
            waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
            void exited.then(() => (clearTimeout(timer), reject(new Error(`the CLI ended before ${pattern}:\n${lines.join('\n')}`))));
          }),
  };
}

/** What must not be on a host once a workflow ended, however it ended. */
export interface HostLeftovers {
  /** Work folders (temporary archives, FIFOs, undo lists) of sessions that are gone or unfinished. */
  work: string[];
  /** Kept folders whose copy is gone (or that never completed). */
  kept: string[];
  /** Checkpoint images (process memory) in the folder of one of the suite's containers that is not checkpointed. */
  images: string[];
  /** Containers and volumes whose name matches the case's pattern but should not exist. */
  containers: string[];
  volumes: string[];
  /** podman processes started for one of our works. */
  processes: string[];
  /** Fenced copies' networks whose copy is gone, and our nftables table with no fence left to need it. */
  fences: string[];
  /** authorized_keys files still granting a host-to-host fetch key (snapdebug-fetch-…). */
  authkeys: string[];
}

const leftoversScript = (namePattern: string) => `
for w in /var/tmp/snapdebug-s.*/w.* /var/tmp/*/snapdebug-s.*/w.*; do [ -e "$w" ] && echo "work $w"; done
for k in /var/tmp/snapdebug-k.* /var/tmp/*/snapdebug-k.*; do
  [ -d "$k" ] || continue
  c=$(cat "$k/copy" 2>/dev/null)
  [ -n "$c" ] && podman container exists "$c" 2>/dev/null && continue
  [ -f "$k/expires" ] && continue
  echo "kept $k"
done
podman ps -a --format '{{.ID}} {{.Names}}' | grep -E ' (faults-|${namePattern.replace(/^\^/, '')})' | while read -r id name; do
  info=$(podman container inspect --format '{{.StaticDir}} {{.State.Checkpointed}}' "$id")
  dir=\${info% *}
  [ "\${info##* }" = true ] && continue
  [ -e "$dir/checkpoint" ] && echo "images $name"
done
podman ps -a --format '{{.Names}}' | grep -E '${namePattern}' | sed 's/^/container /'
podman volume ls --format '{{.Name}}' | grep -E '${namePattern}' | sed 's/^/volume /'
nets=$(podman network ls --quiet --filter label=snapdebug.fence)
for n in $nets; do
  c=$(podman network inspect --format '{{index .Labels "snapdebug.fence"}}' "$n")
  podman container exists "$c" 2>/dev/null || echo "fence $n"
done
[ -z "$nets" ] && nft list table inet snapdebug >/dev/null 2>&1 && echo "fence table inet snapdebug"
for f in /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys; do grep -qs snapdebug-fetch "$f" && echo "authkey $f"; done
for d in /proc/[0-9]*; do
  [ "$(cat "$d/comm" 2>/dev/null)" = podman ] || continue
  a=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null) || continue
  case $a in *snapdebug-s.*) echo "process \${d#/proc/} $a" ;; esac
done
true
`;

export async function leftoversOn(host: string, namePattern: string): Promise<HostLeftovers> {
  const out = await hostShell(host, leftoversScript(namePattern));
  const found: HostLeftovers = { work: [], kept: [], images: [], containers: [], volumes: [], processes: [], fences: [], authkeys: [] };
  const key: Record<string, keyof HostLeftovers> = { work: 'work', kept: 'kept', images: 'images', container: 'containers', volume: 'volumes', process: 'processes', fence: 'fences', authkey: 'authkeys' };
  for (const line of out.split('\n')) {
    const [kind = '', ...rest] = line.split(' ');
    if (key[kind]) found[key[kind]].push(rest.join(' '));
  }
  return found;
}

export function isClean(found: HostLeftovers): boolean {
  return Object.values(found).every((list) => list.length === 0);
}

/** How long `podman ps` takes on a host (seconds), or Infinity if it did not answer in time. */
export async function podmanPsSeconds(host: string, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  try {
    await hostShell(host, 'podman ps -a >/dev/null', timeoutMs);
    return (Date.now() - started) / 1000;
  } catch {
    return Infinity;
  }
}

export function partFiles(store: string): string[] {
  try {
    return readdirSync(store).filter((name) => name.endsWith('.part'));
  } catch {
    return [];
  }
}

/** Container state on a host: running, another state, or absent. */
export async function containerState(host: string, name: string): Promise<string> {
  return (await hostShell(host, `podman container inspect --format '{{.State.Status}}' ${name} 2>/dev/null || echo absent`)).trim();
}

export async function containerPidOn(host: string, name: string): Promise<number> {
  return Number((await hostShell(host, `podman container inspect --format '{{.State.Pid}}' ${name}`)).trim());
}

/** GET /state of a demo-api container from inside its host. */
export async function answers(host: string, name: string): Promise<boolean> {
  const out = await hostShell(host, `curl -sf --max-time 5 http://$(podman container inspect --format '{{.NetworkSettings.IPAddress}}' ${name}):8080/state || true`);
  return out.includes('requestCount');
}
