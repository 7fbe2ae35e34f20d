// The hosts the product knows: ssh_config aliases (or user@host:port), plus `local`. Each name
// maps to one Host over one pooled connection; bulk transfers may ask for extra "lanes" (more
// connections to the same host), which spreads encryption over more sshd processes and cores, and
// bulk reads may go through OpenSSH's ssh program with the host key ssh2 verified pinned.
import { Host, type HostOptions } from './host';
import { defaultSessionSettings, HostSession, type SessionSettings } from './remote/session';
import type { SshPrompts } from './ssh/connection';
import { findSshProgram } from './ssh/openssh';
import { OpenSshRunner, pinVerifiedKey, probeOpenSsh, type OpenSshAccess } from './ssh/opensshRunner';
import { SshPool } from './ssh/pool';
import { LocalRunner, SshRunner, type CommandLogger } from './ssh/runner';
import { listConfiguredHosts } from './ssh/sshConfig';

export const localHostName = 'local';

export interface HostRegistryOptions {
  sshConfigFile?: string;
  /** Replaces the known_hosts files named in ssh_config. */
  knownHostsFile?: string;
  acceptNewHostKeys?: boolean;
  prompts: SshPrompts;
  /** Per-host settings (sudo); hosts not named use the defaults. */
  hostOptions?: (name: string) => Partial<HostOptions>;
  log?: (line: string) => void;
  commandLog?: CommandLogger;
  /** How this client's sessions on hosts behave (remote/session.ts). */
  session?: Partial<SessionSettings>;
  /** OpenSSH's ssh for bulk reads: a path, or null for never; undefined finds `ssh` on PATH. */
  sshProgram?: string | null;
}

export class HostRegistry {
  readonly pool: SshPool;
  private readonly hosts = new Map<string, Host>();
  private readonly sessions = new Map<string, HostSession>();
  private readonly lanePools: SshPool[] = [];
  /** Per host: how OpenSSH's ssh reaches it, or why it cannot (learnt once). */
  private readonly openssh = new Map<string, Promise<OpenSshAccess | string>>();

  constructor(private readonly options: HostRegistryOptions) {
    this.pool = this.newPool();
  }

  /** Host names from the ssh_config file, in file order. */
  configured(): string[] {
    return listConfiguredHosts(this.pool.config);
  }

  get(name: string): Host {
    let host = this.hosts.get(name);
    if (!host) {
      host = this.create(name, this.pool);
      this.hosts.set(name, host);
    }
    return host;
  }

  /** This client's session on a host, kept over the host's main connection. */
  private sessionOf(name: string, main: Host): HostSession {
    let session = this.sessions.get(name);
    if (!session) {
      session = new HostSession(main, { remoteTempDir: '/var/tmp', ...defaultSessionSettings, ...this.options.session }, this.options.log ?? (() => undefined));
      this.sessions.set(name, session);
    }
    return session;
  }

  /**
   * The same host over additional connections, for parallel byte ranges. Lane 0 is the shared
   * connection; lanes 1..n are opened on demand and kept for reuse.
   */
  lanes(name: string, count: number): Host[] {
    const result = [this.get(name)];
    if (name === localHostName) return result;
    for (let lane = 1; lane < count; lane++) {
      while (this.lanePools.length < lane) this.lanePools.push(this.newPool());
      result.push(this.create(name, this.lanePools[lane - 1]!));
    }
    return result;
  }

