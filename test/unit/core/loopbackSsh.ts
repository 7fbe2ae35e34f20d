// A real ssh2 server and client on 127.0.0.1 for unit tests: every connection is accepted, and each
// exec hands its channel and command line to the test's handler.
import type { AddressInfo } from 'node:net';
import ssh2, { type Client as ClientType, type ServerChannel } from 'ssh2';

const { Client, Server, utils } = ssh2;

export interface LoopbackSsh {
  client: ClientType;
  close(): void;
}

export async function startLoopbackSsh(onExec: (stream: ServerChannel, command: string) => void): Promise<LoopbackSsh> {
  const server = new Server({ hostKeys: [utils.generateKeyPairSync('ed25519').private] }, (connection) => {
    connection.on('authentication', (context) => context.accept());
    connection.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => onExec(acceptExec(), info.command));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve()).once('error', reject);
    // Test-only loopback server with a fresh key: nothing to verify it against.
    client.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'test', password: 'test', hostVerifier: () => true });
  });
  return {
    client,
    close: () => {
      client.end();
      server.close();
    },
  };
}
