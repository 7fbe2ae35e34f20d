// Starting a command on an ssh2 connection so that its exit status is never missed.
import type { Client, ClientChannel } from 'ssh2';

/** How a command's channel ended: its exit code, or why there is none. */
export interface ChannelEnd {
  code: number | null;
  why: string;
}

/**
 * ssh2 emits 'exit' while it parses the packet, and a short command's exit status can arrive in
 * the same read as the reply that opens the channel — before a caller awaiting the channel could
 * listen. Under load that read "no exit status" for commands that exited 0. So the listener is
 * attached inside ssh2's callback, before anything yields.
 */
export function execChannel(client: Client, command: string): Promise<{ channel: ClientChannel; ended: ChannelEnd }> {
  return new Promise((resolve, reject) =>
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      const ended: ChannelEnd = { code: null, why: 'the channel closed before the command reported its exit status' };
      channel.once('exit', (code: number | null, signalName?: string) => {
        ended.code = code;
        if (code === null && signalName) ended.why = `ended by ${signalName}`;
      });
      resolve({ channel, ended });
    }),
  );
}
