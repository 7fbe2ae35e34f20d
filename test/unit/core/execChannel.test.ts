// execChannel against a real ssh2 server on 127.0.0.1 that answers every command at once — the
// reply opening the channel, the exit status and the close leave in one write, as a busy host's
// sshd sends them — so the exit status arrives in the same read as the channel: it must not be lost.
import { strict as assert } from 'node:assert';
import type { Client as ClientType } from 'ssh2';
import { execChannel } from '../../../src/core/ssh/execChannel';
import { startLoopbackSsh, type LoopbackSsh } from './loopbackSsh';

describe('execChannel (a real ssh2 server and client on 127.0.0.1)', function () {
  this.timeout(20_000);
  let ssh: LoopbackSsh;
  let client: ClientType;

  before(async () => {
    // `exit N` exits N at once; `signal` ends as if killed by SIGTERM.
    ssh = await startLoopbackSsh((stream, command) => {
      if (command === 'signal') stream.exit('TERM', false, '');
      else stream.exit(Number(command.split(' ')[1]));
      stream.end();
    });
    client = ssh.client;
  });

  after(() => ssh.close());

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
