// The source's side of a host-to-host transfer, the real sh scripts against a folder of their own:
// the serve script (what the one-time key runs) gives the archive's bytes while podman still
// writes them, and ends with all of them once the process that writes is gone. A stand-in writer
// takes podman's place: its PID in checkpoint.pid, as followedCheckpointScript writes it. And the
// target's writer (with_head): the stream is taken in before the copy's head exists, and the copy
// is that head followed by the stream past its original head.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prelude } from '../../../src/core/remote/shellLib';
import { prepareSourceScript, withHeadLib } from '../../../src/core/snapshot/hostToHostScripts';

function run(script: string, args: string[]): ChildProcess {
  return spawn('sh', ['-c', script, 'sh', ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', resolve));

describe('host to host: the source serves the archive as podman writes it', function () {
  this.timeout(20_000);
  let work: string;
  beforeEach(() => (work = mkdtempSync(join(tmpdir(), 'snapdebug-serve-'))));
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const prepare = async (file: string) => assert.equal(await exited(run(prepareSourceScript, ['root', work, file])), 0);

  it('prepares an empty archive file and the serve script, both new and private', async () => {
    await prepare('archive.tar.zst');
    assert.equal(statSync(join(work, 'archive.tar.zst')).size, 0);
    assert.match(readFileSync(join(work, 'serve'), 'utf8'), /^f=archive\.tar\.zst\n/);
    // Run again, it refuses: nothing of ours is ever written over.
    assert.notEqual(await exited(run(prepareSourceScript, ['root', work, 'archive.tar.zst'])), 0);
    assert.notEqual(await exited(run(prepareSourceScript, ['root', work, '../escape'])), 0);
  });

  it('gives the first bytes while the writer still runs, and every byte once it is gone', async () => {
    await prepare('archive.tar');
    // The writer: its PID first, a first part, then it waits for a go (its stdin) before the rest.
    const writer = spawn('sh', ['-c', 'echo $$ > "$1/checkpoint.pid"; printf first >> "$1/archive.tar"; read go; printf -- "-second" >> "$1/archive.tar"', 'sh', work], { stdio: ['pipe', 'ignore', 'ignore'] });
    const serve = spawn('sh', [join(work, 'serve')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const sawFirst = new Promise<void>((resolve) => serve.stdout.on('data', (chunk: Buffer) => ((out += chunk.toString()), out.includes('first') && resolve())));
    const served = exited(serve);
    await sawFirst;
    assert.equal(writer.exitCode, null, 'the first part came while the writer was still running');
    writer.stdin!.end('go\n');
    assert.equal(await served, 0);
    assert.equal(out, 'first-second');
  });

  it('a writer that never starts: serve ends once the work folder is gone', async () => {
    await prepare('archive.tar');
    const serve = run(`sh "$1/serve"`, [work]);
    const served = exited(serve);
    rmSync(work, { recursive: true, force: true });
    assert.notEqual(await served, 0);
  });

  describe('the target writes the copy: the relabelled head, then the stream past its original head', () => {
    const original = Buffer.from('ORIGINAL-HEAD!');
    const body = Buffer.alloc(5 * 1024 * 1024 + 123, 7);
    const newHead = Buffer.from('the copy head, longer than the original');
    const startWriter = () => {
      const child = spawn('sh', ['-c', `${prelude}${withHeadLib}\nw=$1\nwith_head > "$w/out"`, 'sh', 'root', work], { stdio: ['pipe', 'ignore', 'pipe'] });
      return { child, exit: exited(child) };
    };
    const write = (child: ChildProcess, bytes: Buffer) => new Promise<void>((resolve, reject) => child.stdin!.write(bytes, (error) => (error ? reject(error) : resolve())));
    const giveHead = () => {
      writeFileSync(join(work, 'head'), newHead);
      writeFileSync(join(work, 'head.new'), `${original.length}\n`);
      renameSync(join(work, 'head.new'), join(work, 'head.skip'));
    };

    it('takes the stream in before the head exists (the link never waits), then writes head + the rest', async () => {
      const { child, exit } = startWriter();
      // 5 MiB through a 64 KiB pipe: this write completes only if the writer reads without a head.
      await write(child, Buffer.concat([original, body.subarray(0, 5 * 1024 * 1024)]));
      giveHead();
      child.stdin!.end(body.subarray(5 * 1024 * 1024));
      assert.equal(await exit, 0);
      assert.ok(readFileSync(join(work, 'out')).equals(Buffer.concat([newHead, body])), 'the copy is the new head and the whole body');
      assert.throws(() => statSync(join(work, 'spool')), 'the spool is gone');
    });

    it('a head there before any byte: the original head is skipped from the stream itself', async () => {
      giveHead();
      const { child, exit } = startWriter();
      child.stdin!.end(Buffer.concat([original, body]));
      assert.equal(await exit, 0);
      assert.ok(readFileSync(join(work, 'out')).equals(Buffer.concat([newHead, body])));
    });
  });
});
