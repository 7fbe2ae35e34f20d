// execChannel against a real ssh2 server on 127.0.0.1 that answers every command at once — the
// reply opening the channel, the exit status and the close leave in one write, as a busy host's
// sshd sends them — so the exit status arrives in the same read as the channel: it must not be lost.
import { strict as assert } from 'node:assert';
import type { AddressInfo } from 'node:net';
import ssh2, { type Client as ClientType, type Server as ServerType } from 'ssh2';
import { execChannel } from '../../../src/core/ssh/execChannel';

const { Client, Server, utils } = ssh2;

describe('execChannel (a real ssh2 server and client on 127.0.0.1)', function () {
  this.timeout(20_000);
  let server: ServerType;
  let client: ClientType;

  before(async () => {
    // `exit N` exits N at once; `signal` ends as if killed by SIGTERM.
    server = new Server({ hostKeys: [utils.generateKeyPairSync('ed25519').private] }, (connection) => {
      connection.on('authentication', (context) => context.accept());
      connection.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          if (info.command === 'signal') stream.exit('TERM', false, '');
          else stream.exit(Number(info.command.split(' ')[1]));
          stream.end();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve()).once('error', reject);
      // Test-only loopback server with a fresh key: nothing to verify it against.
      client.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'test', password: 'test', hostVerifier: () => true });
    });
  });

  after(() => {
    client.end();
    server.close();
  });

  async function run(command: string): Promise<{ code: number | null; why: string }> {
    const { channel, ended } = await execChannel(client, command);
    // Like the runner: read the output, then wait for the close.
    channel.resume();
    channel.stderr.resume();
    await new Promise((resolve) => channel.once('close', resolve));
    return { code: ended.code, why: ended.why };
  }

  it('never loses an exit status that arrives with the channel, across many commands at once', async () => {
    const codes = Array.from({ length: 40 }, (_, i) => i % 7);
    const results = await Promise.all(codes.map((code) => run(`exit ${code}`)));
    assert.deepEqual(results.map((r) => r.code), codes);
  });

  it('says which signal ended a command that has no exit code', async () => {
    assert.deepEqual(await run('signal'), { code: null, why: 'ended by SIGTERM' });
  });
});
