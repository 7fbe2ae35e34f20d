// A small Chrome DevTools Protocol client, to ask a Node.js inspector (through our tunnel) what
// the process holds in memory: pause at a breakpoint, evaluate there, resume.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { labDir } from '../../lab/paths';

export interface Cdp {
  send<T = unknown>(method: string, params?: object): Promise<T>;
  next<T = unknown>(event: string, timeoutMs?: number): Promise<T>;
  close(): void;
}

export async function connectCdp(port: number): Promise<Cdp> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let id = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const waiters = new Map<string, Array<(params: unknown) => void>>();
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: unknown };
    if (message.id !== undefined) {
      const call = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) call?.reject(new Error(message.error.message));
      else call?.resolve(message.result);
    } else if (message.method) {
      const queue = waiters.get(message.method);
      queue?.shift()?.(message.params);
    }
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const callId = ++id;
        pending.set(callId, { resolve: resolve as (v: unknown) => void, reject });
        socket.send(JSON.stringify({ id: callId, method, params }));
      }),
    next: (event, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
        const queue = waiters.get(event) ?? [];
        queue.push((params) => {
          clearTimeout(timer);
          resolve(params as never);
        });
        waiters.set(event, queue);
      }),
    close: () => socket.close(),
  };
}

/**
 * Pauses demo-api at the start of its once-a-second tick() and evaluates expressions in that
 * frame (where the module's `state` is in scope), then resumes.
 */
export async function evaluateInTick(cdp: Cdp, expressions: string[], onPaused?: () => Promise<void>): Promise<unknown[]> {
  await cdp.send('Debugger.enable');
  const { breakpointId } = await cdp.send<{ breakpointId: string }>('Debugger.setBreakpointByUrl', {
    urlRegex: 'server\\.js$',
    lineNumber: tickLine,
  });
  const paused = await cdp.next<{ callFrames: Array<{ callFrameId: string }> }>('Debugger.paused');
  const frame = paused.callFrames[0]!.callFrameId;
  const values: unknown[] = [];
  for (const expression of expressions) {
    const { result } = await cdp.send<{ result: { value: unknown } }>('Debugger.evaluateOnCallFrame', { callFrameId: frame, expression, returnByValue: true });
    values.push(result.value);
  }
  await onPaused?.();
  await cdp.send('Debugger.removeBreakpoint', { breakpointId });
  await cdp.send('Debugger.resume');
  return values;
}

/** 0-based line of `state.ticks.count += 1;` in lab/demo-api/server.js. */
export const tickLine = readFileSync(join(labDir, 'demo-api', 'server.js'), 'utf8').split('\n').findIndex((l) => l.includes('state.ticks.count += 1;'));
