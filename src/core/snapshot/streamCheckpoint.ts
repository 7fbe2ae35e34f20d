// A streamed checkpoint: podman exports into a FIFO inside the work's private folder, and a small
// wrapper shell passes the bytes to our stdout while hashing them on the host (tee → FIFO →
// sha256sum), so no archive ever rests on the source host. A FIFO rather than an inherited file
// descriptor, because sudo closes every descriptor above 2; podman's own chatter goes to stderr.
// Before podman starts, the wrapper notes itself in the work's undo list: if this client vanishes,
// the host ends that podman (once CRIU is done) and removes the checkpoint images it left.
import type { Host } from '../host';
import type { PodmanCommand } from '../podman/commands';
import { checkpointLockLib, marker, prelude } from '../remote/shellLib';
import type { RemoteWork } from '../remote/work';
import type { StreamProcess } from '../ssh/runner';

/** Where podman writes a streamed archive, in the work's folder. */
export const streamFifoName = 'out';

/**
 * Arguments: sudo|root, temp folder, work folder, container id, then podman's argv (exporting to
 * $work/out). stderr ends with the exit status of podman and the sha256 of every byte that went out.
 */
export const streamCheckpointScript = `${prelude}${checkpointLockLib}
sd_tmp=$1 w=$2 cid=$3; shift 3
trap '' HUP
ours "$w" || exit 2
valid_name "$cid" || exit 2
checkpoint_lock "$cid"
echo "stream $$ $cid" >> "$w/undo"
mkfifo "$w/${streamFifoName}" "$w/hash" || exit 2
# Only this shell holds the lock: not podman (as through sudo, which closes it), not the helpers
# (9<&-). A tee left behind by a killed run once held it, and every later checkpoint of that
# container waited on flock for ever. The helpers are in the undo list too.
sha256sum < "$w/hash" 9<&- >&2 &
h=$!
tee "$w/hash" < "$w/${streamFifoName}" 9<&- &
t=$!
echo "helper $h" >> "$w/undo"
echo "helper $t" >> "$w/undo"
r podman "$@" 9<&- >&2 &
p=$!
# Also by the PID of what runs podman: found even if this shell is gone.
echo "stream $p $cid" >> "$w/undo"
wait "$p"
c=$?
# podman no longer uses the container's folder: the lock goes now, not when this shell ends, so that
# dropping the images (which takes it) never waits for the helpers below.
exec 9<&-
# podman is done: nothing left to end, only its images to drop should the work be undone.
if [ "$c" = 0 ]; then { grep -v '^stream ' "$w/undo"; echo "images $cid"; } > "$w/undo.new" && mv "$w/undo.new" "$w/undo"; fi
# When podman failed before opening the FIFO, tee still waits for a writer: be one, briefly.
exec 3<>"$w/${streamFifoName}"; exec 3>&-
wait "$t" || echo "${marker.teeFailed}" >&2
wait "$h"
# The helpers are done: nothing of them left to end.
grep -v '^helper ' "$w/undo" > "$w/undo.new" 2>/dev/null && mv "$w/undo.new" "$w/undo"
echo "${marker.exit} $c" >&2
`;

export async function startStreamingCheckpoint(
  host: Host,
  work: RemoteWork,
  containerId: string,
  command: PodmanCommand<unknown>,
  signal?: AbortSignal,
): Promise<StreamProcess> {
  return host.runner.start(host.script(streamCheckpointScript, [work.session.settings.remoteTempDir, work.dir, containerId, ...command.argv], 'snapdebug-stream'), signal ? { signal } : {});
}
