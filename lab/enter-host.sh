#!/bin/sh
# Runs `sshd -i` inside a lab host for one SSH connection (socat's EXEC target). A host with a
# cgroup namespace of its own (edge) also gets the process into that host's cgroups first (one
# folder a line in CGROUP_LIST): entering the namespace alone would leave sshd, and every podman it
# starts, outside the host's tree.
#
# usage: enter-host.sh INIT_PID [CGROUP_LIST]
set -eu
if [ -n "${2:-}" ]; then
	while read -r dir; do echo $$ >"$dir/cgroup.procs"; done <"$2"
fi
exec nsenter --target "$1" --all /usr/sbin/sshd -i
