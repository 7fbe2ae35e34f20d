// The lab's run state (.lab/state.json): which processes it started, so that `lab:down` ends
// exactly those, and what it created in this machine's cgroup tree, so it can remove it again.
import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { labFiles, type HostKind } from './paths';
import type { TrackedPid } from './proc';
import type { LinkProfile } from './shaping';

export interface HostRunState {
  name: string;
  sshPort: number;
  kind: HostKind;
  /** `unshare` itself, in this machine's namespaces. */
  unshare: TrackedPid;
  /** PID 1 of the host's PID namespace, as this machine sees it. */
  init: TrackedPid;
  /** The socat listener on 127.0.0.1:sshPort (a process group of its own). */
  forwarder: TrackedPid;
  /** A cgroup2 host's own cgroup folders in this machine's hierarchies, removed when the host ends. */
  cgroupDirs?: string[];
}

export interface LabRunState {
  /** Cache part (host-trixie, images, …) → the folder each running host was built from. */
  parts: Record<string, string>;
  startedAt: string;
  hosts: HostRunState[];
  /** The `sleep` holding the network namespace of the link between hosts (lab/network.ts). */
  hub?: TrackedPid;
  /** The shaping `lab:link` last applied (absent: off). */
  link?: LinkProfile;
  /** cgroup v1/v2 folders named libpod_parent that did not exist before the lab started. */
  createdCgroupParents: string[];
}

export function readState(): LabRunState | undefined {
  if (!existsSync(labFiles.state)) return undefined;
  return JSON.parse(readFileSync(labFiles.state, 'utf8')) as LabRunState;
}

export function writeState(state: LabRunState): void {
  writeFileSync(labFiles.state, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

export function clearState(): void {
  rmSync(labFiles.state, { force: true });
}
