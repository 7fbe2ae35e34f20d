// The machine and versions a run was measured on: `date`, CPU model and cores, kernel, memory,
// load, and the versions of everything in the path of a transfer (Node.js, ssh2, OpenSSH on both
// ends, podman, CRIU and runc on the production host).
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { execa } from 'execa';
import { ssh } from './openssh';

export interface Machine {
  date: string;
  cpuModel: string;
  cores: number;
  memory: string;
  kernel: string;
  os: string;
  loadStart: string;
  loadEnd?: string;
  node: string;
  ssh2: string;
  ssh2Crypto: string;
  openssh: string;
  sshd: string;
  labHosts: string;
  podman: string;
  criu: string;
  runc: string;
}

export function loadNow(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function osName(): string {
  try {
    return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function quiet(run: () => Promise<string>): Promise<string> {
  return run().catch((error: Error) => `unknown (${error.message.split('\n')[0]})`);
}

export async function describeMachine(sshConfig: string): Promise<Machine> {
  const date = (await execa('date')).stdout.trim();
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const ssh2Version = (JSON.parse(readFileSync('node_modules/ssh2/package.json', 'utf8')) as { version: string }).version;
  const onProd = (command: string) => quiet(async () => (await ssh(sshConfig, 'prod', command, { timeoutMs: 30_000 })).trim());
  const [openssh, sshd, podman, criu, runc, hostOs] = await Promise.all([
    quiet(async () => (await execa('ssh', ['-V'])).stderr.trim()),
    onProd('ssh -V 2>&1'),
    onProd('podman --version'),
    onProd('criu --version | head -1'),
    onProd('runc --version | head -1'),
    onProd('. /etc/os-release && echo "$PRETTY_NAME"'),
  ]);
  return {
    date,
    cpuModel,
    cores: cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: release(),
    os: osName(),
    loadStart: loadNow(),
    node: process.version,
    ssh2: ssh2Version,
    // The shipped bundles leave out ssh2's optional native addon; benchmarks run the same way.
    ssh2Crypto: 'bundled as shipped: pure-JS ciphers over Node crypto, no native addon',
    openssh,
    sshd,
    labHosts: `${hostOs}, each in its own namespaces on this machine, reached over 127.0.0.1`,
    podman,
    criu,
    runc,
  };
}
