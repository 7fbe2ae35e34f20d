// A streamed checkpoint: podman exports into a FIFO inside the work's private folder, and a small
// wrapper shell passes the bytes to our stdout while hashing them on the host (tee → FIFO →
// sha256sum), so no archive ever rests on the source host. A FIFO rather than an inherited file
// descriptor, because sudo closes every descriptor above 2; podman's own chatter goes to stderr.
// Before podman starts, the wrapper notes itself in the work's undo list: if this client vanishes,
// the host ends that podman (once CRIU is done) and removes the checkpoint images it left.
import type { Host } from '../host';
import type { PodmanCommand } from '../podman/commands';
import { marker, prelude } from '../remote/shellLib';
import type { RemoteWork } from '../remote/work';
import type { StreamProcess } from '../ssh/runner';

/** Where podman writes a streamed archive, in the work's folder. */
export const streamFifoName = 'out';

/**
 * Arguments: sudo|root, work folder, container id, then podman's argv (exporting to $work/out).
 * stderr ends with the exit status of podman and the sha256 of every byte that went out.
 */
export const streamCheckpointScript = `${prelude}
w=$1 cid=$2; shift 2
trap '' HUP
ours "$w" || exit 2
echo "stream $$ $cid" >> "$w/undo"
mkfifo "$w/${streamFifoName}" "$w/hash" || exit 2
sha256sum < "$w/hash" >&2 &
h=$!
tee "$w/hash" < "$w/${streamFifoName}" &
t=$!
r podman "$@" >&2 &
p=$!
# Also by the PID of what runs podman: found even if this shell is gone.
echo "stream $p $cid" >> "$w/undo"
wait "$p"
c=$?
# When podman failed before opening the FIFO, tee still waits for a writer: be one, briefly.
exec 3<>"$w/${streamFifoName}"; exec 3>&-
wait "$t" || echo "${marker.teeFailed}" >&2
wait "$h"
echo "${marker.exit} $c" >&2
`;

export async function startStreamingCheckpoint(
  host: Host,
  work: RemoteWork,
  containerId: string,
  command: PodmanCommand<unknown>,
  signal?: AbortSignal,
): Promise<StreamProcess> {
  return host.runner.start(host.script(streamCheckpointScript, [work.dir, containerId, ...command.argv], 'snapdebug-stream'), signal ? { signal } : {});
}
