// A small Chrome DevTools Protocol client for a Node.js inspector reached through our tunnel: the
// first target of /json/list, commands with replies, and events to listeners. Enough for
// HeapProfiler and Profiler; the debugging itself is js-debug's (or any CDP client's) job.
import WebSocket from 'ws';
import { AbortError } from '../util/abort';
import { SnapdebugError } from '../util/errors';

export interface CdpSession {
  send<T = unknown>(method: string, params?: object): Promise<T>;
  on(event: string, listener: (params: unknown) => void): () => void;
  close(): void;
}

const connectTimeoutMs = 15_000;

export async function connectCdp(port: number, signal?: AbortSignal): Promise<CdpSession> {
  const list = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: signal ?? AbortSignal.timeout(connectTimeoutMs) });
  const targets = (await list.json()) as Array<{ webSocketDebuggerUrl?: string }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new SnapdebugError('The Node.js inspector of the copy lists no target to connect to.');
  // The inspector names its own address (127.0.0.1:9229 inside the copy): connect through the tunnel.
  const local = url.replace(/^ws:\/\/[^/]+/, `ws://127.0.0.1:${port}`);
  const socket = new WebSocket(local, { maxPayload: 0, handshakeTimeout: connectTimeoutMs });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let id = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, Set<(params: unknown) => void>>();
  const failAll = (error: Error) => {
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: unknown };
    if (message.id !== undefined) {
      const call = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) call?.reject(new SnapdebugError(`The inspector refused: ${message.error.message}`));
      else call?.resolve(message.result);
    } else if (message.method) {
      for (const listener of listeners.get(message.method) ?? []) listener(message.params);
    }
  });
  socket.on('close', () => failAll(new SnapdebugError('The connection to the Node.js inspector closed.')));
  const onAbort = () => {
    failAll(new AbortError());
    socket.terminate();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        if (socket.readyState !== WebSocket.OPEN) return reject(new SnapdebugError('The connection to the Node.js inspector is closed.'));
        const callId = ++id;
        pending.set(callId, { resolve: resolve as (v: unknown) => void, reject });
        socket.send(JSON.stringify({ id: callId, method, params }));
      }),
    on: (event, listener) => {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => set.delete(listener);
    },
    close: () => {
      signal?.removeEventListener('abort', onAbort);
      socket.close();
    },
  };
}
