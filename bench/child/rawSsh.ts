// A bare ssh2 client to an ssh_config alias, for transfer variants the product does not use
// (another cipher, SFTP, several channels by hand): the same host, user, key and known_hosts
// check as the product's own connection, with the cipher list the variant asks for.
import { readFileSync } from 'node:fs';
import ssh2, { type Client as ClientType } from 'ssh2';
import { checkHostKey, keyTypeOf, readKnownHostsFiles } from '../../src/core/ssh/knownHosts';
import { loadSshConfig, resolveHost } from '../../src/core/ssh/sshConfig';

const { Client } = ssh2;

export async function connectRaw(sshConfig: string, alias: string, ciphers?: string[]): Promise<ClientType> {
  const target = resolveHost(alias, loadSshConfig({ file: sshConfig }));
  const known = readKnownHostsFiles(target.userKnownHostsFiles);
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({
      host: target.hostName,
      port: target.port,
      username: target.user,
      privateKey: readFileSync(target.identityFiles[0]!),
      ...(ciphers && { algorithms: { cipher: ciphers as never } }),
      hostVerifier: (key: Buffer) => checkHostKey(known, target.hostName, target.port, keyTypeOf(key), key.toString('base64')).status === 'trusted',
    });
  });
  return client;
}

/** Runs a command and resolves with its stdout stream once the channel is open. */
export function execStream(client: ClientType, command: string): Promise<ssh2.ClientChannel> {
  return new Promise((resolve, reject) => client.exec(command, (error, channel) => (error ? reject(error) : resolve(channel))));
}

export function sftpOf(client: ClientType): Promise<ssh2.SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp))));
}
