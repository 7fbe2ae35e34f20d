// One SSH connection per host, opened on first use and shared by every command after it; hosts
// come from the ssh_config (one file named explicitly, else ~/.ssh/config and the system-wide
// file, as ssh reads them). Disposing the pool closes them all.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SnapdebugError } from '../util/errors';
import { SshConnection, type SshPrompts, type SshSettings } from './connection';
import { loadSshConfig, resolveHost, type HostTarget, type SshConfig } from './sshConfig';

export interface SshPoolOptions extends SshSettings {
  /** Named explicitly (like ssh -F): it must exist, and the system-wide file is not read. */
  sshConfigFile?: string;
  /** Replaces /etc/ssh/ssh_config when no file is named (null: none); for tests. */
  systemSshConfigFile?: string | null;
}

export class SshPool {
  private readonly connections = new Map<string, SshConnection>();
  /** The config, or why it could not be read: reported by whatever needs it, not at construction. */
  private loaded: SshConfig | Error;

  constructor(
    private readonly prompts: SshPrompts,
    private readonly options: SshPoolOptions = {},
  ) {
    this.loaded = this.load();
  }

  get configFile(): string {
    return this.options.sshConfigFile ?? join(homedir(), '.ssh', 'config');
  }

  /** Re-reads the ssh_config files; open connections stay as they are. */
  reload(): void {
    this.loaded = this.load();
  }

  get config(): SshConfig {
    if (this.loaded instanceof Error) throw this.loaded;
    return this.loaded;
  }

  private load(): SshConfig | Error {
    try {
      return loadSshConfig({
        ...(this.options.sshConfigFile !== undefined && { file: this.options.sshConfigFile }),
        ...(this.options.systemSshConfigFile !== undefined && { systemFile: this.options.systemSshConfigFile }),
      });
    } catch (error) {
      return error as Error;
    }
  }

  target(spec: string, proxyJumpOverride?: string): HostTarget {
    const target = resolveHost(spec, this.config);
    return proxyJumpOverride === undefined ? target : { ...target, proxyJump: proxyJumpOverride };
  }

  connection(spec: string): SshConnection {
    let connection = this.connections.get(spec);
    if (!connection) {
      connection = this.open(spec, undefined);
      this.connections.set(spec, connection);
    }
    return connection;
  }

  /** Closes one host's connection (the next command opens a new one). */
  forget(spec: string): void {
    this.connections.get(spec)?.dispose();
    this.connections.delete(spec);
  }

  dispose(): void {
    for (const connection of this.connections.values()) connection.dispose();
    this.connections.clear();
  }

  private open(spec: string, via: string | undefined, depth = 0): SshConnection {
    if (depth > 8) throw new SnapdebugError(`ProxyJump for ${spec} loops or nests too deep.`);
    return new SshConnection(this.target(spec, via), this.prompts, this.options, (hop, hopVia) => this.open(hop, hopVia, depth + 1));
  }
}
