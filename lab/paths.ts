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

export interface LabHostSpec {
  name: string;
  sshPort: number;
}

/**
 * Where this lab's ports start (prod, debug, then the others). Another checkout (a git worktree)
 * can run a lab of its own beside this one with SNAPDEBUG_LAB_PORT_BASE and SNAPDEBUG_LAB_CACHE.
 */
export const labPortBase = Number(process.env.SNAPDEBUG_LAB_PORT_BASE ?? 2201);
if (!Number.isInteger(labPortBase) || labPortBase < 1024 || labPortBase > 65000) {
  throw new Error(`SNAPDEBUG_LAB_PORT_BASE=${process.env.SNAPDEBUG_LAB_PORT_BASE} is not a port from 1024 to 65000`);
}

/** The two hosts of the lab, reachable only on the machine's loopback. */
export const labHosts: readonly LabHostSpec[] = [
  { name: 'prod', sshPort: labPortBase },
  { name: 'debug', sshPort: labPortBase + 1 },
];
