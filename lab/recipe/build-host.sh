#!/usr/bin/env bash
# Builds one lab host root file system into OUT (a fresh folder the caller renames into place
# only on success): a Debian minbase of the suite named in lab/recipe/hosts/KIND.sh, its packages,
# the lab's host files, the user `dev` with the snapdebug sudo rule, and versions.json. Everything
# comes from Debian's mirror. Runs as root; chroot work happens in private mount namespaces.
#
# usage: build-host.sh KIND OUT LAB_DIR DEB_CACHE
set -euo pipefail
kind=$1 out=$2 lab=$3 debs=$4
mirror=http://deb.debian.org/debian
# shellcheck source=/dev/null
. "$lab/recipe/hosts/$kind.sh" # sets suite, packages, sid_packages
step() { printf '[build %3ss] %s host: %s\n' "$SECONDS" "$kind" "$*"; }
root=$out/rootfs
mkdir -p "$out" "$debs/partial"

# apt inside a chroot, in a throwaway mount namespace with /proc mounted (some postinst need it).
in_chroot() {
	unshare --mount --propagation private -- bash -c '
		root=$1 debs=$2; shift 2
		mount -t proc proc "$root/proc"
		mount --bind "$debs" "$root/var/cache/apt/archives"
		chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
	' _ "$root" "$debs" "$@"
}
apt_in() {
	in_chroot apt-get "$@" >>"$out/apt.log" 2>&1 || { tail -n 20 "$out/apt.log" >&2; exit 1; }
}
# sid's Release file is expired on this mirror snapshot: every sid line accepts it.
sid_line="deb [check-valid-until=no] $mirror sid main"

step "debootstrap $suite minbase"
debootstrap --variant=minbase --cache-dir="$debs" "$suite" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 \
	|| { tail -n 20 "$out/debootstrap.log" >&2; exit 1; }
[ "$suite" = sid ] && echo "$sid_line" >"$root/etc/apt/sources.list"
apt_in update -q

step "packages from $suite"
# shellcheck disable=SC2086
apt_in install -y -q --no-install-recommends $packages
if [ -n "$sid_packages" ]; then
	step "from sid: $sid_packages"
	echo "$sid_line" >"$root/etc/apt/sources.list.d/sid.list"
	apt_in update -q
	# shellcheck disable=SC2086
	apt_in install -y -q --no-install-recommends -t sid $sid_packages
	rm "$root/etc/apt/sources.list.d/sid.list"
	apt_in update -q
fi

step "lab files, user dev, sudo rule"
conf=$lab/recipe/host-files
own() { # own NAME DEFAULT: the host kind's own file if it has one (lab/recipe/hosts/KIND.NAME)
	if [ -f "$lab/recipe/hosts/$kind.$1" ]; then echo "$lab/recipe/hosts/$kind.$1"; else echo "$2"; fi
}
install -m 0644 "$(own containers.conf "$conf/containers.conf")" "$root/etc/containers/containers.conf"
install -m 0644 "$conf/storage.conf" "$root/etc/containers/storage.conf"
install -m 0644 "$conf/sshd_config" "$root/etc/ssh/sshd_config"
install -D -m 0644 "$conf/criu-runc.conf" "$root/etc/criu/runc.conf"
rm -f "$root"/etc/ssh/ssh_host_* # each host gets its own keys at start
mkdir -p "$root/var/lib/snapdebug-images" "$root/root/.ssh"
chmod 0700 "$root/root/.ssh"
# dev: a normal user whose sudo rule names only the programs snapdebug runs. '*' = no password,
# but not locked (sshd refuses key logins into a locked account when it does not use PAM).
chroot "$root" useradd --create-home --shell /bin/bash dev
chroot "$root" usermod -p '*' dev
install -d -m 0700 "$root/home/dev/.ssh"
chroot "$root" chown dev:dev /home/dev/.ssh
install -m 0440 "$conf/sudoers-snapdebug" "$root/etc/sudoers.d/snapdebug"
chroot "$root" visudo -c -q -f /etc/sudoers.d/snapdebug
# The rule names absolute paths: each must be what sudo finds through Debian's secure_path.
secure_path=$(sed -n 's/^Defaults[[:space:]]*secure_path="\(.*\)"/\1/p' "$root/etc/sudoers")
for program in podman criu nsenter kill gdb cat rm; do
	path=$(chroot "$root" env PATH="$secure_path" which "$program") || { echo "$kind host lacks $program" >&2; exit 1; }
	grep -qwF "$path" "$conf/sudoers-snapdebug" || { echo "sudoers-snapdebug lacks $path" >&2; exit 1; }
done

step "versions"
# Package versions, read with dpkg (podman itself does not run in a plain chroot).
version() { chroot "$root" dpkg-query -W -f '${Version}' "$1" 2>/dev/null | sed 's/^[0-9]*://; s/[+~-].*//'; }
printf '{"suite":"%s","podman":"%s","criu":"%s","runc":"%s","crun":"%s","conmon":"%s"}\n' \
	"$suite" "$(version podman)" "$(version criu)" "$(version runc)" "$(version crun)" "$(version conmon)" >"$out/versions.json"
cat "$out/versions.json"
step "done"
