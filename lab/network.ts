// The link between the lab's hosts: a network namespace of the lab's own (the hub, held by one
// `sleep` process) with a bridge, and one veth pair per host (lab-NAME in the hub, eth-lab in the
// host) carrying the host's address in 10.77.0.0/24. Every host knows every other by name
// (/etc/hosts, written by host-init.sh) and its sshd listens on that address too. Nothing of it
// lives in this machine's own namespace: ending the hub's process ends the bridge and every veth.
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { labHosts, type LabHostSpec } from './paths';
import { isAlive, signalTracked, track, waitUntil, type TrackedPid } from './proc';

export const labSubnetPrefix = '10.77.0';
export const labSubnetBits = 24;
export const hubBridge = 'br-lab';
/** The host's end of its veth pair. */
export const hostLinkName = 'eth-lab';

/** A host's fixed address on the lab link: by its place in the host list, whether or not it runs. */
export function labAddress(hostName: string): string {
  const index = labHosts.findIndex((h) => h.name === hostName);
  if (index < 0) throw new Error(`no lab host is named ${hostName}`);
  return `${labSubnetPrefix}.${11 + index}`;
}

/** The hub's end of a host's veth pair (interface names have at most 15 characters). */
export function hubLinkName(hostName: string): string {
  const name = `lab-${hostName}`;
  if (name.length > 15) throw new Error(`lab host name ${hostName} is too long for an interface name`);
  return name;
}

/** /etc/hosts lines naming every lab host on the lab link (written into each host's root). */
export function labHostsFile(hosts: readonly LabHostSpec[] = labHosts): string {
  return hosts.map((h) => `${labAddress(h.name)} ${h.name}`).join('\n') + '\n';
}

/** Runs `ip`/`tc` inside the network namespace of a process (the hub's or a host's init). */
export async function inNetns(pid: number, program: 'ip' | 'tc', args: string[]): Promise<string> {
  const { stdout } = await execa('nsenter', [`--net=/proc/${pid}/ns/net`, '--', program, ...args]);
  return stdout;
}

/** Starts the hub: a `sleep` alone in a new network namespace, holding a bridge that is up. */
export async function startHub(): Promise<TrackedPid> {
  const child = spawn('unshare', ['--net', '--', 'sleep', 'infinity'], { detached: true, stdio: 'ignore', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  if (child.pid === undefined) throw new Error('could not start the lab link hub');
  child.unref();
  const pid = child.pid;
  // unshare execs sleep once the namespace exists: wait for that, so we never configure ours.
  await waitUntil(async () => {
    const [mine, theirs] = await Promise.all([execa('readlink', ['/proc/self/ns/net']), execa('readlink', [`/proc/${pid}/ns/net`], { reject: false })]);
    return theirs.exitCode === 0 && theirs.stdout !== mine.stdout;
  }, 5000, 'the lab link hub');
  const hub = track(pid);
  try {
    await inNetns(pid, 'ip', ['link', 'set', 'lo', 'up']);
    await inNetns(pid, 'ip', ['link', 'add', hubBridge, 'type', 'bridge']);
    await inNetns(pid, 'ip', ['link', 'set', hubBridge, 'up']);
  } catch (error) {
    stopHub(hub);
    throw error;
  }
  return hub;
}

/** Connects a running host to the hub: a veth pair, the host's end addressed and up. */
export async function attachHost(hub: TrackedPid, hostName: string, hostInitPid: number): Promise<void> {
  const hubEnd = hubLinkName(hostName);
  await inNetns(hub.pid, 'ip', ['link', 'add', hubEnd, 'type', 'veth', 'peer', 'name', hostLinkName, 'netns', String(hostInitPid)]);
  await inNetns(hub.pid, 'ip', ['link', 'set', hubEnd, 'master', hubBridge, 'up']);
  await inNetns(hostInitPid, 'ip', ['addr', 'add', `${labAddress(hostName)}/${labSubnetBits}`, 'dev', hostLinkName]);
  await inNetns(hostInitPid, 'ip', ['link', 'set', hostLinkName, 'up']);
}

/** Ends the hub; the kernel removes its namespace, the bridge and every veth pair with it. */
export function stopHub(hub: TrackedPid | undefined): void {
  signalTracked(hub, 'SIGKILL');
}

export function hubIsRunning(hub: TrackedPid | undefined): boolean {
  return isAlive(hub);
}
