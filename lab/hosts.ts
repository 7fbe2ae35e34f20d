// Starting and stopping one lab host: a Debian root (trixie, sid or bookworm) in its own mount,
// PID, network, UTS and IPC namespaces (lab/host-init.sh is its PID 1), plus a cgroup namespace and
// a cgroup2 folder of its own for a cgroup2 host, and a socat listener on 127.0.0.1:PORT that
// hands each accepted connection straight to `sshd -i` inside the host (lab/enter-host.sh). socat's `nofork` gives sshd the
// TCP socket itself, so no process copies the bytes in between (scp measured 1.5x faster than a
// socat-to-socat relay). A shaped lab (`lab:link wan|lan`) runs lab/relay.ts there instead.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { cgroup2Mount, cgroupMounts, removeCgroupTree } from './leftovers';
import { labDir, labFiles, type LabHostSpec } from './paths';
import { childrenOf, isAlive, signalTracked, track, waitUntil, type TrackedPid } from './proc';
import { labAddress, labHostsFile } from './network';
import type { RelayShape } from './shaping';
import type { HostRunState } from './state';

function startDetached(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv, cwd?: string): number {
  const log = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env, cwd });
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

/**
 * The cgroup folders a cgroup2 host lives in, one in each of this machine's hierarchies (the roots
 * of its cgroup namespace). Not only cgroup2's: the kernel lists the v1 hierarchies in
 * /proc/PID/cgroup too, CRIU dumps and restores them, and restoring the values of the machine's
 * root cgroups into new folders fails (cpuset.cpu_exclusive=1); a folder of its own has plain ones.
 */
export function hostCgroupDirs(spec: LabHostSpec): string[] {
  if (spec.cgroups !== 'cgroup2') return [];
  if (!cgroup2Mount()) throw new Error(`lab host ${spec.name} needs a cgroup2 hierarchy, and this machine mounts none`);
  return cgroupMounts().map((mount) => join(mount, `snapdebug-lab-${spec.sshPort}-${spec.name}`));
}

/**
 * Makes the folders. A v1 cpuset folder takes no process before it has CPUs and memory nodes, and
 * its children (which CRIU makes when restoring) start with none unless clone_children is set.
 */
function makeCgroupDirs(dirs: string[]): void {
  for (const dir of dirs) {
    removeCgroupTree(dir); // an earlier run's, empty
    mkdirSync(dir);
    if (!existsSync(join(dir, 'cpuset.cpus'))) continue;
    for (const file of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, file), readFileSync(join(dirname(dir), file)));
    writeFileSync(join(dir, 'cgroup.clone_children'), '1');
  }
}

// socat splits its EXEC address at spaces, commas and colons: the script's path must have none.
const socatSafePath = /^[A-Za-z0-9_./-]+$/;

/**
 * Starts what carries this machine's SSH connections to a host on 127.0.0.1:PORT: socat handing
 * the socket to sshd (unshaped), or with a shape the relay (lab/relay.ts) adding rate and delay.
 */
export async function startForwarder(host: Pick<HostRunState, 'name' | 'sshPort' | 'init' | 'cgroupDirs'>, shape: RelayShape | undefined): Promise<TrackedPid> {
  const state = labFiles.hostState(host.name);
  const enterHost = join(labDir, 'enter-host.sh');
  const cgroupList = join(state, 'cgroups');
  const enterArgs = [String(host.init.pid), ...((host.cgroupDirs ?? []).length > 0 ? [cgroupList] : [])];
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const log = join(state, 'forwarder.log');
  const forwarderPid = shape
    ? startDetached(process.execPath, ['--import', 'tsx', join(labDir, 'relay.ts'), String(host.sshPort), String(shape.rateBytesPerSecond), String(shape.oneWayDelayMs), String(shape.queueLimitBytes), '--', enterHost, ...enterArgs], log, env, join(labDir, '..'))
    : startDetached('socat', [`TCP-LISTEN:${host.sshPort},bind=127.0.0.1,fork,reuseaddr`, `EXEC:${[enterHost, ...enterArgs].join(' ')},nofork`], log, env);
  const forwarder = track(forwarderPid);
  await waitUntil(async () => !isAlive(forwarder) || (await sshBannerAt(host.sshPort)), 10_000, `${host.name}'s sshd on 127.0.0.1:${host.sshPort}`, 200);
  if (!isAlive(forwarder)) throw new Error(`the forwarder of lab host ${host.name} ended:\n${readFileSync(log, 'utf8')}`);
  return forwarder;
}

