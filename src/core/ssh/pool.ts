// One SSH connection per host, opened on first use and shared by every command after it; hosts
// come from one ssh_config file. Disposing the pool closes them all.
import { SnapdebugError } from '../util/errors';
import { SshConnection, type SshPrompts, type SshSettings } from './connection';
import { defaultSshConfigFile, readConfigText, resolveHost, type HostTarget } from './sshConfig';

export interface SshPoolOptions extends SshSettings {
  sshConfigFile?: string;
}

export class SshPool {
  private readonly connections = new Map<string, SshConnection>();
  private configText: string;

  constructor(
    private readonly prompts: SshPrompts,
    private readonly options: SshPoolOptions = {},
  ) {
    this.configText = readConfigText(this.configFile);
  }

  get configFile(): string {
    return this.options.sshConfigFile ?? defaultSshConfigFile;
  }

  /** Re-reads the ssh_config file; open connections stay as they are. */
  reload(): void {
    this.configText = readConfigText(this.configFile);
  }

  get config(): string {
    return this.configText;
  }

  target(spec: string, proxyJumpOverride?: string): HostTarget {
    const target = resolveHost(spec, this.configText);
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
