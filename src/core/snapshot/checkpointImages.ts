// podman keeps a checkpoint's images (checkpoint/, devshm-checkpoint.tar) in the container's
// folder, and every checkpoint of that container writes into that one folder. Two rules follow,
// both kept by the container's checkpoint lock on the host (remote/shellLib.ts, checkpointLockLib):
// a checkpoint runs under the lock, and a leave-running checkpoint's images — process memory,
// secrets included, left on the production host after the export — are removed under it, so that
// one client's cleanup never pulls the folder from under another client's CRIU.
import type { Host } from '../host';
import { validateContainerRef } from '../podman/names';
import { checkpointLockLib, cleanupLib, prelude } from '../remote/shellLib';
import type { RemoteWork } from '../remote/work';

/** Arguments: sudo|root, temp folder, container id. */
const dropImagesScript = `${prelude}${cleanupLib}
sd_tmp=$1
valid_name "$2" && drop_images "$2"
`;

/**
 * A checkpoint under the container's lock: the shell runs podman's (privileged) argv with the lock
 * held, podman itself never holding it. `beforeLock` runs first, once the arguments are checked.
 * Arguments: sudo|root, temp folder, work folder, container id, then the argv.
 */
export function lockedCheckpointScript(beforeLock = ''): string {
  return `${prelude}${checkpointLockLib}
sd_tmp=$1 w=$2 cid=$3; shift 3
ours "$w" || exit 2
valid_name "$cid" || exit 2
${beforeLock}checkpoint_lock "$cid"
"$@" 9<&-
`;
}

/** For `host.podman(…, { wrap })`: runs a checkpoint of `containerId` under its lock. */
export function underCheckpointLock(host: Host, work: RemoteWork, containerId: string): (argv: string[]) => string[] {
  return (argv) => host.script(lockedCheckpointScript(), [work.session.settings.remoteTempDir, work.dir, validateContainerRef(containerId), ...argv], 'snapdebug-checkpoint');
}

export async function removeCheckpointImages(host: Host, remoteTempDir: string, containerId: string, log: (line: string) => void): Promise<void> {
  const args = [remoteTempDir, validateContainerRef(containerId)];
  const result = await host.runner.run(host.script(dropImagesScript, args)).catch((error: Error) => error);
  if (result instanceof Error || result.exitCode !== 0) {
    log(`could not remove the checkpoint images of ${containerId.slice(0, 12)} on ${host.name}: ${result instanceof Error ? result.message : result.stderr.trim()}`);
  } else if (result.stderr.trim()) log(`${host.name}: ${result.stderr.trim()}`);
}
