// Hosts as OpenSSH sees them: an alias resolved through an ssh_config file (Host patterns, first
// value wins, Include expanded), or a plain `user@host:port`. `Match exec` is never evaluated: a
// config file must not make us run commands.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import SSHConfig from 'ssh-config';
import { SnapdebugError } from '../util/errors';
import { wildcardRegExp } from '../util/wildcard';

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no' | 'ask';

export interface HostTarget {
  /** What the user called the host: an ssh_config alias or the spec they typed. */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  identityAgent: string | undefined;
  proxyJump: string | undefined;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: StrictHostKeyChecking;
  hostKeyAlias: string | undefined;
  connectTimeoutMs: number;
}

export const defaultSshConfigFile = join(homedir(), '.ssh', 'config');

function expandHome(path: string): string {
  return path.startsWith('~/') || path === '~' ? join(homedir(), path.slice(1)) : path;
}

/** OpenSSH's %-tokens that make sense before connecting. */
function expandTokens(value: string, target: { alias: string; hostName: string; port: number; user: string }): string {
  return value.replace(/%([%dhnpru])/g, (_, token: string) => {
    switch (token) {
      case '%': return '%';
      case 'd': return homedir();
      case 'h': return target.hostName;
      case 'n': return target.alias;
      case 'p': return String(target.port);
      case 'r': return target.user;
      case 'u': return process.env.USER ?? 'root';
      default: return token;
    }
  });
}

function globFiles(pattern: string): string[] {
  const dir = dirname(pattern);
  const name = basename(pattern);
  if (!/[*?]/.test(name)) return existsSync(pattern) ? [pattern] : [];
  if (!existsSync(dir)) return [];
  const re = wildcardRegExp(name);
  return readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
}

/** Reads a config file with its Include directives expanded in place (relative to ~/.ssh). */
export function readConfigText(file: string, depth = 0): string {
  if (depth > 16) throw new SnapdebugError(`ssh config Include nesting is too deep at ${file}.`);
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => {
      const include = /^\s*Include\s+(.+)$/i.exec(line);
      if (!include) return line;
      return include[1]!
        .trim()
        .split(/\s+/)
        .map((p) => expandHome(p.replace(/^"|"$/g, '')))
        .map((p) => (isAbsolute(p) ? p : join(homedir(), '.ssh', p)))
        .flatMap(globFiles)
        .map((f) => readConfigText(f, depth + 1))
        .join('\n');
    })
    .join('\n');
}

/** Splits `user@host:port` (also `[v6]:port`) into parts; undefined where not given. */
export function parseHostSpec(spec: string): { user?: string; host: string; port?: number } {
  const at = spec.lastIndexOf('@');
  const user = at >= 0 ? spec.slice(0, at) : undefined;
  const rest = at >= 0 ? spec.slice(at + 1) : spec;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(rest);
  const match = bracketed ?? plain;
  // Host names are plain DNS-ish words (or a bracketed IPv6 address): nothing a shell or a
  // resolver should ever see otherwise.
  const hostOk = match !== null && (bracketed !== null ? /^[0-9A-Fa-f:.]+$/.test(match[1]!) : /^[A-Za-z0-9._-]+$/.test(match[1]!));
  if (!match || !hostOk || (user !== undefined && !/^[A-Za-z0-9._-]+$/.test(user))) {
    throw new SnapdebugError(`"${spec}" is not a host: use an ssh_config alias or user@host[:port].`);
  }
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new SnapdebugError(`Port ${match[2]} in "${spec}" is out of range.`);
  return { ...(user !== undefined && { user }), host: match[1]!, ...(port !== undefined && { port }) };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Every value of a directive; ssh-config already splits multi-value ones (and keeps quoted spaces). */
function all(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter(Boolean);
}

/**
 * Hostname canonicalisation makes the ssh-config library run nslookup: a config file must never
 * make us run programs, so those directives are dropped before computing (we connect to the
 * HostName as written, which is what OpenSSH does with CanonicalizeHostName no).
 */
function withoutCanonicalization(configText: string): string {
  return configText
    .split('\n')
    .filter((line) => !/^\s*Canonical(ize\w*|Domains)\b/i.test(line))
    .join('\n');
}

function strictness(value: string | undefined): StrictHostKeyChecking {
  switch (value?.toLowerCase()) {
    case 'yes':
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
      return 'no';
    default:
      return 'ask';
  }
}

function agentSocket(configured: string | undefined): string | undefined {
  if (configured === undefined || configured === 'SSH_AUTH_SOCK') return process.env.SSH_AUTH_SOCK;
  return configured.toLowerCase() === 'none' ? undefined : expandHome(configured);
}

export function resolveHost(spec: string, configText: string): HostTarget {
  const parsed = parseHostSpec(spec);
  const computed = SSHConfig.parse(withoutCanonicalization(configText)).compute(
    { Host: parsed.host, ...(parsed.user !== undefined && { User: parsed.user }) },
    { ignoreCase: true, matchExec: false },
  );
  const get = (key: string) => computed[key.toLowerCase()];
  const hostName = first(get('HostName')) ?? parsed.host;
  const port = parsed.port ?? Number(first(get('Port')) ?? 22);
  const user = parsed.user ?? first(get('User')) ?? process.env.USER ?? 'root';
  const base = { alias: spec, hostName: hostName.replace(/%h/g, parsed.host), port, user };
  // OpenSSH's %n is the host as given on the command line, without any user@ or :port.
  const tokens = { ...base, alias: parsed.host };

  const configuredIdentities = all(get('IdentityFile')).map((f) => expandHome(expandTokens(f.replace(/^"|"$/g, ''), tokens)));
  const defaultIdentities = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f));
  const userKnown = all(get('UserKnownHostsFile')).map((f) => expandHome(expandTokens(f, tokens)));
  const globalKnown = all(get('GlobalKnownHostsFile')).map((f) => expandHome(expandTokens(f, tokens)));
  const proxyJump = first(get('ProxyJump'));
  const timeout = first(get('ConnectTimeout'));
  const agent = first(get('IdentityAgent'));

  return {
    ...base,
    identityFiles: configuredIdentities.length > 0 ? configuredIdentities : defaultIdentities.filter((f) => existsSync(f)),
    identitiesOnly: first(get('IdentitiesOnly'))?.toLowerCase() === 'yes',
    identityAgent: agentSocket(agent),
    proxyJump: proxyJump === undefined || proxyJump.toLowerCase() === 'none' ? undefined : proxyJump,
    userKnownHostsFiles: userKnown.length > 0 ? userKnown : [join(homedir(), '.ssh', 'known_hosts'), join(homedir(), '.ssh', 'known_hosts2')],
    globalKnownHostsFiles: globalKnown.length > 0 ? globalKnown : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
    strictHostKeyChecking: strictness(first(get('StrictHostKeyChecking'))),
    hostKeyAlias: first(get('HostKeyAlias')),
    connectTimeoutMs: timeout === undefined ? 15_000 : Number(timeout) * 1000,
  };
}

/** Host aliases a config names explicitly (no wildcard, no negation), in file order. */
export function listConfiguredHosts(configText: string): string[] {
  const names: string[] = [];
  for (const line of configText.split('\n')) {
    const host = /^\s*Host\s+(.+)$/i.exec(line);
    if (!host) continue;
    for (const pattern of host[1]!.trim().split(/\s+/)) {
      if (!/[*?!]/.test(pattern) && !names.includes(pattern)) names.push(pattern);
    }
  }
  return names;
}
