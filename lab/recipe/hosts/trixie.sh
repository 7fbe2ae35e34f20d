# The prod and debug hosts: Debian trixie (podman 5.4, runc 1.1), with sid's CRIU 4.2.1, the
# first CRIU that dumps TCP sockets on kernels 6.16+.
suite=trixie
packages="podman runc conmon netavark aardvark-dns catatonit passt nftables openssh-server iproute2 bash curl procps gdb util-linux zstd ca-certificates sudo"
sid_packages="criu"
