// Turning a checkpoint archive stream (zstd, gzip or plain, told apart by its first bytes) back
// into the plain tar that relabel.ts rewrites. zstd goes to a `zstd` process when this machine
// has one: fzstd (pure JavaScript, the fallback) moves its whole window after every block, so on
// a 516 MiB archive it took 2.6 s where `zstd -d` took 0.12 s, and those 2.6 s ran on the thread
// that also encrypts both SSH connections of Snapshot & Debug (bench/debug.ts).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex, PassThrough, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { detectCompression } from './checkpointArchive';

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

/** zstd -d in a child process, with backpressure both ways; a bad stream fails with zstd's words. */
export function zstdProcess(program: string): Duplex {
  const child = spawn(program, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
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
    else duplex.destroy(new Error(`zstd -d failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
  });
  child.once('error', (error) => duplex.destroy(error));
  child.stdin.on('error', (error) => duplex.destroy(error)); // EPIPE when zstd has already failed
  return duplex;
}

function fzstdTransform(): Transform {
  let zstd: Decompress | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        // fzstd may reuse its output buffer: copy each chunk before handing it on.
        zstd ??= new Decompress((data) => this.push(Buffer.from(data)));
        zstd.push(chunk);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

function decoderFor(head: Buffer, program: string | undefined): Duplex {
  const compression = detectCompression(head);
  if (compression === 'gzip') return createGunzip();
  if (compression === 'none') return new PassThrough();
  return program ? zstdProcess(program) : fzstdTransform();
}

/**
 * A compressed or plain archive stream in, the plain tar out. `program`: the zstd program to use
 * (default: the one on PATH), or undefined for fzstd.
 */
export function decompressor(program: string | undefined = zstdProgram()): Duplex {
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
