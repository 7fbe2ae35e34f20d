// Numbers CRIU images carry and the words people know them by: file descriptor kinds
// (fdinfo.proto fd_types), socket families, types, protocols and TCP states (Linux's values, as
// CRIU stores them), and the VMA status bits of criu/include/image.h.

export const fdTypeNames: Record<number, string> = {
  0: 'UND', 1: 'REG', 2: 'PIPE', 3: 'FIFO', 4: 'INETSK', 5: 'UNIXSK', 6: 'EVENTFD', 7: 'EVENTPOLL', 8: 'INOTIFY',
  9: 'SIGNALFD', 10: 'PACKETSK', 11: 'TTY', 12: 'FANOTIFY', 13: 'NETLINKSK', 14: 'NS', 15: 'TUNF', 16: 'EXT',
  17: 'TIMERFD', 18: 'MEMFD', 19: 'BPFMAP', 20: 'PIDFD',
};

export const fdType = { reg: 1, pipe: 2, fifo: 3, inetSocket: 4, unixSocket: 5, packetSocket: 10, tty: 11, netlinkSocket: 13, memfd: 18 } as const;

/** What `ls -l /proc/PID/fd` shows for descriptors that have no path. */
export const anonInodeNames: Record<number, string> = {
  6: '[eventfd]', 7: '[eventpoll]', 8: 'inotify', 9: '[signalfd]', 12: '[fanotify]', 17: '[timerfd]', 20: '[pidfd]',
};

export const addressFamilies: Record<number, string> = { 1: 'UNIX', 2: 'IPv4', 10: 'IPv6', 16: 'NETLINK', 17: 'PACKET' };
export const socketTypes: Record<number, string> = { 1: 'STREAM', 2: 'DGRAM', 3: 'RAW', 5: 'SEQPACKET' };
export const ipProtocols: Record<number, string> = { 0: 'IP', 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 136: 'UDPLITE' };

/** Linux's TCP states (include/net/tcp_states.h); unix sockets use the same numbers. */
export const tcpStates: Record<number, string> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT', 7: 'CLOSE',
  8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING',
};

/** VMA status bits (criu/include/image.h). */
export const vmaStatus = {
  regular: 1 << 0,
  stack: 1 << 1,
  vsyscall: 1 << 2,
  vdso: 1 << 3,
  heap: 1 << 5,
  filePrivate: 1 << 6,
  fileShared: 1 << 7,
  anonShared: 1 << 8,
  anonPrivate: 1 << 9,
  sysvIpc: 1 << 10,
  socket: 1 << 11,
  vvar: 1 << 12,
  aioRing: 1 << 13,
  memfd: 1 << 14,
} as const;

/** mmap flags as stored in a VMA entry. */
export const mapFlags = { shared: 0x01, private: 0x02, anonymous: 0x20, growsDown: 0x100 } as const;

/** Pagemap entry flags (criu/include/page-read.h). */
export const pagemapFlags = { parent: 1 << 0, lazy: 1 << 1, present: 1 << 2 } as const;

/** Task states in core.proto's task_core_entry (criu/include/image.h). */
export const taskStates: Record<number, string> = { 1: 'alive', 2: 'dead', 3: 'stopped', 4: 'helper', 5: 'thread' };

export const pageBytes = 4096;
