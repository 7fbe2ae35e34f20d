// Receive windows kept open on SSH channels we drain ourselves (a streaming checkpoint: one channel,
// no byte ranges possible; pull's channels, optionally). ssh2 (1.17) gives each channel a 2 MiB
// window and tops it up only once half of it is used, so on a fast link the sender spends most of a
// transfer waiting for permission to send. Measured by bench/transport.ts (docs/benchmarks.md): a
// streaming checkpoint of a 512 MiB heap took 11.2 s with ssh2's window and 5.4 s with this one
// (the file transport, which pulls over 8 channels, 5.3 s).
//
// ssh2 has no public way to do this: we write its channel's window and send CHANNEL_WINDOW_ADJUST
// through its protocol object. The unit test runs this against a real ssh2 server and client, and
// a channel that no longer has those fields fails loudly here rather than going slow in silence.
import type { Readable } from 'node:stream';
import { SnapdebugError } from '../util/errors';

export const receiveWindowBytes = 8 * 1024 * 1024;

/** The parts of an ssh2 channel that window handling needs (ssh2 does not expose them). */
interface Ssh2ChannelWindow {
  incoming: { window: number };
  outgoing: { id: number; state: string };
  _client: { _protocol: { channelWindowAdjust(id: number, amount: number): void } };
}

/** An ssh2 channel by its public face: a stderr stream and the signal/setWindow methods. */
function isSsh2Channel(stream: Readable): boolean {
  const channel = stream as unknown as { stderr?: unknown; signal?: unknown; setWindow?: unknown };
  return typeof channel.signal === 'function' && typeof channel.setWindow === 'function' && typeof channel.stderr === 'object' && channel.stderr !== null;
}

function hasWindowFields(stream: Readable): boolean {
  const channel = stream as unknown as Partial<Ssh2ChannelWindow>;
  return (
    typeof channel.incoming?.window === 'number' &&
    typeof channel.outgoing?.id === 'number' &&
    typeof channel.outgoing.state === 'string' &&
    typeof channel._client?._protocol?.channelWindowAdjust === 'function'
  );
}

/**
 * Opens the receive window of `stream` to `windowBytes` and returns a function to call with the
 * size of each chunk once it has been consumed: consumed bytes, and only those, are granted back
 * to the sender, so what the sender may still send plus what waits here unconsumed stays about
 * `windowBytes` (ssh2's own top-ups come on top only while its 2 MiB buffer has room). Anything
 * that is not an ssh2 channel (a local process's output) is left alone. An ssh2 channel without
 * the fields this needs (another ssh2) is refused with an error saying so.
 */
export function widenReceiveWindow(stream: Readable, windowBytes = receiveWindowBytes): (consumedBytes: number) => void {
  if (windowBytes <= 0 || !isSsh2Channel(stream)) return () => undefined;
  if (!hasWindowFields(stream)) {
    throw new SnapdebugError(
      "This ssh2 no longer keeps a channel's receive window where snapdebug widens it (incoming.window, _client._protocol.channelWindowAdjust), so transfers would crawl.",
      { fix: 'Use the ssh2 version snapdebug was built and tested with (package.json), or update src/core/ssh/receiveWindow.ts for this one.' },
    );
  }
  const { incoming, outgoing, _client } = stream as unknown as Ssh2ChannelWindow;
  const protocol = _client._protocol;
  const grant = (amount: number) => {
    // Once we have sent CHANNEL_CLOSE nothing more may be sent on the channel (RFC 4254 5.3).
    if (outgoing.state !== 'open' && outgoing.state !== 'eof') return;
    incoming.window += amount;
    protocol.channelWindowAdjust(outgoing.id, amount);
  };
  if (windowBytes > incoming.window) grant(windowBytes - incoming.window);
  // Grants go in steps, not per chunk: each one is a packet of its own.
  const stepBytes = windowBytes / 4;
  let consumed = 0;
  return (bytes: number) => {
    consumed += bytes;
    if (consumed < stepBytes) return;
    const amount = Math.min(consumed, windowBytes - incoming.window);
    consumed = 0;
    if (amount > 0) grant(amount);
  };
}
