// The hosts the product knows: ssh_config aliases (or user@host:port), plus `local`. Each name
// maps to one Host over one pooled connection; bulk transfers may ask for extra "lanes" (more
// connections to the same host), which spreads encryption over more sshd processes and cores.
import { Host, type HostOptions } from './host';
import { defaultSessionSettings, HostSession, type SessionSettings } from './remote/session';
import type { SshPrompts } from './ssh/connection';
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
}

export class HostRegistry {
  readonly pool: SshPool;
  private readonly hosts = new Map<string, Host>();
  private readonly sessions = new Map<string, HostSession>();
  private readonly lanePools: SshPool[] = [];

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

  reload(): void {
    this.pool.reload();
    for (const pool of this.lanePools) pool.reload();
  }

  /** Drops a host's connections (after a failure the user wants to retry fresh). */
  forget(name: string): void {
    this.sessions.get(name)?.dispose();
    this.sessions.delete(name);
    this.hosts.delete(name);
    this.pool.forget(name);
    for (const pool of this.lanePools) pool.forget(name);
  }

  dispose(): void {
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
