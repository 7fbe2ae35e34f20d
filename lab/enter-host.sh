#!/bin/sh
# Runs `sshd -i` inside a lab host for one SSH connection (socat's EXEC target). A host with a
# cgroup namespace of its own (edge) also gets the process into that host's cgroup first: entering
# the namespace alone would leave sshd, and every podman it starts, outside the host's tree.
#
# usage: enter-host.sh INIT_PID [CGROUP_DIR]
set -eu
[ -n "${2:-}" ] && echo $$ >"$2/cgroup.procs"
exec nsenter --target "$1" --all /usr/sbin/sshd -i
