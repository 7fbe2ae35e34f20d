// Ending a streaming checkpoint nobody reads any more. podman 5.4 does not exit when the reader of
// `--export /dev/stdout` goes away: it deadlocks holding the container's lock, and every later
// podman command on that container hangs (seen in the lab). So after a cancel or failure we end
// it ourselves, by its place under our wrapper shell (never by name alone), and only once runc
// and CRIU are done, so a container is never left frozen. Then the checkpoint images podman left
// in the container's folder (process memory) are removed, as after every leave-running checkpoint.
import type { Host } from '../host';
import { podman } from '../podman/commands';
import { validateRemotePath } from '../podman/names';

// $1: the wrapper shell's PID. Lists its descendants as "pid comm", walking parent links.
const script = `
tree() { ps -eo pid=,ppid=,comm= | awk -v r="$1" '{p[$1]=$2; c[$1]=$3} END {for (x in p) {y=p[x]; while (y in p && y != r && y > 1) y=p[y]; if (y == r) print x, c[x]}}'; }
i=0
while tree "$1" | grep -qE ' (runc|criu)$' && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
for sig in TERM TERM TERM KILL; do
  pids=$(tree "$1" | awk '$2 == "podman" {print $1}')
  [ -z "$pids" ] && exit 0
  kill -$sig $pids 2>/dev/null
  sleep 1
done
`;

export async function abandonStreamingCheckpoint(host: Host, wrapperPid: number | undefined, containerId: string, log: (line: string) => void): Promise<void> {
  if (wrapperPid !== undefined && wrapperPid > 1) {
    await host.runner.run(host.privileged(['sh', '-c', script, 'sh', String(wrapperPid)])).catch(() => undefined);
  }
  await removeCheckpointImages(host, containerId, log);
}

/**
 * podman (5.4) keeps a leave-running checkpoint's images (checkpoint/, devshm-checkpoint.tar) in
 * the container's folder after exporting them: process memory, secrets included, left on the
 * production host. A running container cannot be restored in place from them, so they go.
 */
export async function removeCheckpointImages(host: Host, containerId: string, log: (line: string) => void): Promise<void> {
  try {
    const [entry] = await host.podman(podman.inspect([containerId]));
    if (!entry?.StaticDir || entry.State.Checkpointed) return; // a real checkpoint stays for Restore in Place
    const dir = validateRemotePath(entry.StaticDir);
    await host.runner.run(host.privileged(['rm', '-rf', `${dir}/checkpoint`, `${dir}/devshm-checkpoint.tar`]));
    log(`removed the checkpoint images podman left in ${entry.Name}'s folder on ${host.name}`);
  } catch (error) {
    log(`could not remove the checkpoint images of ${containerId.slice(0, 12)} on ${host.name}: ${(error as Error).message}`);
  }
}
