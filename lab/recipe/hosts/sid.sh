# The edge host: Debian sid, everything from it (podman 5.8, runc 1.3, crun 1.28, CRIU 4.2.1).
# libcriu2: crun reaches CRIU through libcriu.so.2, which podman only recommends. checkpointctl
# 1.3.0, as on trixie: a user of podman 5.8 has it at hand (nothing of ours runs it on a host).
suite=sid
packages="podman runc crun conmon netavark aardvark-dns catatonit passt nftables openssh-server iproute2 bash curl procps gdb util-linux zstd ca-certificates sudo criu libcriu2 checkpointctl"
sid_packages=""