  /**
   * `count` lanes for reading a large file, each stream its own OpenSSH `ssh` process when this
   * machine has ssh and it logs in to the host without a prompt (decryption then runs in C, one
   * process per stream, off our thread); otherwise ssh2 lanes, with one log line saying why.
   */
  async bulkLanes(name: string, count: number, signal?: AbortSignal): Promise<{ lanes: Host[]; via: 'openssh' | 'ssh2' }> {
    if (name === localHostName) return { lanes: this.lanes(name, count), via: 'ssh2' };
    let access = this.openssh.get(name);
    if (!access) {
      access = this.openSshAccess(name, signal);
      this.openssh.set(name, access);
      // A cancel or a refused key is not an answer about this host: ask again next time.
      access.catch(() => this.openssh.delete(name));
    }
    const found = await access;
    if (typeof found === 'string') return { lanes: this.lanes(name, count), via: 'ssh2' };
    // One stream is its own probe: its first login refused ends in OpenSshLoginRefused, and the
    // pull falls back (pullLanes.ts pullFrom). Several streams at once log in once first.
    if (count > 1 && !found.confirmed) {
      const refused = await probeOpenSsh(found, signal);
      if (refused !== undefined) {
        this.refuseOpenSsh(name, refused);
        return { lanes: this.lanes(name, count), via: 'ssh2' };
      }
    }
    const main = this.get(name);
    const lanes = Array.from({ length: count }, () => {
      const host = new Host(name, new OpenSshRunner(name, main.runner, found, this.options.commandLog), main.options);
      host.session = this.sessionOf(name, main);
      return host;
    });
    return { lanes, via: 'openssh' };
  }

  private async openSshAccess(name: string, signal?: AbortSignal): Promise<OpenSshAccess | string> {
    const say = (why: string) => {
      this.options.log?.(`${name}: bulk transfers use ssh2, not OpenSSH's ssh: ${why}`);
      return why;
    };
    const program = this.options.sshProgram === undefined ? findSshProgram() : this.options.sshProgram;
    if (program === null || program === undefined) return say(program === null ? 'turned off' : 'this machine has no ssh program');
    const connection = this.pool.connection(name);
    await connection.connect(signal); // verifies the host key (or refuses) before anything else
    const pinned = pinVerifiedKey(connection);
    if (typeof pinned === 'string') return say(pinned);
    return { program, connection, pinned };
  }

  /** ssh could not log in to `name` where ssh2 did: its bulk reads use ssh2 from now on, said once. */
  refuseOpenSsh(name: string, reason: string): void {
    const why = `it cannot log in without a prompt (${reason})`;
    this.options.log?.(`${name}: bulk transfers use ssh2, not OpenSSH's ssh: ${why}`);
    const before = this.openssh.get(name);
    this.openssh.set(name, Promise.resolve(why));
    void before?.then((found) => (typeof found === 'string' ? undefined : found.pinned.remove())).catch(() => undefined);
  }

  private dropOpenSsh(name?: string): void {
    for (const [host, access] of this.openssh) {
      if (name !== undefined && host !== name) continue;
      void access.then((found) => (typeof found === 'string' ? undefined : found.pinned.remove())).catch(() => undefined);
      this.openssh.delete(host);
    }
  }

  reload(): void {
    this.pool.reload();
    for (const pool of this.lanePools) pool.reload();
  }

  /** Drops a host's connections (after a failure the user wants to retry fresh). */
  forget(name: string): void {
    this.dropOpenSsh(name);
    this.sessions.get(name)?.dispose();
    this.sessions.delete(name);
    this.hosts.delete(name);
    this.pool.forget(name);
    for (const pool of this.lanePools) pool.forget(name);
  }

  dispose(): void {
    this.dropOpenSsh();
    for (const session of this.sessions.values()) session.dispose();
    this.sessions.clear();
    this.pool.dispose();
    for (const pool of this.lanePools) pool.dispose();
    this.hosts.clear();
  }

  private newPool(): SshPool {
    return new SshPool(this.options.prompts, {
      ...(this.options.sshConfigFile !== undefined && { sshConfigFile: this.options.sshConfigFile }),
      ...(this.options.knownHostsFile !== undefined && { knownHostsFiles: [this.options.knownHostsFile] }),
      ...(this.options.acceptNewHostKeys !== undefined && { acceptNewHostKeys: this.options.acceptNewHostKeys }),
      ...(this.options.log && { log: this.options.log }),
    });
  }

  private create(name: string, pool: SshPool): Host {
    const options: HostOptions = { sudo: false, ...this.options.hostOptions?.(name) };
    const runner = name === localHostName ? new LocalRunner(this.options.commandLog) : new SshRunner(name, pool.connection(name), this.options.commandLog);
    const host = new Host(name, runner, options);
    // Lanes share the main connection's session: work begun there is visible to all of them.
    host.session = this.sessionOf(name, pool === this.pool ? host : this.get(name));
    return host;
  }
}