/** Replaces a running host's forwarder (open SSH connections through the old one end). */
export async function replaceForwarder(host: HostRunState, shape: RelayShape | undefined): Promise<HostRunState> {
  signalTracked(host.forwarder, 'SIGTERM', true);
  await waitUntil(async () => !isAlive(host.forwarder) && (await portIsFree(host.sshPort)), 10_000, `${host.name}'s forwarder to end`);
  return { ...host, forwarder: await startForwarder(host, shape) };
}

export async function startHost(spec: LabHostSpec, parts: HostParts): Promise<HostRunState> {
  const state = labFiles.hostState(spec.name);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const log = join(state, 'host.log');
  const enterHost = join(labDir, 'enter-host.sh');
  if (!socatSafePath.test(enterHost)) throw new Error(`the lab cannot run from ${labDir}: move the checkout to a path without spaces, commas or colons`);

  const cgroupDirs = hostCgroupDirs(spec);
  const cgroupList = join(state, 'cgroups');
  const unshareArgs = ['--mount', '--pid', '--net', '--uts', '--ipc', ...(cgroupDirs.length > 0 ? ['--cgroup'] : []), '--fork', '--propagation', 'private', '--kill-child',
    'bash', join(labDir, 'host-init.sh')];
  if (cgroupDirs.length > 0) {
    if (!socatSafePath.test(cgroupList)) throw new Error(`the lab cannot keep its state in ${cgroupList}: move the checkout to a path without spaces, commas or colons`);
    makeCgroupDirs(cgroupDirs);
    writeFileSync(cgroupList, cgroupDirs.join('\n') + '\n', { mode: 0o600 });
  }
  // A cgroup2 host's namespace is rooted at its own folders: unshare moves itself there first.
  const joinCgroups = 'while read -r dir; do echo $$ >"$dir/cgroup.procs" || exit 1; done <"$1" && shift && exec unshare "$@"';
  const unsharePid = startDetached(
    cgroupDirs.length > 0 ? 'sh' : 'unshare',
    cgroupDirs.length > 0 ? ['-c', joinCgroups, 'sh', cgroupList, ...unshareArgs] : unshareArgs,
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
      LAB_ADDRESS: labAddress(spec.name),
      LAB_HOSTS: labHostsFile(),
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

  const forwarder = await startForwarder({ name: spec.name, sshPort: spec.sshPort, init, cgroupDirs }, undefined);
  return { name: spec.name, sshPort: spec.sshPort, kind: spec.kind, unshare, init, forwarder, ...(cgroupDirs.length > 0 && { cgroupDirs }) };
}

/** Ends a host: its PID 1 (the kernel then ends every process inside), then its forwarder. */
export async function stopHost(host: HostRunState): Promise<void> {
  signalTracked(host.forwarder, 'SIGTERM', true);
  signalTracked(host.init, 'SIGKILL');
  signalTracked(host.unshare, 'SIGKILL');
  const ours: TrackedPid[] = [host.forwarder, host.init, host.unshare];
  await waitUntil(() => ours.every((p) => !isAlive(p)), 10_000, `${host.name}'s processes to end`);
  // The kernel empties a cgroup a moment after its last process is reaped.
  for (const dir of host.cgroupDirs ?? []) {
    await waitUntil(() => (removeCgroupTree(dir), !existsSync(dir)), 10_000, `${host.name}'s cgroup ${dir} to empty`);
  }
}

export function hostIsRunning(host: HostRunState): boolean {
  return isAlive(host.init) && isAlive(host.forwarder);
}
