# Sourced by build-cache.sh (it uses its helpers: step, derive, apt_install, in_chroot, slim): the
# parts of the lab for the Go and Java attach paths (issue 17), kept in this file of their own.
#   runtimes_host_tools ROOT   Delve on the lab hosts' root file system (debug hosts attach with it)
#   runtimes_images            demo-go and demo-java root file systems, built from Debian packages
#   runtimes_context CTX       their image tars and build script into the image build context
# Go and Delve both come from trixie (Go 1.24, Delve 1.24): a Delve supports only the Go releases
# of its time, and sid's Delve 1.27 refuses a Go 1.24 program.

runtimes_host_tools() {
	apt_install "$1" delve
}

runtimes_images() {
	# Go: built in a throwaway trixie with golang-go, statically (CGO off), without optimisations so
	# Delve sees every local; the source sits at /app in the image, where the binary's DWARF says.
	derive go-build
	apt_install "$out/go-build" golang-go
	mkdir -p "$out/go-build/app"
	cp "$lab/demo-go/main.go" "$lab/demo-go/go.mod" "$out/go-build/app/"
	in_chroot "$out/go-build" sh -c 'cd /app && CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOCACHE=/tmp/go-cache \
		go build -gcflags=all="-N -l" -o /app/demo-go .' >>"$out/apt.log" 2>&1 || { tail -n 20 "$out/apt.log" >&2; exit 1; }
	cp -a "$out/busybox-rootfs" "$out/go-rootfs"
	mkdir -p "$out/go-rootfs/app"
	cp "$out/go-build/app/demo-go" "$out/go-build/app/main.go" "$out/go-rootfs/app/"
	rm -rf "$out/go-build"

	# Java: OpenJDK 21 with its tools (jcmd), the service compiled with full debug information.
	derive java-rootfs
	mkdir -p "$out/java-rootfs/usr/share/man/man1" # openjdk's postinst wants it
	apt_install "$out/java-rootfs" openjdk-21-jdk-headless
	mkdir -p "$out/java-rootfs/app"
	cp "$lab/demo-java/Demo.java" "$out/java-rootfs/app/"
	in_chroot "$out/java-rootfs" javac -g -d /app /app/Demo.java >>"$out/apt.log" 2>&1 || { tail -n 20 "$out/apt.log" >&2; exit 1; }
	slim "$out/java-rootfs"
}

runtimes_context() {
	local ctx=$1
	tar -C "$out/go-rootfs" -cf "$ctx/go.tar" .
	tar -C "$out/java-rootfs" -cf "$ctx/java.tar" .
	cp "$lab/recipe/build-runtime-images.sh" "$ctx/"
	rm -rf "$out/go-rootfs" "$out/java-rootfs"
}
