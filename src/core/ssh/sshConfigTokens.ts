// ssh_config's expansions, where OpenSSH does them: ~ and ~/ (the home folder), %-tokens, and
// ${VAR} from the environment. An unknown token or an unset variable is an error, as in ssh,
// never a path with a literal `%x` in it.
import { createHash } from 'node:crypto';
import { SnapdebugError } from '../util/errors';

export interface LocalContext {
  home: string;
  /** The local user name (%u, Match localuser). */
  user: string;
  uid: number;
  /** This machine's name with its domain (%l); %L is the part before the first dot. */
  hostname: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface Connection {
  /** The host as given (%n). */
  hostArg: string;
  /** The host connected to, after HostName (%h). */
  host: string;
  port: number;
  user: string;
  hostKeyAlias: string | undefined;
}

export function expandTilde(path: string, local: LocalContext, where: string): string {
  if (path === '~') return local.home;
  if (path.startsWith('~/')) return local.home + path.slice(1);
  if (path.startsWith(`~${local.user}/`)) return local.home + path.slice(local.user.length + 1);
  if (path.startsWith('~')) throw new SnapdebugError(`${where}: snapdebug expands ~ and ~/ only, not "${path.split('/')[0]}".`);
  return path;
}

/** The tokens of IdentityFile, UserKnownHostsFile, IdentityAgent (man ssh_config, TOKENS). */
export function pathTokens(local: LocalContext, connection: Connection): Record<string, string> {
  const port = String(connection.port);
  return {
    '%': '%',
    C: createHash('sha1').update(`${local.hostname}${connection.host}${port}${connection.user}`).digest('hex'),
    d: local.home,
    h: connection.host,
    i: String(local.uid),
    k: connection.hostKeyAlias ?? connection.hostArg,
    L: local.hostname.split('.')[0]!,
    l: local.hostname,
    n: connection.hostArg,
    p: port,
    r: connection.user,
    u: local.user,
  };
}

/** %-tokens (only those given) and, when `env` is given, ${VAR}, in one pass like OpenSSH. */
export function expandTokens(text: string, tokens: Record<string, string>, where: string, env?: LocalContext['env']): string {
  return text.replace(/\$\{([^}]*)(\}?)|%(.?)/gs, (whole, name: string | undefined, close: string | undefined, token: string | undefined) => {
    if (token === undefined) {
      if (!env) return whole;
      if (close !== '}') throw new SnapdebugError(`${where}: "\${" without a closing "}" in "${text}".`);
      const value = env[name!];
      if (value === undefined) throw new SnapdebugError(`${where}: the environment variable ${name} is not set ("${text}").`);
      return value;
    }
    if (token === '') throw new SnapdebugError(`${where}: "${text}" ends with a lone %.`);
    const value = tokens[token];
    if (value === undefined) throw new SnapdebugError(`${where}: %${token} is not a token here ("${text}").`);
    return value;
  });
}

/** A path option: ~ first, then tokens and environment variables. */
export function expandPath(path: string, local: LocalContext, connection: Connection, where: string): string {
  return expandTokens(expandTilde(path, local, where), pathTokens(local, connection), where, local.env);
}
