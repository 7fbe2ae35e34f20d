// One SSH connection to one host (ssh2), shared by every command sent there. The host key is
// checked against known_hosts before any credential is offered; unknown keys go to a prompt,
// changed or revoked keys are refused with the file and line that disagree. Channels are capped
// under sshd's MaxSessions; a dropped connection is re-opened by the next command.
import { readFileSync } from 'node:fs';
import type { Duplex, Readable, Writable } from 'node:stream';
import ssh2, { type AnyAuthMethod, type AuthHandlerMiddleware, type Client as ClientType, type ClientChannel, type ConnectConfig } from 'ssh2';
import { AbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { Semaphore } from '../util/semaphore';
import { execChannel, type ChannelEnd } from './execChannel';
import {
  algorithmsForKeyType,
  appendKnownHost,
  checkHostKey,
  fingerprintOf,
  keyTypeOf,
  knownKeyTypes,
  readKnownHostsFiles,
  type HostKeyVerdict,
} from './knownHosts';
import type { HostTarget } from './sshConfig';

// ssh2 is CommonJS: Node's ESM loader only sees its default export.
const { Client, utils } = ssh2;
type Client = ClientType;

/** sshd's default MaxSessions is 10: never open more channels than that on one connection. */
export const maxChannelsPerConnection = 10;
// A dead link is noticed after about keepaliveIntervalMs × keepaliveCountMax: well within the
// hosts' lease (remote/session.ts), so a link that comes back in time can resume its transfers.
const keepaliveIntervalMs = 2000;
const channelOpenAttempts = 8;
const channelRetryDelayMs = 25;
const keepaliveCountMax = 3;

export interface HostKeyQuestion {
  alias: string;
  host: string;
  port: number;
  keyType: string;
  fingerprint: string;
  /** Where the key will be recorded if trusted; undefined when UserKnownHostsFile is none. */
  knownHostsFile: string | undefined;
}

/** A password or passphrase the server or the key refused: a front end that remembers it forgets it. */
export type RefusedSecret = { kind: 'password'; user: string; host: string } | { kind: 'passphrase'; keyFile: string };

/** How the front end answers what SSH needs to ask a person. */
export interface SshPrompts {
  confirmHostKey(question: HostKeyQuestion): Promise<boolean>;
  passphrase(keyFile: string): Promise<string | undefined>;
  password(user: string, host: string): Promise<string | undefined>;
  /** Told when an answer failed, so a remembered one is not offered again. */
  refused?(secret: RefusedSecret): Promise<void> | void;
}

export interface SshSettings {
  /** Replaces the known_hosts files from ssh_config (the CLI's --known-hosts). */
  knownHostsFiles?: string[];
  /** Record unknown host keys without asking, like StrictHostKeyChecking=accept-new. */
  acceptNewHostKeys?: boolean;
  log?: (line: string) => void;
}

export interface ExecHandle {
  stdout: Readable;
  stderr: Readable;
  stdin: Writable;
  /** Exit code, or null when the remote process died of a signal or the channel was closed. */
  exit: Promise<number | null>;
  /** Why there was no exit code: the signal that ended the remote process, or that the channel closed first. */
  whyNoExit(): string;
  close(): void;
}

const defaultHostKeyAlgorithms = Object.values(algorithmsForKeyType).flat();

export class SshConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private readonly channels = new Semaphore(maxChannelsPerConnection);
  private disposed = false;
  private readonly jumps: SshConnection[] = [];
  /** Connections that closed without being asked to (the link dropped, the host went away). */
  drops = 0;
  /**
   * The host key this connection verified (known_hosts, or a person's yes) before it offered any
   * credential: OpenSSH's ssh here (openssh.ts) or another host (hostToHost.ts) may pin exactly this key.
   */
  verifiedHostKey: Buffer | undefined;

  constructor(
    readonly target: HostTarget,
    private readonly prompts: SshPrompts,
    private readonly settings: SshSettings,
    /** Opens a connection to a ProxyJump hop; `via` replaces that hop's own ProxyJump. */
    private readonly openJump: (spec: string, via: string | undefined) => SshConnection,
  ) {}

  get channelsInUse(): number {
    return this.channels.inUse;
  }

  get isConnected(): boolean {
    return this.client !== undefined;
  }

  async connect(signal?: AbortSignal): Promise<Client> {
    if (this.disposed) throw new SnapdebugError(`The connection to ${this.target.alias} was closed.`);
    if (this.client) return this.client;
    this.connecting ??= this.open(signal).finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Runs a command line on the host. The caller must quote it (util/quote.ts). */
  async exec(command: string, signal?: AbortSignal): Promise<ExecHandle> {
    const release = await this.channels.acquire(signal);
    try {
      const { client, channel, ended } = await this.openChannel(command, signal);
      const exit = new Promise<number | null>((resolve) => {
        // A connection that dies (keepalive timeout, reset) never closes a channel we were writing
        // to: ssh2 leaves its writable side open. The channel is over when its connection is.
        const connectionGone = () => {
          if (ended.code === null) ended.why = 'the connection closed';
          done();
        };
        let over = false;
        const done = () => {
          if (over) return;
          over = true;
          client.off('close', connectionGone);
          release();
          resolve(ended.code);
        };
        channel.once('close', done);
        client.once('close', connectionGone);
      });
      return { stdout: channel, stderr: channel.stderr, stdin: channel, exit, whyNoExit: () => ended.why, close: () => channel.close() };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * sshd frees a session's slot a moment after the session's channel closes on our side, so a
   * channel opened at once in its place can be refused ("open failed") while we are at the
   * MaxSessions limit: such a refusal is retried, briefly, before it counts as a failure.
   */
  private async openChannel(command: string, signal?: AbortSignal): Promise<{ client: ClientType; channel: ClientChannel; ended: ChannelEnd }> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.connect(signal);
      try {
        return { client, ...(await execChannel(client, command)) };
      } catch (error) {
        if (!/Channel open failure/i.test((error as Error).message) || attempt >= channelOpenAttempts) throw error;
        if (signal?.aborted) throw new AbortError();
        await new Promise((resolve) => setTimeout(resolve, channelRetryDelayMs * attempt));
      }
    }
  }

  /** A TCP connection to host:port made by the remote sshd (direct-tcpip). */
  async forwardOut(host: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    const client = await this.connect(signal);
    return new Promise((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, host, port, (error, stream) => (error ? reject(error) : resolve(stream))),
    );
  }

  dispose(): void {
    this.disposed = true;
    this.channels.rejectAll(new SnapdebugError(`The connection to ${this.target.alias} was closed.`));
    this.client?.end();
    this.client = undefined;
    for (const jump of this.jumps) jump.dispose();
  }

  private knownHostsFiles(): string[] {
    return this.settings.knownHostsFiles ?? [...this.target.userKnownHostsFiles, ...this.target.globalKnownHostsFiles];
  }

  /** Where a newly trusted key goes: none when UserKnownHostsFile is none (then it is trusted for this connection only, as in ssh). */
  private recordFile(): string | undefined {
    return this.settings.knownHostsFiles?.[0] ?? this.target.userKnownHostsFiles[0];
  }

  /** Host and port as written in known_hosts (HostKeyAlias replaces both, as in OpenSSH). */
  private keyName(): { host: string; port: number } {
    return this.target.hostKeyAlias ? { host: this.target.hostKeyAlias, port: 22 } : { host: this.target.hostName, port: this.target.port };
  }

  private async open(signal?: AbortSignal): Promise<Client> {
    if (signal?.aborted) throw new AbortError();
    const { host, port } = this.keyName();
    const entries = readKnownHostsFiles(this.knownHostsFiles());
    const knownTypes = knownKeyTypes(entries, host, port);
    const preferred = knownTypes.flatMap((t) => algorithmsForKeyType[t] ?? [t]);
    let refusal: Error | undefined;

    const client = new Client();
    // Each open channel listens for the connection's end (exec): up to maxChannelsPerConnection of
    // them beside our own listeners is by design, not the leak Node warns about past 10.
    client.setMaxListeners(maxChannelsPerConnection + 8);
    const config: ConnectConfig = {
      host: this.target.hostName,
      port: this.target.port,
      username: this.target.user,
      readyTimeout: this.target.connectTimeoutMs,
      keepaliveInterval: keepaliveIntervalMs,
      keepaliveCountMax,
      algorithms: {
        serverHostKey: [...preferred, ...defaultHostKeyAlgorithms.filter((a) => !preferred.includes(a))] as never,
        // AES-GCM runs on Node's native crypto: measured about 35% faster than ssh2's defaults.
        cipher: { prepend: ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'] } as never,
      },
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        this.verifyHostKey(key, host, port)
          .then(() => {
            this.verifiedHostKey = Buffer.from(key);
            verify(true);
          })
          .catch((error: Error) => {
            refusal = error;
            verify(false);
          });
      },
      authHandler: this.authHandler(),
    };
    if (this.target.proxyJump) {
      // A chain a,b reaches b through a; the last hop opens the stream to our target.
      const hops = this.target.proxyJump.split(',');
      const last = hops.pop()!;
      const jump = this.openJump(last, hops.length > 0 ? hops.join(',') : undefined);
      this.jumps.push(jump);
      config.sock = await jump.forwardOut(this.target.hostName, this.target.port, signal);
    }

    return new Promise((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        settled = true;
        client.end();
        reject(new AbortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        this.client = client;
        this.settings.log?.(`ssh ${this.target.alias}: connected to ${this.target.user}@${this.target.hostName}:${this.target.port}`);
        resolve(client);
      });
      // on, not once: ssh2 can emit a second error (its handshake timeout, then "Connection lost
      // before handshake" as the socket closes), which unheard would end the whole process.
      client.on('error', (error: Error & { level?: string }) => {
        signal?.removeEventListener('abort', onAbort);
        if (!settled) {
          settled = true;
          reject(refusal ?? this.explainConnectError(error));
        } else {
          this.settings.log?.(`ssh ${this.target.alias}: ${error.message}`);
        }
      });
      client.on('close', () => {
        if (this.client === client) {
          this.client = undefined;
          if (!this.disposed) this.drops++;
          this.settings.log?.(`ssh ${this.target.alias}: connection closed; the next command reconnects`);
        }
      });
      client.connect(config);
    });
  }

  private async verifyHostKey(key: Buffer, host: string, port: number): Promise<void> {
    const keyType = keyTypeOf(key);
    const fingerprint = fingerprintOf(key);
    const entries = readKnownHostsFiles(this.knownHostsFiles());
    const verdict: HostKeyVerdict = checkHostKey(entries, host, port, keyType, key.toString('base64'));
    const where = `${this.target.alias} (${host}:${port})`;
    switch (verdict.status) {
      case 'trusted':
        return;
      case 'revoked':
        throw new SnapdebugError(`The host key of ${where} is revoked (${verdict.file} line ${verdict.line}); refusing to connect.`, {
          fix: 'Ask the host\'s administrator for its new key; a revoked key must never be used again.',
        });
      case 'changed':
        throw new SnapdebugError(
          `The host key of ${where} has changed: ${verdict.file} line ${verdict.line} holds another ${verdict.knownType} key, and it now offers ${keyType} ${fingerprint}. Refusing to connect: this can mean someone is intercepting the connection.`,
          {
            fix: `If the host was reinstalled and you have checked the new key, remove the old one with: ssh-keygen -R '${port === 22 ? host : `[${host}]:${port}`}' -f ${verdict.file}`,
          },
        );
      case 'unknown': {
        const knownHostsFile = this.recordFile();
        const question: HostKeyQuestion = { alias: this.target.alias, host, port, keyType, fingerprint, knownHostsFile };
        const strict = this.target.strictHostKeyChecking;
        const acceptNew = this.settings.acceptNewHostKeys === true || strict === 'accept-new' || strict === 'no';
        const trusted = acceptNew ? true : strict === 'yes' ? false : await this.prompts.confirmHostKey(question);
        if (!trusted) {
          throw new SnapdebugError(`The host key of ${where} is not known (${keyType} ${fingerprint}); refusing to connect.`, {
            fix: { text: `Check that fingerprint with the host's administrator, then trust it, or add it to ${knownHostsFile ?? 'a known_hosts file'}.`, options: [{ name: 'acceptNewHostKey' }] },
          });
        }
        if (knownHostsFile === undefined) {
          this.settings.log?.(`ssh ${this.target.alias}: trusted ${keyType} ${fingerprint} for this connection only (UserKnownHostsFile none)`);
          return;
        }
        appendKnownHost(knownHostsFile, host, port, key, this.target.hashKnownHosts);
        this.settings.log?.(`ssh ${this.target.alias}: recorded ${keyType} ${fingerprint} in ${knownHostsFile}`);
        return;
      }
    }
  }

  /** Offers, in order: the agent, each identity file (asking for passphrases), then a password. */
  private authHandler(): AuthHandlerMiddleware {
    const { user, identityFiles, identitiesOnly, identityAgent } = this.target;
    const queue: Array<() => Promise<AnyAuthMethod | undefined>> = [];
    if (identityAgent && !identitiesOnly) queue.push(async () => ({ type: 'agent', username: user, agent: identityAgent }));
    for (const file of identityFiles) {
      queue.push(async () => {
        let data: Buffer;
        try {
          data = readFileSync(file);
        } catch {
          return undefined;
        }
        let parsed = utils.parseKey(data);
        if (!(parsed instanceof Error)) return { type: 'publickey', username: user, key: data };
        if (!/passphrase/i.test(parsed.message)) return undefined;
        const passphrase = await this.prompts.passphrase(file);
        if (passphrase === undefined) return undefined;
        parsed = utils.parseKey(data, passphrase);
        if (parsed instanceof Error) {
          this.settings.log?.(`ssh ${this.target.alias}: the passphrase for ${file} is wrong`);
          await this.prompts.refused?.({ kind: 'passphrase', keyFile: file });
          return undefined;
        }
        return { type: 'publickey', username: user, key: data, passphrase };
      });
    }
    queue.push(async () => {
      const password = await this.prompts.password(user, this.target.alias);
      return password === undefined ? undefined : { type: 'password', username: user, password };
    });

    // ssh2 ends authentication when handed `false`; its types do not say so.
    const giveUp = false as unknown as AnyAuthMethod;
    let offered: AnyAuthMethod['type'] | undefined;
    return (methodsLeft, partial, next) => {
      // Called again after each attempt: if that was the password, the server refused it.
      if (offered === 'password' && !partial) void Promise.resolve(this.prompts.refused?.({ kind: 'password', user, host: this.target.alias })).catch(() => undefined);
      offered = undefined;
      const tryNext = async (): Promise<void> => {
        const step = queue.shift();
        if (!step) return next(giveUp);
        const auth = await step();
        const allowed = auth === undefined || !methodsLeft || methodsLeft.includes(auth.type === 'agent' ? 'publickey' : auth.type);
        if (auth === undefined || !allowed) return tryNext();
        offered = auth.type;
        next(auth);
      };
      tryNext().catch(() => next(giveUp));
    };
  }

  private explainConnectError(error: Error & { level?: string; code?: string }): Error {
    const where = `${this.target.alias} (${this.target.user}@${this.target.hostName}:${this.target.port})`;
    if (error.level === 'client-authentication') {
      return new SnapdebugError(`SSH login to ${where} was refused for every key and password offered.`, {
        fix: 'Check the User and IdentityFile in your ssh config, or load the key into ssh-agent.',
        cause: error,
      });
    }
    if (error.code === 'ECONNREFUSED') return new SnapdebugError(`Nothing accepts SSH connections at ${where}.`, { cause: error });
    if (error.level === 'client-timeout' || /Timed out/i.test(error.message)) {
      return new SnapdebugError(`SSH to ${where} timed out.`, { cause: error });
    }
    return new SnapdebugError(`SSH to ${where} failed: ${error.message}`, { cause: error });
  }
}
