# The prod and debug hosts: Debian trixie (podman 5.4, runc 1.1), with sid's CRIU 4.2.1, the
# first CRIU that dumps TCP sockets on kernels 6.16+. checkpointctl 1.3.0: lab/checkpointctl.ts runs
# it from this root on the machine, as the inspector's reference (no host runs it).
suite=trixie
packages="podman runc conmon netavark aardvark-dns catatonit passt nftables openssh-server iproute2 bash curl procps gdb util-linux zstd ca-certificates sudo checkpointctl"
sid_packages="criu"
