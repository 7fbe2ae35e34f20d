// A small Debug Adapter Protocol client, to ask debugpy (through our tunnel) what a Python
// process holds in memory: pause its main thread, evaluate, resume.
import { connect, type Socket } from 'node:net';

export interface Dap {
  request<T = unknown>(command: string, args?: object): Promise<T>;
  event<T = unknown>(name: string, timeoutMs?: number): Promise<T>;
  close(): void;
}

export async function connectDap(port: number): Promise<Dap> {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let seq = 0;
  let buffer = Buffer.alloc(0);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const seen = new Map<string, unknown[]>();
  const waiting = new Map<string, Array<(body: unknown) => void>>();
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const headerEnd = buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, headerEnd).toString())?.[1]);
      if (buffer.length < headerEnd + 4 + length) return;
      const message = JSON.parse(buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString()) as {
        type: string; request_seq?: number; success?: boolean; message?: string; body?: unknown; event?: string;
      };
      buffer = buffer.subarray(headerEnd + 4 + length);
      if (message.type === 'response') {
        const call = pending.get(message.request_seq!);
        pending.delete(message.request_seq!);
        if (message.success) call?.resolve(message.body);
        else call?.reject(new Error(message.message ?? 'request failed'));
      } else if (message.type === 'event') {
        const queue = waiting.get(message.event!);
        if (queue?.length) queue.shift()!(message.body);
        else seen.set(message.event!, [...(seen.get(message.event!) ?? []), message.body]);
      }
    }
  });
  const send = (message: object) => {
    const body = Buffer.from(JSON.stringify(message));
    socket.write(`Content-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
  };
  return {
    request: (command, args = {}) =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        send({ seq: id, type: 'request', command, arguments: args });
      }),
    event: (name, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const early = seen.get(name);
        if (early?.length) return resolve(early.shift() as never);
        const timer = setTimeout(() => reject(new Error(`no ${name} event within ${timeoutMs} ms`)), timeoutMs);
        waiting.set(name, [...(waiting.get(name) ?? []), (body) => { clearTimeout(timer); resolve(body as never); }]);
      }),
    close: () => socket.destroy(),
  };
}
