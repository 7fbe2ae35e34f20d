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

/**
 * Whether a host has socat, learnt once per host rather than per tunnel: per the session every
 * connection to it shares (lanes are new Host objects each time), else per Host object. The debug
 * host's listen script says so for free (listening.ts); a probe asks only when nothing has.
 */
const socatOnHost = new WeakMap<object, Promise<boolean>>();
/** The probe each Host object ran: it is also what connects a lane that nothing used yet. */
const probedHost = new WeakMap<Host, Promise<boolean>>();

function socatKey(host: Host): object {
  return host.session ?? host;
}

export function rememberSocat(host: Host, has: boolean): void {
  socatOnHost.set(socatKey(host), Promise.resolve(has));
}

/** Asks this host (this connection) once; a definite answer is remembered for the host. */
function probeSocat(host: Host): Promise<boolean> {
  let probe = probedHost.get(host);
  if (!probe) {
    probe = host.runIdempotent(['sh', '-c', 'command -v socat']).then((result) => {
      // No exit status (a dropped channel) is no answer: the bash relay works everywhere meanwhile.
      if (result.exitCode !== null) rememberSocat(host, result.exitCode === 0);
      return result.exitCode === 0;
    });
    probedHost.set(host, probe);
    probe.catch(() => probedHost.delete(host)); // asked again by the next connection
  }
  return probe;
}

/**
 * Connects a tunnel's host (a lane nothing used yet) and learns its relay program: what attaching
 * waits for alongside preparing the debugger, so "attached" means the tunnel's connection works.
 */
export function readyForTunnel(host: Host): Promise<boolean> {
  return probeSocat(host);
}

export function hostHasSocat(host: Host): Promise<boolean> {
  return socatOnHost.get(socatKey(host)) ?? probeSocat(host);
}

/**
 * A relay that found no socat where the host was said to have it (removed since): the host is
 * asked again for the next connection.
 */
function forgetSocat(host: Host): void {
  socatOnHost.delete(socatKey(host));
  probedHost.delete(host);
}

/**
 * The local port listens at once: nothing but a connection needs to know which relay program the
 * host has, nor the connection to the host (a lane, new for a debugger, takes several round
 * trips to connect). Both are got meanwhile, in the background, so attaching does not wait for them and the
 * debugger's first connection finds them ready, or nearly; a failure there is logged and the next
 * connection asks again.
 */
export async function openTunnel(host: Host, pid: number, port: number, options: { localPort?: number; log?: (line: string) => void } = {}): Promise<Tunnel> {
  assertTargetPid(pid);
  const warmUp = probeSocat(host);
  warmUp.catch((error: Error) => options.log?.(`tunnel to ${host.name} pid ${pid} port ${port}: ${error.message}`));
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let useSocat = false;
    hostHasSocat(host)
      .then((socat) => {
        useSocat = socat;
        return host.runner.start(host.privileged(relayArgv(pid, port, socat)));
      })
      .then((relay) => {
        socket.pipe(relay.stdin);
        relay.stdout.pipe(socket);
        socket.on('close', () => relay.close());
        socket.on('error', () => relay.close());
        void relay.exit.then((code) => {
          // 127: nsenter found no socat to run
          if (useSocat && code === 127) forgetSocat(host);
          socket.end();
        });
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
  options.log?.(`tunnel 127.0.0.1:${localPort} -> ${host.name} pid ${pid} 127.0.0.1:${port}`);
  void hostHasSocat(host).then(
    (socat) => options.log?.(`tunnel 127.0.0.1:${localPort} relays with ${socat ? 'socat' : 'bash /dev/tcp'}`),
    () => undefined,
  );
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
