// Restoring a snapshot on a host that already keeps its archive (`push --keep-for`, `checkpoint
// --push-to`): the copy is made from that file on the host, so nothing crosses this machine's link
// but the archive's first half megabyte (read here to relabel it). The kept file is the host's,
// so it is untrusted: it is used only when its sha256 is the snapshot's, and only a file in one of
// our kept folders (ours, not a link) is looked at. Anything else: the store sends it as before.
import type { CopyRewrite } from '../archive/relabel';
import { maxZstdWindowBytes } from '../archive/zstdFrames';
import type { Host } from '../host';
import { keepPrefix, prelude } from '../remote/shellLib';
import type { RemoteWork } from '../remote/work';
import { SnapdebugError } from '../util/errors';
import { archiveHeadBytes, relabelOnHost } from './hostToHost';
import { withHeadLib } from './hostToHostScripts';
import type { PushedArchive } from './push';
import type { SnapshotMeta } from './store';

/** Arguments: sudo|root, temp folder, archive file name, sha256. Prints the first kept file with that name and sha256. */
const findKeptScript = `${prelude}
t=$1 name=$2 want=$3
valid_name "$name" || exit 2
for k in "$t"/${keepPrefix}*; do
  ours "$k" || continue
  f=$k/$name
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  [ "$(sha256sum < "$f" | cut -c1-64)" = "$want" ] && { echo "$f"; exit 0; }
done
exit 0
`;

/**
 * Arguments: sudo|root, temp folder, kept file, compression, then either "head BYTES" (prints the
 * first BYTES of the plain archive, base64) or "copy WORK" (writes WORK/archive.tar: the head the
 * work holds, then the plain archive past head.skip; prints its size).
 */
const keptCopyScript = `${prelude}${withHeadLib}
t=$1 k=$2 compression=$3 mode=$4 arg=$5
case $k in "$t"/${keepPrefix}*/*) ;; *) exit 2 ;; esac
ours "\${k%/*}" && [ -f "$k" ] && [ ! -L "$k" ] || exit 2
case $compression in
  zstd) unpack() { zstd -dc -q --memory=${maxZstdWindowBytes / 1024 / 1024}MB < "$k"; } ;;
  gzip) unpack() { gzip -dc < "$k"; } ;;
  none) unpack() { cat "$k"; } ;;
  *) exit 2 ;;
esac
case $mode in
  head) unpack | head -c "$arg" | base64 -w 0 ;;
  copy)
    w=$arg
    ours "$w" && [ -f "$w/head.skip" ] || exit 2
    f=$w/archive.tar
    ( set -C; : > "$f" ) || exit 2
    # The fetch's writer: the head is there already, so it goes first, then the rest past head.skip.
    # (sh has no pipefail: how unpacking ended is kept apart from the writing's status)
    { unpack; echo $? > "$w/unpack.rc"; } | with_head >> "$f" || exit 3
    [ "$(cat "$w/unpack.rc")" = 0 ] || { echo "unpacking the kept archive failed" >&2; exit 3; }
    stat -c %s "$f" ;;
  *) exit 2 ;;
esac
`;

/** The path of a file `host` keeps for this snapshot, with the snapshot's sha256; or undefined. Only reads. */
export async function findKeptArchive(host: Host, meta: Pick<SnapshotMeta, 'archive' | 'sha256'>): Promise<string | undefined> {
  const tmp = host.session?.settings.remoteTempDir;
  if (tmp === undefined) return undefined;
  const found = await host.runner.run(host.script(findKeptScript, [tmp, meta.archive, meta.sha256], 'snapdebug-kept'));
  const path = found.stdout.trim();
  return found.exitCode === 0 && path.startsWith(`${tmp}/${keepPrefix}`) ? path : undefined;
}

/** The copy's archive (relabelled, plain tar) made on the host from the kept file: what pushSnapshot would have sent. */
export async function copyFromKept(work: RemoteWork, meta: Pick<SnapshotMeta, 'compression'>, kept: string, rewrite: CopyRewrite, signal?: AbortSignal): Promise<PushedArchive> {
  const host = work.host;
  const tmp = work.session.settings.remoteTempDir;
  const run = (mode: string, arg: string) => host.runner.run(host.script(keptCopyScript, [tmp, kept, meta.compression, mode, arg], 'snapdebug-kept'), { ...(signal && { signal }), killOnAbort: true });
  const head = await run('head', String(archiveHeadBytes));
  if (head.exitCode !== 0) throw new SnapdebugError(`Cannot read the archive ${host.name} keeps at ${kept}.`, { detail: head.stderr });
  await relabelOnHost(work, rewrite, Buffer.from(head.stdout.trim(), 'base64'), `The archive ${host.name} keeps at ${kept}`, signal);
  const copied = await run('copy', work.dir);
  const bytes = Number(copied.stdout.trim());
  if (copied.exitCode !== 0 || !Number.isFinite(bytes)) throw new SnapdebugError(`Cannot make the copy's archive from ${kept} on ${host.name}.`, { detail: copied.stderr });
  return { host, path: work.file('archive.tar'), bytes };
}
