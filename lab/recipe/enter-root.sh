#!/usr/bin/env bash
# Makes ROOT the root file system of the current (private) mount namespace and runs CMD in it:
# fresh /proc, the machine's /sys and /dev, tmpfs /run and /tmp, optional bind mounts, then
# pivot_root. A plain chroot is not enough here: `criu check` and podman's layer unpacking both
# need a real root mount. Call it inside `unshare --mount --pid --fork --propagation private`.
# With --cgroup2 (inside a cgroup namespace too), /sys is a fresh sysfs with only a cgroup2
# hierarchy at /sys/fs/cgroup, as on a cgroup-v2-only machine: crun refuses the hybrid layout.
#
# usage: enter-root.sh ROOT [--cgroup2] [--bind SRC:DST]... -- CMD [ARG]...
set -euo pipefail
root=$1; shift
binds=() cgroup2=no
while [ "$1" != "--" ]; do
	case $1 in
	--bind) binds+=("$2"); shift 2 ;;
	--cgroup2) cgroup2=yes; shift ;;
	*) echo "enter-root.sh: unexpected $1" >&2; exit 2 ;;
	esac
done
shift

mountpoint -q "$root" || mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
if [ "$cgroup2" = yes ]; then
	mount -t sysfs sysfs "$root/sys"
	mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup"
else
	mount --rbind /sys "$root/sys"
fi
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
