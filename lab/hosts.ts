// Starting and stopping one lab host: a Debian root (trixie, sid or bookworm) in its own mount,
// PID, network, UTS and IPC namespaces (lab/host-init.sh is its PID 1), plus a cgroup namespace and
// a cgroup2 folder of its own for a cgroup2 host, and a socat listener on 127.0.0.1:PORT that
// hands each accepted connection straight to `sshd -i` inside the host (lab/enter-host.sh). socat's `nofork` gives sshd the
// TCP socket itself, so no process copies the bytes in between (scp measured 1.5x faster than a
// socat-to-socat relay).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cgroup2Mount, removeCgroupTree } from './leftovers';
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

/** What a host is made of: its kind's root file system and the shared image store. */
export interface HostParts {
  rootfs: string;
  images: string;
}

/** The cgroup2 folder a cgroup2 host lives in (its cgroup namespace's root), one per lab port. */
export function hostCgroupDir(spec: LabHostSpec): string | undefined {
  if (spec.cgroups !== 'cgroup2') return undefined;
  const mount = cgroup2Mount();
  if (!mount) throw new Error(`lab host ${spec.name} needs a cgroup2 hierarchy, and this machine mounts none`);
  return join(mount, `snapdebug-lab-${spec.sshPort}-${spec.name}`);
}

// socat splits its EXEC address at spaces, commas and colons: the script's path must have none.
const socatSafePath = /^[A-Za-z0-9_./-]+$/;

export async function startHost(spec: LabHostSpec, parts: HostParts): Promise<HostRunState> {
  const state = labFiles.hostState(spec.name);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const log = join(state, 'host.log');
  const enterHost = join(labDir, 'enter-host.sh');
  if (!socatSafePath.test(enterHost)) throw new Error(`the lab cannot run from ${labDir}: move the checkout to a path without spaces, commas or colons`);

  const cgroupDir = hostCgroupDir(spec);
  const unshareArgs = ['--mount', '--pid', '--net', '--uts', '--ipc', ...(cgroupDir ? ['--cgroup'] : []), '--fork', '--propagation', 'private', '--kill-child',
    'bash', join(labDir, 'host-init.sh')];
  if (cgroupDir) {
    removeCgroupTree(cgroupDir); // an earlier run's, empty
    mkdirSync(cgroupDir);
  }
  // A cgroup2 host's namespace is rooted at its own folder: unshare moves itself there first.
  const unsharePid = startDetached(
    cgroupDir ? 'sh' : 'unshare',
    cgroupDir ? ['-c', 'echo $$ >"$1/cgroup.procs" && shift && exec unshare "$@"', 'sh', cgroupDir, ...unshareArgs] : unshareArgs,
    log,
    {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      HOST_NAME: spec.name,
      LOWER: parts.rootfs,
      STATE: state,
      IMAGES: parts.images,
      AUTHORIZED_KEY: labFiles.publicKey,
      HOST_KEYS: labFiles.hostKeys(spec.name),
      CGROUPS: spec.cgroups,
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
    [`TCP-LISTEN:${spec.sshPort},bind=127.0.0.1,fork,reuseaddr`, `EXEC:${enterHost} ${initPid}${cgroupDir ? ` ${cgroupDir}` : ''},nofork`],
    join(state, 'forwarder.log'),
    { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  );
  const forwarder = track(forwarderPid);
  await waitUntil(() => sshBannerAt(spec.sshPort), 10_000, `${spec.name}'s sshd on 127.0.0.1:${spec.sshPort}`, 200);
  return { name: spec.name, sshPort: spec.sshPort, kind: spec.kind, unshare, init, forwarder, ...(cgroupDir && { cgroupDir }) };
}

/** Ends a host: its PID 1 (the kernel then ends every process inside), then its forwarder. */
export async function stopHost(host: HostRunState): Promise<void> {
  signalTracked(host.forwarder, 'SIGTERM', true);
  signalTracked(host.init, 'SIGKILL');
  signalTracked(host.unshare, 'SIGKILL');
  const ours: TrackedPid[] = [host.forwarder, host.init, host.unshare];
  await waitUntil(() => ours.every((p) => !isAlive(p)), 10_000, `${host.name}'s processes to end`);
  // The kernel empties a cgroup a moment after its last process is reaped.
  if (host.cgroupDir) {
    const dir = host.cgroupDir;
    await waitUntil(() => (removeCgroupTree(dir), !existsSync(dir)), 10_000, `${host.name}'s cgroup ${dir} to empty`);
  }
}

export function hostIsRunning(host: HostRunState): boolean {
  return isAlive(host.init) && isAlive(host.forwarder);
}
