#!/usr/bin/env bash
# Builds the lab's cached parts into OUT (a fresh folder the caller renames into place only on
# success): the Debian trixie root file system every lab host runs on, with sid's CRIU 4.2.1, and
# a podman image store holding the lab's images. Everything comes from Debian's mirror; nothing is
# pulled from a registry. Runs as root on the machine; chroot work happens inside a private mount
# namespace so no mount outlives this script.
#
# usage: build-cache.sh OUT LAB_DIR DEB_CACHE
set -euo pipefail
out=$1 lab=$2 debs=$3
mirror=http://deb.debian.org/debian
host_packages=podman,runc,conmon,netavark,aardvark-dns,catatonit,passt,nftables,openssh-server,iproute2,bash,curl,procps,gdb,util-linux,zstd,ca-certificates,checkpointctl
step() { printf '[build %3ss] %s\n' "$SECONDS" "$*"; }

mkdir -p "$out" "$debs"

# apt inside a chroot, in a throwaway mount namespace with /proc mounted (some postinst need it).
in_chroot() {
	local root=$1; shift
	unshare --mount --propagation private -- bash -c '
		root=$1; shift
		mount -t proc proc "$root/proc"
		mount --bind "$DEBS" "$root/var/cache/apt/archives"
		chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
	' _ "$root" "$@"
}
export DEBS=$debs

step "debootstrap trixie minbase"
debootstrap --variant=minbase --cache-dir="$debs" trixie "$out/minbase" "$mirror" >"$out/debootstrap.log" 2>&1 \
	|| { tail -n 20 "$out/debootstrap.log" >&2; exit 1; }
mkdir -p "$debs/partial"

derive() { # derive NAME: a copy of minbase to install into
	cp -a "$out/minbase" "$out/$1"
}
apt_install() { # apt_install ROOT PACKAGE...
	local root=$1; shift
	in_chroot "$root" apt-get install -y -q --no-install-recommends "$@" >>"$out/apt.log" 2>&1 \
		|| { tail -n 20 "$out/apt.log" >&2; exit 1; }
}
slim() { # drop what a container image does not need
	rm -rf "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/*
}

step "host root file system: podman, runc, openssh, CRIU from sid"
derive host-rootfs
apt_install "$out/host-rootfs" ${host_packages//,/ }
# sid's Release file is expired on this mirror snapshot: accept it for this one install only.
echo "deb [check-valid-until=no] $mirror sid main" >"$out/host-rootfs/etc/apt/sources.list.d/sid.list"
in_chroot "$out/host-rootfs" apt-get update -q >>"$out/apt.log" 2>&1
apt_install "$out/host-rootfs" -t sid criu
rm "$out/host-rootfs/etc/apt/sources.list.d/sid.list"
in_chroot "$out/host-rootfs" apt-get update -q >>"$out/apt.log" 2>&1
install -m 0644 "$lab/recipe/host-files/containers.conf" "$out/host-rootfs/etc/containers/containers.conf"
install -m 0644 "$lab/recipe/host-files/storage.conf" "$out/host-rootfs/etc/containers/storage.conf"
install -m 0644 "$lab/recipe/host-files/sshd_config" "$out/host-rootfs/etc/ssh/sshd_config"
install -D -m 0644 "$lab/recipe/host-files/criu-runc.conf" "$out/host-rootfs/etc/criu/runc.conf"
rm -f "$out/host-rootfs"/etc/ssh/ssh_host_*  # each host gets its own keys at start
mkdir -p "$out/host-rootfs/var/lib/snapdebug-images" "$out/host-rootfs/root/.ssh"
chmod 0700 "$out/host-rootfs/root/.ssh"

step "image root file systems: node, python"
derive node-rootfs
apt_install "$out/node-rootfs" nodejs
slim "$out/node-rootfs"
derive python-rootfs
apt_install "$out/python-rootfs" python3 python3-debugpy gdb
slim "$out/python-rootfs"

step "image root file systems: busybox, native"
mkdir -p "$out/busybox-rootfs/bin" "$out/busybox-rootfs/tmp"
in_chroot "$out/host-rootfs" bash -c 'cd /tmp && apt-get download -q busybox-static >/dev/null && dpkg-deb -x busybox-static_*.deb /tmp/bb && cp /tmp/bb/usr/bin/busybox /tmp/busybox && rm -rf /tmp/bb busybox-static_*.deb'
mv "$out/host-rootfs/tmp/busybox" "$out/busybox-rootfs/bin/busybox"
for applet in sh ls cat sleep ps top echo kill mkdir rm wc; do ln -s busybox "$out/busybox-rootfs/bin/$applet"; done
cp -a "$out/busybox-rootfs" "$out/native-rootfs"
mkdir -p "$out/native-rootfs/app"
gcc -static -g -O0 -fdebug-prefix-map="$lab/demo-native"=/app -o "$out/native-rootfs/app/counter" "$lab/demo-native/counter.c"
cp "$lab/demo-native/counter.c" "$out/native-rootfs/app/counter.c"

step "podman image store"
# podman from the host root file system, in a private mount + PID namespace, writes the store.
mkdir -p "$out/images" "$out/ctx"
for name in node python busybox native; do
	tar -C "$out/$name-rootfs" -cf "$out/ctx/$name.tar" .
done
cp -a "$lab/demo-api" "$out/ctx/demo-api"
cp -a "$lab/demo-python" "$out/ctx/demo-python"
cp "$lab/recipe/build-images.sh" "$out/ctx/"
# The store being written must not list itself as an additional store: its own config here.
printf '[storage]\ndriver = "overlay"\ngraphroot = "/var/lib/snapdebug-images"\nrunroot = "/run/image-build"\n' >"$out/ctx/storage.conf"
mkdir -p "$out/build-root" "$out/build-upper" "$out/build-work"
unshare --mount --pid --fork --propagation private -- bash -c '
	set -euo pipefail
	out=$1 lab=$2
	mount -t overlay overlay -o "lowerdir=$out/host-rootfs,upperdir=$out/build-upper,workdir=$out/build-work" "$out/build-root"
	exec "$lab/recipe/enter-root.sh" "$out/build-root" --bind "$out/images:/var/lib/snapdebug-images" \
		--bind "$out/ctx:/ctx" -- /ctx/build-images.sh
' _ "$out" "$lab" >"$out/images.log" 2>&1 || { tail -n 20 "$out/images.log" >&2; exit 1; }
cat "$out/images.log"

step "versions"
# Package versions, read with dpkg (podman itself will not run in a plain chroot).
version() { chroot "$out/host-rootfs" dpkg-query -W -f '${Version}' "$1" | sed 's/[+~-].*//'; }
printf '{"podman":"%s","criu":"%s","runc":"%s","node":"%s"}\n' \
	"$(version podman)" "$(version criu)" "$(version runc)" "$(chroot "$out/node-rootfs" dpkg-query -W -f '${Version}' nodejs | sed 's/[+~-].*//')" \
	>"$out/versions.json"
cat "$out/versions.json"

rm -rf "$out/minbase" "$out/ctx" "$out"/build-{root,upper,work} "$out"/{node,python,busybox,native}-rootfs
step "done"
