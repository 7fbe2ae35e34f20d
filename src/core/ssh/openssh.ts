// OpenSSH's `ssh` program as a second way to reach a host, for bulk reads only: it decrypts in C,
// in a process (and so on a core) of its own, where ssh2 decrypts in JavaScript on our one thread.
// It never decides trust: it may only connect to a host whose key our ssh2 connection verified,
// pinned in a file of its own, with every option that could prompt, forward or run something
// locally switched off, and no ssh_config of the user's read at all (-F none): everything it
// needs comes from the HostTarget we resolved ourselves.
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { shellJoin } from '../util/quote';
import { algorithmsForKeyType, keyTypeOf } from './knownHosts';
import type { HostTarget } from './sshConfig';

/** The one name the pinned file knows the host by (HostKeyAlias): the real name and port never matter. */
export const pinnedHostAlias = 'snapdebug-pinned-host';

/**
 * Ciphers in our order of preference: AES-GCM first (AES-NI; `scp -c aes128-gcm` is the fastest
 * OpenSSH copy on the lab's loopback, docs/benchmarks.md), then OpenSSH's own defaults.
 */
export const opensshCiphers = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes256-ctr'];

// A dead link is noticed after about aliveIntervalS × aliveCountMax, as ssh2's keepalive does
// (connection.ts): well within the hosts' lease, so a pull can resume.
const aliveIntervalS = 2;
const aliveCountMax = 3;

/** The first executable `ssh` on PATH, or undefined. */
export function findSshProgram(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'ssh');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Why this target cannot be reached by the ssh program the way ssh2 reaches it, or undefined when
 * it can. ssh expands `%` tokens and `${VAR}` in paths again, and a jump host would need a second
 * pinned key: such targets keep to ssh2.
 */
export function opensshUnsuitable(target: HostTarget): string | undefined {
  if (target.proxyJump) return 'it is reached through ProxyJump';
  const paths = [...target.identityFiles, ...(target.identityAgent ? [target.identityAgent] : [])];
  if (paths.some((p) => /[%$]/.test(p))) return 'an identity path holds % or $, which ssh would expand again';
  if (target.hostName.startsWith('-') || /\s/.test(target.hostName)) return 'its host name is not a plain name';
  return undefined;
}

/** The known_hosts line that pins exactly this key under our alias. */
export function pinnedKnownHostsLine(hostKey: Buffer): string {
  return `${pinnedHostAlias} ${keyTypeOf(hostKey)} ${hostKey.toString('base64')}\n`;
}

/** A private folder (0700) holding a known_hosts file (0600) with one pinned key; remove() deletes both. */
export class PinnedKnownHosts {
  readonly file: string;
  private readonly dir: string;

  constructor(readonly hostKey: Buffer) {
    this.dir = mkdtempSync(join(tmpdir(), 'snapdebug-pin-'));
    this.file = join(this.dir, 'known_hosts');
    writeFileSync(this.file, pinnedKnownHostsLine(hostKey), { mode: 0o600, flag: 'wx' });
  }

  get exists(): boolean {
    return existsSync(this.file);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The whole argv of `ssh` running `remoteArgv` on the target (quoted by shellJoin, the one quoting
 * function). The host key must be the pinned one (StrictHostKeyChecking yes against that file and
 * no other); nothing can prompt (BatchMode); nothing is forwarded; no ssh_config is read.
 */
export function opensshArgv(program: string, target: HostTarget, pinned: { file: string; hostKey: Buffer }, remoteArgv: readonly string[]): string[] {
  const keyType = keyTypeOf(pinned.hostKey);
  const identities = target.identityFiles.filter((file) => existsSync(file)).flatMap((file) => ['-i', file]);
  const options: Record<string, string> = {
    BatchMode: 'yes',
    StrictHostKeyChecking: 'yes',
    UserKnownHostsFile: pinned.file,
    GlobalKnownHostsFile: '/dev/null',
    HostKeyAlias: pinnedHostAlias,
    HostKeyAlgorithms: (algorithmsForKeyType[keyType] ?? [keyType]).join(','),
    CheckHostIP: 'no',
    UpdateHostKeys: 'no',
    VerifyHostKeyDNS: 'no',
    ForwardAgent: 'no',
    ForwardX11: 'no',
    ClearAllForwardings: 'yes',
    PermitLocalCommand: 'no',
    ProxyCommand: 'none',
    ProxyJump: 'none',
    ControlMaster: 'no',
    ControlPath: 'none',
    RequestTTY: 'no',
    EscapeChar: 'none',
    PasswordAuthentication: 'no',
    KbdInteractiveAuthentication: 'no',
    GSSAPIAuthentication: 'no',
    IdentitiesOnly: target.identitiesOnly ? 'yes' : 'no',
    IdentityAgent: target.identityAgent ?? 'none',
    Ciphers: opensshCiphers.join(','),
    ConnectTimeout: String(Math.max(1, Math.ceil(target.connectTimeoutMs / 1000))),
    ServerAliveInterval: String(aliveIntervalS),
    ServerAliveCountMax: String(aliveCountMax),
    LogLevel: 'ERROR',
  };
  return [
    program,
    '-F',
    'none',
    ...Object.entries(options).flatMap(([name, value]) => ['-o', `${name}=${value}`]),
    ...identities,
    '-p',
    String(target.port),
    '-l',
    target.user,
    '--',
    target.hostName,
    shellJoin(remoteArgv),
  ];
}

/** ssh's words when the host's key is not the pinned one: never a reason to fall back, always to stop. */
export function isHostKeyRefusal(stderr: string): boolean {
  return /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known for|host key .* not match/i.test(stderr);
}
