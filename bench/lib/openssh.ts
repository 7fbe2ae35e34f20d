// The anchors' tools: OpenSSH's ssh and scp, run on an ssh_config the way a person would type
// them (a fresh connection each time, unless the config says otherwise).
import { execa } from 'execa';

export interface SshRun {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** More OpenSSH options (`-c CIPHER`, `-o ...`), before the host. */
  args?: string[];
}

/** `ssh -F CONFIG HOST COMMAND`; podman's cgroup-v1 warning silenced as the product does. */
export async function ssh(config: string, host: string, command: string, options: SshRun = {}): Promise<string> {
  const result = await execa('ssh', ['-F', config, '-o', 'BatchMode=yes', ...(options.args ?? []), host, `export PODMAN_IGNORE_CGROUPSV1_WARNING=1; ${command}`], {
    timeout: options.timeoutMs ?? 300_000,
    ...(options.signal && { cancelSignal: options.signal }),
  });
  return result.stdout;
}

/** `scp -q -F CONFIG FROM TO` (host:path on either side). */
export async function scp(config: string, from: string, to: string, options: SshRun = {}): Promise<void> {
  await execa('scp', ['-q', '-F', config, '-o', 'BatchMode=yes', ...(options.args ?? []), from, to], {
    timeout: options.timeoutMs ?? 600_000,
    ...(options.signal && { cancelSignal: options.signal }),
  });
}

/** A shell word for a remote command line (names and paths here are ours, but quote anyway). */
export function q(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
