// Where the lab keeps its files: generated SSH material and run state under .lab/ in the
// checkout (git-ignored), the slow-to-build root file systems and images under ~/.cache.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..');
export const labDir = join(repoRoot, 'lab');
export const stateDir = join(repoRoot, '.lab');
export const cacheRoot = process.env.SNAPDEBUG_LAB_CACHE ?? join(homedir(), '.cache', 'snapdebug', 'lab');

export const labFiles = {
  privateKey: join(stateDir, 'id_ed25519'),
  publicKey: join(stateDir, 'id_ed25519.pub'),
  knownHosts: join(stateDir, 'known_hosts'),
  sshConfig: join(stateDir, 'ssh_config'),
  state: join(stateDir, 'state.json'),
  hostKeys: (host: string) => join(stateDir, 'hostkeys', host),
  hostState: (host: string) => join(stateDir, 'hosts', host),
};

/** The Debian suite a host's root file system comes from (lab/recipe/hosts/KIND.sh). */
export type HostKind = 'trixie' | 'sid' | 'bookworm';

export interface LabHostSpec {
  name: string;
  sshPort: number;
  kind: HostKind;
  /**
   * 'hybrid': the machine's own cgroup v1 + v2 mounts (runc only). 'cgroup2': a cgroup2-only
   * /sys/fs/cgroup in a cgroup namespace of the host's own, which crun needs (docs/architecture.md).
   */
  cgroups: 'hybrid' | 'cgroup2';
  /** Started only by `lab:up -- --all` (and so by the test suites and CI). */
  extra: boolean;
}

/**
 * Where this lab's ports start (prod, debug, then the others). Another checkout (a git worktree)
 * can run a lab of its own beside this one with SNAPDEBUG_LAB_PORT_BASE and SNAPDEBUG_LAB_CACHE.
 */
export const labPortBase = Number(process.env.SNAPDEBUG_LAB_PORT_BASE ?? 2201);
if (!Number.isInteger(labPortBase) || labPortBase < 1024 || labPortBase > 65000) {
  throw new Error(`SNAPDEBUG_LAB_PORT_BASE=${process.env.SNAPDEBUG_LAB_PORT_BASE} is not a port from 1024 to 65000`);
}

/**
 * The lab's hosts, reachable only on the machine's loopback: prod and debug always; with `--all`
 * edge (sid: podman 5.8, crun and runc), legacy (bookworm: podman 4.3) and edge2, a second sid
 * host: crun checkpoints restore only where crun and cgroup v2 are, so edge's copies and
 * migrations need a host like it.
 */
export const labHosts: readonly LabHostSpec[] = [
  { name: 'prod', sshPort: labPortBase, kind: 'trixie', cgroups: 'hybrid', extra: false },
  { name: 'debug', sshPort: labPortBase + 1, kind: 'trixie', cgroups: 'hybrid', extra: false },
  { name: 'edge', sshPort: labPortBase + 2, kind: 'sid', cgroups: 'cgroup2', extra: true },
  { name: 'legacy', sshPort: labPortBase + 3, kind: 'bookworm', cgroups: 'hybrid', extra: true },
  { name: 'edge2', sshPort: labPortBase + 4, kind: 'sid', cgroups: 'cgroup2', extra: true },
];

/**
 * ssh_config aliases reaching a host as the normal user `dev`, whose only root rights are the
 * snapdebug sudo rule: prod-sudo (a source), debug-sudo (where copies run and debuggers attach).
 */
export const sudoAliases = [
  { name: 'prod-sudo', host: 'prod', user: 'dev' },
  { name: 'debug-sudo', host: 'debug', user: 'dev' },
] as const;

export function labHostSpec(name: string): LabHostSpec {
  const spec = labHosts.find((h) => h.name === name);
  if (!spec) throw new Error(`no lab host is named ${name}`);
  return spec;
}
