// podman (5.4) keeps a leave-running checkpoint's images (checkpoint/, devshm-checkpoint.tar) in
// the container's folder after exporting them: process memory, secrets included, left on the
// production host. A running container cannot be restored in place from them, so they go — by
// the same shell function the host's watchdog uses when a checkpoint is abandoned.
import type { Host } from '../host';
import { validateContainerRef } from '../podman/names';
import { cleanupLib, prelude } from '../remote/shellLib';

/** Arguments: sudo|root, container id. */
const dropImagesScript = `${prelude}${cleanupLib}
valid_name "$1" && drop_images "$1"
`;

export async function removeCheckpointImages(host: Host, containerId: string, log: (line: string) => void): Promise<void> {
  const result = await host.runner.run(host.script(dropImagesScript, [validateContainerRef(containerId)])).catch((error: Error) => error);
  if (result instanceof Error || result.exitCode !== 0) {
    log(`could not remove the checkpoint images of ${containerId.slice(0, 12)} on ${host.name}: ${result instanceof Error ? result.message : result.stderr.trim()}`);
  }
}
