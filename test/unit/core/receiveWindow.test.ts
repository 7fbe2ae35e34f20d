// widenReceiveWindow against a real ssh2 channel: an ssh2 Server on 127.0.0.1 streams bytes to an
// ssh2 Client, whose channel nobody reads. With the window widened the sender gets exactly that
// many bytes out; consumed bytes are granted back; a closing channel gets no more grants; and a
// channel missing the fields this relies on (another ssh2) is refused loudly.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ClientChannel, Client as ClientType } from 'ssh2';
import { widenReceiveWindow } from '../../../src/core/ssh/receiveWindow';
import { SnapdebugError } from '../../../src/core/util/errors';
import { LocalRunner } from '../../../src/core/ssh/runner';
import { startLoopbackSsh, type LoopbackSsh } from './loopbackSsh';

const MiB = 1024 * 1024;
const chunkBytes = 32 * 1024;

/** Resolves once `condition` holds, checking after every turn of the event loop. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The byte at `offset` of what the server sends: a pattern, so order and loss show. */
function pattern(offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  for (let i = 0; i < length; i++) buffer[i] = (offset + i) % 251;
  return buffer;
}

describe('widenReceiveWindow (a real ssh2 server and client on 127.0.0.1)', function () {
  this.timeout(20_000);
  let ssh: LoopbackSsh;
  let client: ClientType;

  before(async () => {
    // `exec N`: the server writes N bytes of the pattern, then exits 0.
    ssh = await startLoopbackSsh((stream, command) => {
      const total = Number(command);
      let sent = 0;
      const writeMore = () => {
        while (sent < total) {
          const length = Math.min(chunkBytes, total - sent);
          const more = stream.write(pattern(sent, length));
          sent += length;
          if (!more) return void stream.once('drain', writeMore);
        }
        stream.exit(0);
        stream.end();
      };
      writeMore();
    });
    client = ssh.client;
  });

  after(() => ssh.close());

  function exec(bytes: number): Promise<ClientChannel> {
    return new Promise((resolve, reject) => client.exec(String(bytes), (error, channel) => (error ? reject(error) : resolve(channel))));
  }

  it('opens the window at once: with nobody reading, the sender gets exactly the window out', async () => {
    const channel = await exec(16 * MiB);
    const early = channel.readableLength; // what arrived before the window was widened
    widenReceiveWindow(channel, 8 * MiB);
    // Nothing reads the channel: ssh2's own top-ups stop once its 2 MiB buffer is full, so
    // without the wider window the sender would stall near 3 MiB.
    await waitFor(() => channel.readableLength >= 8 * MiB, '8 MiB to arrive unread');
    assert.equal(channel.readableLength, early + 8 * MiB, 'never more than the window granted');
    channel.destroy();
  });

  it('grants back what was consumed, and the whole stream arrives intact', async () => {
    const total = 20 * MiB + 12345;
    const channel = await exec(total);
    const consumed = widenReceiveWindow(channel, 8 * MiB);
    await waitFor(() => channel.readableLength >= 8 * MiB, 'the first window');
    const received = createHash('sha256');
    let bytes = 0;
    const ended = new Promise<void>((resolve) => channel.once('end', resolve));
    // Read in 1 MiB steps, granting each back; paused in between, so only grants let data in.
    while (bytes < total) {
      await waitFor(() => channel.readableLength >= Math.min(MiB, total - bytes) || channel.readableEnded, 'more data after a grant');
      const chunk = channel.read(Math.min(MiB, channel.readableLength)) as Buffer | null;
      if (!chunk) continue;
      received.update(chunk);
      bytes += chunk.length;
      consumed(chunk.length);
    }
    channel.read();
    await ended;
    assert.equal(bytes, total);
    assert.equal(received.digest('hex'), createHash('sha256').update(pattern(0, total)).digest('hex'));
  });

  it('sends no grant once the channel is closing', async () => {
    const channel = await exec(4 * MiB);
    const consumed = widenReceiveWindow(channel, 8 * MiB);
    const protocol = (channel as unknown as { _client: { _protocol: { channelWindowAdjust: (id: number, n: number) => void } } })._client._protocol;
    const real = protocol.channelWindowAdjust;
    let adjustments = 0;
    protocol.channelWindowAdjust = function (id: number, n: number) {
      adjustments++;
      return real.call(this, id, n);
    };
    try {
      channel.close();
      consumed(8 * MiB);
      assert.equal(adjustments, 0);
    } finally {
      protocol.channelWindowAdjust = real;
    }
  });

  it('refuses, loudly, an ssh2 channel without the fields it widens (another ssh2)', async () => {
    const channel = await exec(MiB);
    try {
      const incoming = (channel as unknown as { incoming: unknown }).incoming;
      delete (channel as unknown as { incoming?: unknown }).incoming;
      assert.throws(() => widenReceiveWindow(channel, 8 * MiB), (e: unknown) => e instanceof SnapdebugError && /ssh2 no longer keeps a channel's receive window/.test(e.message));
      (channel as unknown as { incoming: unknown }).incoming = incoming;
    } finally {
      channel.destroy();
    }
  });

  it('leaves anything that is not an ssh2 channel alone: a local process, a plain stream', async () => {
    const local = await new LocalRunner().start(['true']);
    assert.doesNotThrow(() => widenReceiveWindow(local.stdout, 8 * MiB)(8 * MiB));
    await local.exit;
    assert.doesNotThrow(() => widenReceiveWindow(Readable.from([]), 8 * MiB)(8 * MiB));
  });
});
