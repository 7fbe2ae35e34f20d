// Starting and stopping one lab host: a trixie root in its own mount, PID, network, UTS and IPC
// namespaces (lab/host-init.sh is its PID 1), and a socat listener on 127.0.0.1:PORT that hands
// each accepted connection straight to `sshd -i` inside the host. socat's `nofork` gives sshd the
// TCP socket itself, so no process copies the bytes in between (scp measured 1.5x faster than a
// socat-to-socat relay).
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { LabCache } from './cache';
import { labDir, labFiles, type LabHostSpec } from './paths';
import { childrenOf, isAlive, signalTracked, track, waitUntil, type TrackedPid } from './proc';
import type { HostRunState } from './state';

function startDetached(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv): number {
  const log = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Resolves when the port answers with an SSH banner. */
export function sshBannerAt(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('SSH-2.0-')));
  });
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

export async function startHost(spec: LabHostSpec, cache: LabCache): Promise<HostRunState> {
  const state = labFiles.hostState(spec.name);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const log = join(state, 'host.log');

  const unsharePid = startDetached(
    'unshare',
    ['--mount', '--pid', '--net', '--uts', '--ipc', '--fork', '--propagation', 'private', '--kill-child',
      'bash', join(labDir, 'host-init.sh')],
    log,
    {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      HOST_NAME: spec.name,
      LOWER: cache.hostRootfs,
      STATE: state,
      IMAGES: cache.images,
      AUTHORIZED_KEY: labFiles.publicKey,
      HOST_KEYS: labFiles.hostKeys(spec.name),
    },
  );
  const unshare = track(unsharePid);
  let initPid = 0;
  await waitUntil(() => (initPid = childrenOf(unsharePid)[0] ?? 0) > 0 || !isAlive(unshare), 5000, `${spec.name}'s init`);
  if (!isAlive(unshare)) throw new Error(`lab host ${spec.name} did not start:\n${readFileSync(log, 'utf8')}`);
  const init = track(initPid);
  // host-init.sh ends by exec'ing catatonit inside the new root: only then can sshd be entered.
  await waitUntil(() => commOf(initPid) === 'catatonit' || !isAlive(init), 20_000, `${spec.name}'s root`);
  if (!isAlive(init)) throw new Error(`lab host ${spec.name} failed while starting:\n${readFileSync(log, 'utf8')}`);

  const forwarderPid = startDetached(
    'socat',
    [`TCP-LISTEN:${spec.sshPort},bind=127.0.0.1,fork,reuseaddr`, `EXEC:nsenter --target ${initPid} --all /usr/sbin/sshd -i,nofork`],
    join(state, 'forwarder.log'),
    { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  );
  const forwarder = track(forwarderPid);
  await waitUntil(() => sshBannerAt(spec.sshPort), 10_000, `${spec.name}'s sshd on 127.0.0.1:${spec.sshPort}`, 200);
  return { name: spec.name, sshPort: spec.sshPort, unshare, init, forwarder };
}

/** Ends a host: its PID 1 (the kernel then ends every process inside), then its forwarder. */
export async function stopHost(host: HostRunState): Promise<void> {
  signalTracked(host.forwarder, 'SIGTERM', true);
  signalTracked(host.init, 'SIGKILL');
  signalTracked(host.unshare, 'SIGKILL');
  const ours: TrackedPid[] = [host.forwarder, host.init, host.unshare];
  await waitUntil(() => ours.every((p) => !isAlive(p)), 10_000, `${host.name}'s processes to end`);
}

export function hostIsRunning(host: HostRunState): boolean {
  return isAlive(host.init) && isAlive(host.forwarder);
}
