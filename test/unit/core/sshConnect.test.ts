// Connecting to a host that accepts TCP and never speaks SSH (a link that died mid-handshake):
// ssh2 emits two errors — its handshake timeout, then "Connection lost before handshake" as the
// socket closes. The connection must refuse once, in words, and the second error must not end the
// process (an unheard 'error' event would: seen in the fault suite, pull with its link cut).
import { strict as assert } from 'node:assert';
import { createServer, type Server, type Socket } from 'node:net';
import { SshConnection } from '../../../src/core/ssh/connection';
import type { HostTarget } from '../../../src/core/ssh/sshConfig';
import { waitUntil } from '../helpers';

describe('ssh connect to a host that never answers the handshake', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let port = 0;
  before(async () => {
    server = createServer((socket) => sockets.push(socket)); // accepts, says nothing
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });

  it('refuses once with a sentence, and a second error from ssh2 is heard (no uncaught error)', async () => {
    const target: HostTarget = {
      alias: 'silent',
      hostName: '127.0.0.1',
      port,
      user: 'root',
      identityFiles: [],
      identitiesOnly: true,
      identityAgent: undefined,
      proxyJump: undefined,
      userKnownHostsFiles: [],
      globalKnownHostsFiles: [],
      strictHostKeyChecking: 'yes',
      hostKeyAlias: undefined,
      hashKnownHosts: false,
      connectTimeoutMs: 300,
    };
    const logged: string[] = [];
    const uncaught: Error[] = [];
    const onUncaught = (error: Error) => uncaught.push(error);
    // mocha's own handler would fail the test too; this one says what was uncaught.
    process.prependListener('uncaughtException', onUncaught);
    try {
      const connection = new SshConnection(target, { confirmHostKey: async () => false } as never, { log: (line) => logged.push(line) }, () => {
        throw new Error('no jumps here');
      });
      await assert.rejects(connection.connect(), /silent|handshake|timed out/i);
      // The socket closes after the timeout: ssh2's second error arrives then, and is logged.
      await waitUntil(() => uncaught.length > 0 || logged.some((line) => /Connection lost before handshake/.test(line)), 'the second error');
      assert.deepEqual(uncaught.map((e) => e.message), []);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
