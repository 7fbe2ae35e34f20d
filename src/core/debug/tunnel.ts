// A local TCP port that reaches a port on the loopback of a container on a remote host. A
// debugger listening on a copy's 127.0.0.1 is invisible to sshd's port forwarding (it lives in the
// copy's network namespace), so each connection runs a relay inside that namespace through
// `nsenter --target PID --net`: socat when the host has it, else bash's /dev/tcp, which every host
// with bash has.
import { createServer, type Server, type Socket } from 'node:net';
import type { Host } from '../host';
import { SnapdebugError } from '../util/errors';

export interface Tunnel {
  /** The local port, on 127.0.0.1. */
  port: number;
  /** Open connections through it. */
  connections(): number;
  close(): Promise<void>;
}

// Both directions at once; when our side closes, the reader is ended so nothing lingers.
const bashRelay = 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; cat <&3 & reader=$!; cat >&3; kill "$reader" 2>/dev/null; wait';

/** Relay argv: stdin/stdout <-> 127.0.0.1:port, run inside the target's network namespace. */
export function relayArgv(pid: number, port: number, useSocat: boolean): string[] {
  assertTargetPid(pid);
  const inNetns = ['nsenter', '--target', String(pid), '--net', '--'];
  if (useSocat) return [...inNetns, 'socat', 'STDIO', `TCP:127.0.0.1:${port}`];
  return [...inNetns, 'bash', '-c', bashRelay, 'bash', String(port)];
}

/** PID 0 reads as "no process" and 1 is the host's init: neither is ever a debug target. */
export function assertTargetPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 1) throw new SnapdebugError(`Refusing to act on host PID ${pid}: it is not a process of the copy.`);
}

export async function hostHasSocat(host: Host): Promise<boolean> {
  return (await host.runIdempotent(['sh', '-c', 'command -v socat'])).exitCode === 0;
}

export async function openTunnel(host: Host, pid: number, port: number, options: { localPort?: number; log?: (line: string) => void } = {}): Promise<Tunnel> {
  assertTargetPid(pid);
  const useSocat = await hostHasSocat(host);
  const argv = host.privileged(relayArgv(pid, port, useSocat));
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    host.runner
      .start(argv)
      .then((relay) => {
        socket.pipe(relay.stdin);
        relay.stdout.pipe(socket);
        socket.on('close', () => relay.close());
        socket.on('error', () => relay.close());
        void relay.exit.then(() => socket.end());
      })
      .catch((error: Error) => {
        options.log?.(`tunnel to ${host.name} pid ${pid} port ${port}: ${error.message}`);
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new SnapdebugError(`Local port ${options.localPort} is already in use.`, { fix: { text: 'Choose another local port.', options: [{ name: 'localPort' }] } })
          : error,
      ),
    );
    server.listen(options.localPort ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const localPort = typeof address === 'object' && address ? address.port : 0;
  options.log?.(`tunnel 127.0.0.1:${localPort} -> ${host.name} pid ${pid} 127.0.0.1:${port} (${useSocat ? 'socat' : 'bash /dev/tcp'})`);
  return {
    port: localPort,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port of the copy's service, reachable here. */
export interface ForwardedPort {
  /** As the original published it: "8080/tcp". */
  port: string;
  /** On 127.0.0.1 here. */
  local: number;
  tunnel: Tunnel;
}

/**
 * Local ports for the TCP ports the original published, reaching the copy's own loopback (its
 * published ports listen only on the debug host's loopback): what a developer sends requests to,
 * to hit a breakpoint. A port that cannot be forwarded is logged and left out.
 */
export async function forwardServicePorts(host: Host, pid: number, ports: readonly string[], log?: (line: string) => void): Promise<ForwardedPort[]> {
  const tcp = ports.flatMap((spec) => (/^\d+\/tcp$/.test(spec) ? [Number(spec.split('/')[0])] : []));
  const opened = await Promise.all(
    tcp.map(async (containerPort) => {
      try {
        const tunnel = await openTunnel(host, pid, containerPort, log ? { log } : {});
        return [{ port: `${containerPort}/tcp`, local: tunnel.port, tunnel }];
      } catch (error) {
        log?.(`could not forward the copy's port ${containerPort}/tcp: ${(error as Error).message}`);
        return [];
      }
    }),
  );
  return opened.flat();
}
