// Talking to a Node.js inspector through a local port: GET /json/version (the first answer a
// debugger gets), and, for the manual anchor, the relay a person would script with OpenSSH: a
// local listener whose every connection runs `ssh HOST nsenter --target PID --net` with bash's
// /dev/tcp inside the copy's network namespace (sshd's -L cannot reach a copy's loopback).
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { createServer, type Server } from 'node:net';

/** Resolves with the inspector's /json/version answer, or rejects (connection refused, closed, not JSON). */
export function inspectorVersion(port: number, timeoutMs = 10_000): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path: '/json/version', agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        try {
          const answer = JSON.parse(body) as Record<string, string>;
          if (!answer['Protocol-Version'] && !answer.Browser) throw new Error('not an inspector');
          resolve(answer);
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

/** Polls until the inspector answers (a person's script retries the same way). */
export async function waitForInspector(port: number, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await inspectorVersion(port);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the inspector did not answer within ${timeoutMs} ms: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

const bashRelay = 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; cat <&3 & cat >&3';

export interface OpenSshRelay {
  port: number;
  close(): Promise<void>;
}

/** 127.0.0.1:PORT → ssh HOST nsenter --target PID --net bash /dev/tcp 127.0.0.1:targetPort. */
export async function openSshRelay(sshConfig: string, host: string, pid: number, targetPort: number): Promise<OpenSshRelay> {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to relay into PID ${pid}`);
  const children = new Set<ChildProcess>();
  const server: Server = createServer((socket) => {
    const child = spawn('ssh', ['-F', sshConfig, '-o', 'BatchMode=yes', host, 'nsenter', '--target', String(pid), '--net', '--', 'bash', '-c', `'${bashRelay}'`, 'bash', String(targetPort)], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    children.add(child);
    child.on('exit', () => {
      children.delete(child);
      socket.end();
    });
    socket.pipe(child.stdin!);
    child.stdout!.pipe(socket);
    const stop = () => child.exitCode === null && child.kill('SIGTERM');
    socket.on('close', stop);
    socket.on('error', stop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: async () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
