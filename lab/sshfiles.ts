// The SSH material a user of the lab needs, written under .lab/: a client key, each host's own
// host key (kept across restarts so known_hosts stays valid), known_hosts with those keys, and
// an OpenSSH client config naming every lab host (prod, debug, edge, legacy), and prod-sudo and
// debug-sudo: those hosts as the normal user dev, whose only root rights are the snapdebug sudo rule.
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { labFiles, labHostSpec, labHosts, stateDir, sudoAliases } from './paths';

async function keygen(file: string, comment: string): Promise<void> {
  if (existsSync(file)) return;
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  chmodSync(file, 0o600);
}

export async function ensureSshMaterial(): Promise<void> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  await keygen(labFiles.privateKey, 'snapdebug-lab');
  for (const host of labHosts) {
    mkdirSync(labFiles.hostKeys(host.name), { recursive: true, mode: 0o700 });
    await keygen(join(labFiles.hostKeys(host.name), 'ssh_host_ed25519_key'), `root@${host.name}`);
  }
  writeKnownHosts();
  writeSshConfig();
}

function writeKnownHosts(): void {
  const lines = labHosts.map((host) => {
    const [type, key] = readFileSync(join(labFiles.hostKeys(host.name), 'ssh_host_ed25519_key.pub'), 'utf8').split(' ');
    return `[127.0.0.1]:${host.sshPort} ${type} ${key}`;
  });
  writeFileSync(labFiles.knownHosts, lines.join('\n') + '\n', { mode: 0o600 });
}

function writeSshConfig(): void {
  const aliases = [...labHosts.map((h) => ({ name: h.name, port: h.sshPort, user: 'root' })), ...sudoAliases.map((a) => ({ name: a.name, port: labHostSpec(a.host).sshPort, user: a.user }))];
  const blocks = aliases.map((host) =>
    [
      `Host ${host.name}`,
      `  HostName 127.0.0.1`,
      `  Port ${host.port}`,
      `  User ${host.user}`,
      `  IdentityFile ${labFiles.privateKey}`,
      `  IdentitiesOnly yes`,
      `  UserKnownHostsFile ${labFiles.knownHosts}`,
      `  StrictHostKeyChecking yes`,
    ].join('\n'),
  );
  const header = '# Written by `npm run lab:up`: the lab hosts, on this machine\'s loopback only (edge and legacy run with `lab:up -- --all`).\n';
  writeFileSync(labFiles.sshConfig, header + blocks.join('\n\n') + '\n', { mode: 0o600 });
}

/** Runs a command on a lab host with OpenSSH, strict host key checking, the lab's files only. */
export async function labSsh(host: string, command: string, options: { timeoutMs?: number } = {}): Promise<string> {
  // Lab hosts are plain trixie hosts: podman warns about cgroup v1 unless told not to.
  const remote = `export PODMAN_IGNORE_CGROUPSV1_WARNING=1; ${command}`;
  const result = await execa('ssh', ['-F', labFiles.sshConfig, '-o', 'BatchMode=yes', host, remote], {
    timeout: options.timeoutMs ?? 60_000,
  });
  return result.stdout;
}
