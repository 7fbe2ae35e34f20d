// What the lab needs from this machine, checked before anything is built or started, so that a
// missing piece stops it with one sentence and nothing half-made left behind.
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';

/** Debian packages providing the machine-side tools the lab runs. */
const toolPackages: Record<string, string> = {
  debootstrap: 'debootstrap',
  socat: 'socat',
  nsenter: 'util-linux',
  unshare: 'util-linux',
  'ssh-keygen': 'openssh-client',
  ssh: 'openssh-client',
  gcc: 'gcc',
  ip: 'iproute2',
  // Fault tests cut a host's link with nftables in this machine's namespace (lab/links.ts).
  nft: 'nftables',
};

export class PreflightError extends Error {}

async function has(tool: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode === 0;
}

export async function preflight(say: (line: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new PreflightError('The lab needs root: it creates namespaces, mounts and cgroups (run it with sudo or as root).');
  }
  for (const ns of ['mnt', 'pid', 'net', 'uts', 'ipc']) {
    if (!existsSync(`/proc/self/ns/${ns}`)) throw new PreflightError(`This kernel lacks ${ns} namespaces, which every lab host needs.`);
  }
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) {
    await execa('modprobe', ['overlay'], { reject: false });
    if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay')) {
      throw new PreflightError('This kernel has no overlay file system, which lab hosts and podman need (modprobe overlay failed).');
    }
  }
  const missing: string[] = [];
  for (const [tool, pkg] of Object.entries(toolPackages)) if (!(await has(tool))) missing.push(pkg);
  if (missing.length > 0) {
    const packages = [...new Set(missing)];
    say(`installing ${packages.join(', ')} with apt-get`);
    const apt = await execa('apt-get', ['install', '-y', '-q', ...packages], {
      reject: false,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (apt.exitCode !== 0) {
      throw new PreflightError(`The lab needs ${packages.join(', ')}, and apt-get could not install them: ${apt.stderr.split('\n').at(-1)}`);
    }
  }
  const trial = await execa('unshare', ['--mount', '--pid', '--net', '--uts', '--ipc', '--fork', 'true'], { reject: false });
  if (trial.exitCode !== 0) {
    throw new PreflightError(`Creating namespaces failed here (${trial.stderr.trim()}): the lab needs mount, PID, network, UTS and IPC namespaces.`);
  }
}
