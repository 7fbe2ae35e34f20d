// Turning a checkpoint archive stream (zstd, gzip or plain, told apart by its first bytes) back
// into the plain tar that relabel.ts rewrites. zstd goes to a `zstd` process when this machine
// has one: fzstd (pure JavaScript, the fallback) moves its whole window after every block, so on
// a 516 MiB archive it took 2.6 s where `zstd -d` took 0.12 s, and those 2.6 s ran on the thread
// that also encrypts both SSH connections of Snapshot & Debug (bench/debug.ts). Either way a
// frame may ask for a window of at most maxZstdWindowBytes (zstdFrames.ts): a forged header
// cannot make us, or the zstd process, allocate more.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { SnapdebugError } from '../util/errors';
import { detectCompression } from './checkpointArchive';
import { maxZstdWindowBytes, ZstdFrameCheck } from './zstdFrames';

const magicBytes = 4;

let zstdPath: string | null | undefined;

/** The `zstd` program on PATH, if any (looked up once). */
export function zstdProgram(): string | undefined {
  if (zstdPath === undefined) {
    zstdPath = null;
    for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
      if (!dir) continue;
      try {
        accessSync(join(dir, 'zstd'), constants.X_OK);
        zstdPath = join(dir, 'zstd');
        break;
      } catch {
        // not here
      }
    }
  }
  return zstdPath ?? undefined;
}

/**
 * zstd in a child process, with backpressure both ways; a bad stream fails with zstd's words.
 * Decompressing, it refuses frames asking for a larger window than we allow. Compressing, it
 * uses podman's level (3) on every core: a relabelled archive crossing a slow link as a plain tar
 * took 3× the manual sequence's time for a heap of JSON objects (docs/benchmarks.md, debug-wan).
 */
export function zstdProcess(program: string, mode: 'decompress' | 'compress' = 'decompress'): Duplex {
  const args = mode === 'decompress' ? ['-d', '-c', '-q', `--memory=${maxZstdWindowBytes / 1024 / 1024}MB`] : ['-3', '-T0', '-c', '-q'];
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      if (child.stdin.write(chunk)) done();
      else child.stdin.once('drain', () => done());
    },
    final(done) {
      child.stdin.end();
      done();
    },
    read() {
      child.stdout.resume();
    },
    destroy(error, done) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      done(error);
    },
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) child.stdout.pause();
  });
  // 'close' comes after stdout has given all its data: only then is the output known complete.
  child.once('close', (code, signal) => {
    if (code === 0) duplex.push(null);
    else duplex.destroy(new Error(`zstd ${args[0]} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
  });
  child.once('error', (error) => duplex.destroy(error));
  child.stdin.on('error', (error) => duplex.destroy(error)); // EPIPE when zstd has already failed
  return duplex;
}

/** Decoded bytes fzstd produces between two looks at the reader: a few of its 128 KiB blocks. */
const fzstdPieceBytes = 1024 * 1024;

/**
 * fzstd with backpressure. fzstd decodes all it is given at once, and 4 bytes of a zstd frame
 * may decode to 128 KiB: it is fed a piece at a time (cut at block boundaries by
 * ZstdFrameCheck), and waits for its reader whenever a megabyte is waiting to be read.
 */
function fzstdDecoder(): Duplex {
  const frames = new ZstdFrameCheck();
  let resume: (() => void) | undefined;
  const duplex: Duplex = new Duplex({
    readableHighWaterMark: fzstdPieceBytes,
    write(chunk: Buffer, _encoding, done) {
      let pieces: Buffer[];
      try {
        pieces = frames.cut(chunk, fzstdPieceBytes);
      } catch (error) {
        return done(error as Error);
      }
      const feed = (from: number): void => {
        try {
          for (let i = from; i < pieces.length; i++) {
            zstd.push(pieces[i]!);
            if (duplex.readableLength >= fzstdPieceBytes) {
              resume = () => feed(i + 1);
              return;
            }
          }
        } catch (error) {
          return done(error as Error);
        }
        done();
      };
      feed(0);
    },
    final(done) {
      if (!frames.atFrameBoundary) return done(new SnapdebugError("The archive's zstd stream ends inside a frame: it is truncated."));
      duplex.push(null);
      done();
    },
    read() {
      const next = resume;
      resume = undefined;
      next?.();
    },
  });
  // fzstd may reuse its output buffer: copy each chunk before handing it on.
  const zstd = new Decompress((data) => void duplex.push(Buffer.from(data)));
  return duplex;
}

function decoderFor(head: Buffer, program: string | null): Duplex {
  const compression = detectCompression(head);
  if (compression === 'gzip') return createGunzip();
  if (compression === 'none') return new PassThrough();
  return program ? zstdProcess(program) : fzstdDecoder();
}

/**
 * A compressed or plain archive stream in, the plain tar out. `program`: the zstd program to use
 * (default: the one on PATH), or null for fzstd (undefined means the default, as ever in JS).
 */
export function decompressor(program: string | null = zstdProgram() ?? null): Duplex {
  let decoder: Duplex | undefined;
  let head: Buffer[] = [];
  let headBytes = 0;
  const start = (): Duplex => {
    const chosen = decoderFor(Buffer.concat(head, headBytes), program);
    chosen.on('data', (chunk: Buffer) => {
      if (!outer.push(chunk)) chosen.pause();
    });
    chosen.once('end', () => outer.push(null));
    chosen.once('error', (error) => outer.destroy(error));
    decoder = chosen;
    return chosen;
  };
  const feed = (chunk: Buffer, done: (error?: Error | null) => void) => {
    const target = decoder ?? start();
    if (target.write(chunk)) done();
    else target.once('drain', () => done());
  };
  const outer = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      if (decoder) return feed(chunk, done);
      // The first bytes tell the compression; wait until there are enough of them.
      head.push(chunk);
      headBytes += chunk.length;
      if (headBytes < magicBytes) return done();
      const first = Buffer.concat(head, headBytes);
      feed(first, done);
      head = [];
    },
    final(done) {
      if (!decoder && headBytes > 0) feed(Buffer.concat(head, headBytes), () => undefined);
      if (decoder) decoder.end();
      else outer.push(null); // nothing came in: nothing goes out
      done();
    },
    read() {
      decoder?.resume();
    },
    destroy(error, done) {
      decoder?.destroy();
      done(error);
    },
  });
  return outer;
}
