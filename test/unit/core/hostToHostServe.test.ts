// The source's side of a host-to-host transfer, the real sh scripts against a folder of their own:
// the serve script (what the one-time key runs) gives the archive's bytes while podman still
// writes them, and ends with all of them once the process that writes is gone. A stand-in writer
// takes podman's place: its PID in checkpoint.pid, as Host.podman's pidFile writes it.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareSourceScript } from '../../../src/core/snapshot/hostToHostScripts';

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
});
