# The legacy host: Debian bookworm's podman 4.3.1 with runc 1.1.5 and conmon 2.1.6. Its netavark
# 1.4 programs iptables, not nft. bookworm's CRIU 3.17 fails `criu check` on this kernel, so CRIU
# 4.2.1 comes from sid; it needs sid's glibc, which apt brings along (about 20 packages). bookworm
# has no checkpointctl package; nothing needs it here (the inspector reads archives locally, and
# lab/checkpointctl.ts runs trixie's).
suite=bookworm
packages="podman runc conmon netavark aardvark-dns catatonit nftables iptables openssh-server iproute2 bash curl procps gdb util-linux zstd ca-certificates sudo"
sid_packages="criu"
