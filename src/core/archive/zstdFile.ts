// A zstd archive decompressed by a `zstd` process that reads the file itself, its output read
// into ONE reused buffer: a 1 GiB archive passes through this process without a gigabyte of
// fresh Buffers, which V8 would let pile up to its external-memory limit (about 64 MiB) before
// collecting. The output comes through a FIFO in a private folder (0700) because Node reads into
// a caller's buffer (net.Socket's `onread`) only for sockets it opens itself.
// Each chunk is valid only until the next one is asked for: consumers copy what they keep.
// zstd is held to the same window as everywhere else (--memory, decompress.ts): a forged frame
// header cannot make it allocate more.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortError, onAbort } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { maxZstdWindowBytes } from './zstdFrames';

const chunkBytes = 1024 * 1024;

/** Whether this machine can make FIFOs (mkfifo on PATH); otherwise callers use a plain pipe. */
export function canUseFifo(): boolean {
  return process.platform !== 'win32' && spawnSync('mkfifo', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function* zstdFileChunks(program: string, path: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'snapdebug-zstd-'));
  const fifo = join(dir, 'out');
  let socket: Socket | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  try {
    if (spawnSync('mkfifo', ['-m', '600', fifo]).status !== 0) throw new SnapdebugError(`Could not make a FIFO in ${dir}.`);
    // The reading end first, without blocking; then the writing end, which then opens at once.
    const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(fifo, constants.O_WRONLY);
    child = spawn(program, ['-d', '-c', '-q', `--memory=${maxZstdWindowBytes / 1024 / 1024}MB`, '--', path], { stdio: ['ignore', writeFd, 'pipe'] });
    closeSync(writeFd);
    rmSync(dir, { recursive: true, force: true }); // both ends are open: the name is not needed
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const exited = new Promise<void>((resolve, reject) => {
      child!.once('error', reject);
      child!.once('close', (code, sig) => (code === 0 ? resolve() : reject(new SnapdebugError(`zstd -d failed on ${path} (${sig ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`))));
    });
    exited.catch(() => undefined); // read below, after the output ends

    let ready: Buffer | undefined;
    let ended = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => wake?.();
    // `onread` works for the constructor as for connect() (Node's net.js); @types/node lists it for connect() only.
    const options: SocketConstructorOpts & { onread: OnReadOpts } = {
      fd: readFd,
      readable: true,
      writable: false,
      onread: {
        buffer: Buffer.allocUnsafe(chunkBytes),
        callback: (bytes: number, buffer: Uint8Array) => {
          ready = Buffer.from(buffer.buffer, buffer.byteOffset, bytes);
          notify();
          return false; // pause until this chunk is consumed: the buffer is reused
        },
      },
    };
    socket = new Socket(options);
    socket.once('end', () => ((ended = true), notify()));
    socket.once('error', (error) => ((failure = error), notify()));
    const stop = onAbort(signal, () => ((failure = new AbortError()), notify()));
    try {
      for (;;) {
        while (ready === undefined && !ended && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
        if (failure !== undefined) throw failure;
        if (ready !== undefined) {
          const chunk = ready;
          ready = undefined;
          yield chunk;
          socket.resume();
          continue;
        }
        break; // ended
      }
      await exited;
    } finally {
      stop();
    }
  } finally {
    socket?.destroy();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
