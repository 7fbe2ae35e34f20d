#!/usr/bin/env bash
# PID 1 of one lab host. Started by the lab inside fresh mount, PID, network, UTS and IPC
# namespaces; builds the host's root (the cached trixie root file system under an overlay, plus
# its own container storage), pivots into it and runs sshd under catatonit, which reaps zombies.
# Killing this process ends the whole host: the kernel then kills every process in its PID
# namespace and drops every mount in its mount namespace.
#
# environment: HOST_NAME LOWER STATE IMAGES AUTHORIZED_KEY HOST_KEYS CGROUPS (hybrid|cgroup2)
#   LAB_ADDRESS (this host's address on the lab link) LAB_HOSTS (/etc/hosts lines for every host)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

hostname "$HOST_NAME"
ip link set lo up

root=$STATE/root
mkdir -p "$STATE/upper" "$STATE/work" "$STATE/storage" "$root"
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$STATE/upper,workdir=$STATE/work" "$root"

install -m 0600 "$HOST_KEYS"/ssh_host_*_key "$root/etc/ssh/"
install -m 0644 "$HOST_KEYS"/ssh_host_*_key.pub "$root/etc/ssh/"
install -m 0600 "$AUTHORIZED_KEY" "$root/root/.ssh/authorized_keys"
# The normal user dev (lab/recipe/build-host.sh) logs in with the same key.
install -m 0600 "$AUTHORIZED_KEY" "$root/home/dev/.ssh/authorized_keys"
chroot "$root" chown dev:dev /home/dev/.ssh/authorized_keys
echo "$HOST_NAME" >"$root/etc/hostname"
printf '127.0.0.1 localhost\n%s' "$LAB_HOSTS" >"$root/etc/hosts"
# sshd listens on the lab link too (lab/network.ts). The lab adds that address only after this
# host is up, so sshd may bind it before it exists.
printf 'ListenAddress %s\n' "$LAB_ADDRESS" >>"$root/etc/ssh/sshd_config"
echo 1 >/proc/sys/net/ipv4/ip_nonlocal_bind

echo "host $HOST_NAME: starting sshd"
# podman's overlay driver cannot keep its layers on an overlay: the storage is on the real disk.
cgroup_flag=()
[ "${CGROUPS:-hybrid}" = cgroup2 ] && cgroup_flag=(--cgroup2)
exec "$here/recipe/enter-root.sh" "$root" "${cgroup_flag[@]}" \
	--bind "$STATE/storage:/var/lib/containers/storage" \
	--bind "$IMAGES:/var/lib/snapdebug-images" \
	-- /bin/sh -c 'mkdir -p /run/sshd && exec /usr/libexec/podman/catatonit -- /usr/sbin/sshd -D -e'
