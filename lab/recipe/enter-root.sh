#!/usr/bin/env bash
# Makes ROOT the root file system of the current (private) mount namespace and runs CMD in it:
# fresh /proc, the machine's /sys and /dev, tmpfs /run and /tmp, optional bind mounts, then
# pivot_root. A plain chroot is not enough here: `criu check` and podman's layer unpacking both
# need a real root mount. Call it inside `unshare --mount --pid --fork --propagation private`.
#
# usage: enter-root.sh ROOT [--bind SRC:DST]... -- CMD [ARG]...
set -euo pipefail
root=$1; shift
binds=()
while [ "$1" != "--" ]; do
	[ "$1" = "--bind" ] || { echo "enter-root.sh: unexpected $1" >&2; exit 2; }
	binds+=("$2"); shift 2
done
shift

mountpoint -q "$root" || mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
for bind in "${binds[@]}"; do
	mkdir -p "$root${bind#*:}"
	mount --bind "${bind%%:*}" "$root${bind#*:}"
done

mkdir -p "$root/.oldroot"
cd "$root"
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
exec "$@"
