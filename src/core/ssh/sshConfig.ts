// Hosts as OpenSSH sees them: an alias resolved through ssh_config (matching, Include, Match,
// first value wins, tokens: see sshConfigEval.ts and sshConfigFile.ts), or a plain
// `user@host:port`. What we cannot do (ProxyCommand, Match exec, …) is refused with a sentence
// naming the keyword, the file and the host, never dropped; nothing here runs a program.
import { existsSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { SnapdebugError } from '../util/errors';
import { isPlainHostName } from './knownHosts';
import { evaluateConfig, parseTime, type Obtained, type ObtainedOptions } from './sshConfigEval';
import { parseConfigText, readConfigFile, type ConfigFile, type ConfigLine } from './sshConfigFile';
import { offValues, refusedKeywords } from './sshConfigKeywords';
import { expandPath, expandTilde, expandTokens, type Connection, type LocalContext } from './sshConfigTokens';

export type { LocalContext } from './sshConfigTokens';
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
  /** Jump hosts, each `[user@]host[:port]`, comma-separated (ssh:// URIs already unwrapped). */
  proxyJump: string | undefined;
  /** Empty when UserKnownHostsFile is none: then a newly trusted key is not recorded. */
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: StrictHostKeyChecking;
  hostKeyAlias: string | undefined;
  /** Record new keys hashed (HashKnownHosts yes), as ssh would. */
  hashKnownHosts: boolean;
  connectTimeoutMs: number;
}

/** The files a config was read from, user file first; an empty list means no config at all. */
export interface SshConfig {
  files: ConfigFile[];
}

export const systemSshConfigFile = '/etc/ssh/ssh_config';
const defaultConnectTimeoutMs = 15_000;

export function localContext(): LocalContext {
  return { home: homedir(), user: process.env.USER ?? userInfo().username, uid: process.getuid?.() ?? 0, hostname: hostname(), env: process.env };
}

/**
 * Reads the config like ssh: a file named explicitly (CLI --ssh-config, the sshConfigFile setting)
 * replaces both defaults, like `ssh -F`, and must exist; otherwise ~/.ssh/config (which may be
 * missing, and must not be writable by others) then the system-wide file.
 */
export function loadSshConfig(options: { file?: string; systemFile?: string | null; home?: string } = {}): SshConfig {
  const home = options.home ?? homedir();
  if (options.file !== undefined) {
    const file = readConfigFile(options.file, { user: true, checkPermissions: false, home });
    if (!file) throw new SnapdebugError(`The ssh config file ${options.file} does not exist.`, {
      fix: { text: 'Name an existing file, or none for ~/.ssh/config.', options: [{ name: 'sshConfigFile' }] },
    });
    return { files: [file] };
  }
  const user = readConfigFile(join(home, '.ssh', 'config'), { user: true, checkPermissions: true, home });
  const systemPath = options.systemFile === undefined ? systemSshConfigFile : options.systemFile;
  const system = systemPath === null ? undefined : readConfigFile(systemPath, { user: false, checkPermissions: false, home });
  return { files: [user, system].filter((f): f is ConfigFile => f !== undefined) };
}

