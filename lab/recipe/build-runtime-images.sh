#!/usr/bin/env bash
# Runs inside a lab host root after build-images.sh (same environment): the demo-go and demo-java
# images, from the root file system tars runtimes.sh put in /ctx.
set -euo pipefail
export PODMAN_IGNORE_CGROUPSV1_WARNING=1 CONTAINERS_STORAGE_CONF=/ctx/storage.conf
podman import --change 'CMD ["/app/demo-go"]' --change 'WORKDIR /app' /ctx/go.tar localhost/snapdebug/demo-go:latest >/dev/null
podman import --change 'CMD ["java", "-Xmx64m", "-XX:+UseSerialGC", "-cp", "/app", "Demo"]' --change 'WORKDIR /app' \
	/ctx/java.tar localhost/snapdebug/demo-java:latest >/dev/null
