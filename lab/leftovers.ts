// What the lab may leave in this machine's own namespaces, found and removed: the cgroup folders
// podman (cgroupfs manager, no cgroup namespace) creates under libpod_parent in the machine's
// cgroup tree, and a check that no mount, network link or nft rule of the lab remains here.
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheRoot, stateDir } from './paths';

const podmanCgroupParent = 'libpod_parent';

/** Mount points of every cgroup (v1) and cgroup2 hierarchy of this machine. */
export function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => {
      const type = fields[fields.indexOf('-') + 1];
      return type === 'cgroup' || type === 'cgroup2';
    })
    .map((fields) => fields[4]!);
}

export function missingCgroupParents(): string[] {
  return cgroupMounts()
    .map((mount) => join(mount, podmanCgroupParent))
    .filter((dir) => !existsSync(dir));
}

/** rmdir depth-first; a cgroup that still holds a process cannot be removed and is kept. */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // busy: a process is still inside, which lab:down reports through its own checks
  }
}

/**
 * Removes the cgroups of the lab's containers: the whole libpod_parent where the lab created it,
 * else only the folders of the given container ids.
 */
export function removeLabCgroups(createdParents: string[], containerIds: string[]): void {
  for (const mount of cgroupMounts()) {
    const parent = join(mount, podmanCgroupParent);
    if (createdParents.includes(parent)) {
      removeCgroupTree(parent);
      continue;
    }
    for (const id of containerIds) {
      removeCgroupTree(join(parent, `libpod-${id}`));
      removeCgroupTree(join(parent, `libpod-conmon-${id}`));
    }
  }
}

export function labMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(stateDir) || line.includes(cacheRoot));
}

/** Network links podman or netavark would create; none belongs in this machine's namespace. */
export async function labLinks(): Promise<string[]> {
  const { stdout } = await execa('ip', ['-o', 'link', 'show']);
  return stdout
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter((name) => /^(podman\d*|veth|netavark|cni)/.test(name));
}

export async function labNftRules(): Promise<string[]> {
  const nft = await execa('nft', ['list', 'ruleset'], { reject: false });
  if (nft.exitCode !== 0) return []; // no nft on this machine: nothing could have been added
  // Our links table only: another lab's (snapdebug_lab_links_2501, on a branch that names it per lab) is not ours to report.
  return nft.stdout.split('\n').filter((line) => /netavark|podman|snapdebug_lab_links\b/.test(line));
}