/** A config given as text (a user config, with relative Includes under ~/.ssh). */
export function parseSshConfig(text: string, path = 'ssh_config'): SshConfig {
  return { files: [parseConfigText(text, path, { user: true, checkPermissions: false, home: homedir() })] };
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

/**
 * A name that is written into known_hosts (host, HostKeyAlias). known_hosts reads `,` as a list,
 * `*` `?` as wildcards, `!` as negation, `|` as a hash and whitespace as the end of the field: a
 * key recorded for `foo,*` would be trusted for every host. Such names are refused outright.
 */
export function validateKnownHostsName(name: string, what: string): string {
  if (!isPlainHostName(name)) {
    const bad = [...new Set(name.replace(/[A-Za-z0-9_.:%-]/g, ''))].map((c) => (/\s/.test(c) ? 'whitespace' : `"${c}"`));
    throw new SnapdebugError(`${what} "${name}" is not a plain host name${bad.length ? ` (it has ${bad.join(', ')})` : ''}: snapdebug refuses it before any host key is looked up or recorded.`, {
      fix: 'Use letters, digits, dots, dashes, underscores (and colons for IPv6) only.',
    });
  }
  return name;
}

function where(o: Obtained | undefined, alias: string): string {
  return o && o.line > 0 ? `ssh config ${o.file} line ${o.line} (for ${alias})` : `the host spec ${alias}`;
}

function strictness(value: string | undefined): StrictHostKeyChecking {
  switch (value?.toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
    case 'false':
      return 'no';
    default:
      return 'ask';
  }
}

/** Refuses what we cannot do when it applies to this host, naming the keyword and where it is. */
function refuseUnsupported(options: ObtainedOptions, alias: string): void {
  const applied: Obtained[] = [...options.first.values(), ...options.certificateFiles];
  for (const o of applied) {
    const reason = refusedKeywords[o.keyword];
    if (reason === undefined || (o.keyword !== 'certificatefile' && offValues.has((o.args[0] ?? '').toLowerCase()))) continue;
    const name = o.spelled;
    throw new SnapdebugError(`${where(o, alias)}: ${name} ${o.raw} applies to ${alias}, and ${reason}. Connecting without it could reach another machine, so snapdebug refuses.`, {
      fix: `Change the config for ${alias} (for example "${name} none" in a Host ${alias} block above the one that sets it), or use a host spec user@host[:port].`,
    });
  }
}

function jumpHosts(raw: string): string | undefined {
  const text = raw.replace(/#.*$/, '').trim();
  if (text.toLowerCase() === 'none') return undefined;
  return text
    .split(',')
    .map((hop) => hop.replace(/^ssh:\/\//, '').replace(/\/$/, ''))
    .join(',');
}

export function resolveHost(spec: string, config: SshConfig | string, local: LocalContext = localContext()): HostTarget {
  const files = typeof config === 'string' ? parseSshConfig(config).files : config.files;
  const parsed = parseHostSpec(spec);
  const { options, host } = evaluateConfig(files, {
    hostArg: parsed.host,
    ...(parsed.user !== undefined && { user: parsed.user }),
    ...(parsed.port !== undefined && { port: parsed.port }),
    localUser: local.user,
    expandHostName: (name, hostArg) => expandTokens(name, { '%': '%', h: hostArg }, `HostName ${name} for ${spec}`),
  });
  refuseUnsupported(options, spec);
  const value = (keyword: string) => options.first.get(keyword)?.args[0];
  const list = (keyword: string) => options.first.get(keyword)?.args;

  const hostName = validateKnownHostsName(host, `The host name of ${spec}`);
  const alias = value('hostkeyalias')?.toLowerCase();
  if (alias !== undefined) validateKnownHostsName(alias, `${where(options.first.get('hostkeyalias'), spec)}: the HostKeyAlias`);
  const connection: Connection = { hostArg: parsed.host, host: hostName, port: Number(value('port') ?? 22), user: value('user') ?? local.user, hostKeyAlias: alias };
  const path = (o: Obtained, p: string) => expandPath(p, local, connection, where(o, spec));

  const identities = options.identityFiles.map((o) => path(o, o.args[0]!));
  const defaults = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(local.home, '.ssh', f)).filter((f) => existsSync(f));
  const userKnown = options.first.get('userknownhostsfile');
  const globalKnown = options.first.get('globalknownhostsfile');
  const agent = options.first.get('identityagent');
  const jump = options.first.get('proxyjump');
  const timeout = value('connecttimeout');
  return {
    alias: spec,
    hostName,
    port: connection.port,
    user: connection.user,
    identityFiles: identities.length > 0 ? identities : defaults,
    identitiesOnly: ['yes', 'true'].includes(value('identitiesonly')?.toLowerCase() ?? ''),
    identityAgent: agentSocket(agent, local, (p) => path(agent!, p)),
    proxyJump: jump ? jumpHosts(jump.raw) : undefined,
    userKnownHostsFiles: userKnown
      ? list('userknownhostsfile')!.filter((f) => f.toLowerCase() !== 'none').map((f) => path(userKnown, f))
      : [join(local.home, '.ssh', 'known_hosts'), join(local.home, '.ssh', 'known_hosts2')],
    globalKnownHostsFiles: globalKnown
      ? list('globalknownhostsfile')!.filter((f) => f.toLowerCase() !== 'none').map((f) => expandTilde(f, local, where(globalKnown, spec)))
      : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
    strictHostKeyChecking: strictness(value('stricthostkeychecking')),
    hostKeyAlias: alias,
    hashKnownHosts: ['yes', 'true'].includes(value('hashknownhosts')?.toLowerCase() ?? ''),
    connectTimeoutMs: timeout === undefined || timeout === 'none' ? defaultConnectTimeoutMs : parseTime(timeout)! * 1000,
  };
}

function agentSocket(agent: Obtained | undefined, local: LocalContext, expand: (path: string) => string): string | undefined {
  const configured = agent?.args[0];
  if (configured === undefined || configured === 'SSH_AUTH_SOCK') return local.env.SSH_AUTH_SOCK;
  if (configured.toLowerCase() === 'none') return undefined;
  // The legacy form $NAME names a variable holding the socket path.
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(configured)) return local.env[configured.slice(1)];
  return expand(configured);
}

/** Host aliases a config names explicitly (no wildcard, no negation), in file order, Includes included. */
export function listConfiguredHosts(config: SshConfig | string): string[] {
  const files = typeof config === 'string' ? parseSshConfig(config).files : config.files;
  const names: string[] = [];
  const visit = (lines: readonly ConfigLine[]) => {
    for (const line of lines) {
      if (line.keyword === 'include') for (const file of line.included ?? []) visit(file.lines);
      if (line.keyword !== 'host') continue;
      for (const pattern of line.args) {
        if (/[*?!]/.test(pattern) || names.includes(pattern)) continue;
        try {
          parseHostSpec(pattern);
          names.push(pattern);
        } catch {
          // Not something a user could type as a host (e.g. "a,b"): ssh refuses it too.
        }
      }
    }
  };
  for (const file of files) visit(file.lines);
  return names;
}
