#!/usr/bin/env bash
# Runs inside a lab host root (see build-cache.sh): writes the lab's images into the shared
# image store from the root file system tars and build contexts in /ctx.
set -euo pipefail
export PODMAN_IGNORE_CGROUPSV1_WARNING=1 CONTAINERS_STORAGE_CONF=/ctx/storage.conf
podman import --change 'CMD ["/bin/bash"]' /ctx/node.tar localhost/snapdebug/node:20 >/dev/null
podman import --change 'CMD ["/bin/bash"]' /ctx/python.tar localhost/snapdebug/python:3 >/dev/null
podman import --change 'CMD ["/bin/sh"]' /ctx/busybox.tar localhost/snapdebug/busybox:latest >/dev/null
podman import --change 'CMD ["/app/counter"]' /ctx/native.tar localhost/snapdebug/native:latest >/dev/null
podman build --network none -q -t localhost/snapdebug/demo-api:latest /ctx/demo-api >/dev/null
podman build --network none -q -t localhost/snapdebug/demo-python:latest /ctx/demo-python >/dev/null
/ctx/build-runtime-images.sh
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}'
