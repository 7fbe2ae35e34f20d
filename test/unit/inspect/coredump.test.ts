// Core files from a real archive, read back by the real gdb and readelf: gdb finds the counter's
// registers and its memory (tick_count and last_message at their addresses in the lab's build of
// lab/demo-native/counter.c) in a core written with nothing but the archive; the notes are the
// kernel's; the program and libraries are taken only through plain directories of an image.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { writeCoreFile } from '../../../src/core/coredump/coreFile';
import { componentsOf, containerPath, safeFiles } from '../../../src/core/coredump/hostFiles';
import { gdbinitText } from '../../../src/core/coredump/snapshotCore';
import { fixture, plannedTempDir } from '../helpers';

const native = fixture('demo-native-checkpoint.tar.zst');
const sleeper = fixture('demo-sleeper-checkpoint.tar.zst');

function gdb(core: string, ...commands: string[]): string {
  return execFileSync('gdb', ['-nx', '-batch', '-ex', `core-file ${core}`, ...commands.flatMap((c) => ['-ex', c])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('core files', function () {
  this.timeout(30_000);
  const temp = plannedTempDir('core');
  before(() => temp.create());
  after(() => temp.cleanup());

  it("demo-native: gdb reads the registers and the counter's memory from a core built from the archive alone", async () => {
    const result = await writeCoreFile({ archivePath: native, pid: 1, outDir: join(temp.dir, 'native') });
    assert.equal(result.program, '/app/counter');
    assert.equal(result.threads, 1);
    assert.equal(statSync(result.corePath).mode & 0o777, 0o600, 'the core holds process memory');
    const out = gdb(result.corePath, 'info registers rip rsp', 'x/s 0x4a60e0', 'x/gd 0x4a8330', 'info proc');
    assert.match(out, /rip\s+0x457f83/, "CRIU's saved instruction pointer (in clock_nanosleep)");
    assert.match(out, /rsp\s+0x7ffdac55ab18/);
    assert.match(out, /0x4a60e0:\s+"tick 4"/, 'last_message, from the data pages');
    assert.match(out, /0x4a8330:\s+4\b/, 'tick_count agrees with last_message');
    assert.match(out, /exe = '\/app\/counter'/, 'NT_PRPSINFO carries argv');
  });

  it('writes the notes the kernel writes and a PT_LOAD per memory area', async () => {
    const result = await writeCoreFile({ archivePath: sleeper, pid: 1, outDir: join(temp.dir, 'sleeper') });
    const notes = execFileSync('readelf', ['-n', result.corePath], { encoding: 'utf8' });
    for (const kind of ['NT_PRSTATUS', 'NT_PRPSINFO', 'NT_AUXV', 'NT_FILE', 'NT_FPREGSET', 'NT_X86_XSTATE']) assert.match(notes, new RegExp(kind));
    const headers = execFileSync('readelf', ['-lW', result.corePath], { encoding: 'utf8' });
    assert.equal(headers.match(/^\s+LOAD/gm)?.length, 30, 'mm-1.img has 30 memory areas');
    assert.match(headers, /Elf file type is CORE/);
    // The shared libraries bash mapped, as gdb would load them.
    const files = gdb(result.corePath, 'info proc mappings');
    assert.match(files, /\/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6/);
  });

  it('refuses a process the snapshot does not have', async () => {
    await assert.rejects(writeCoreFile({ archivePath: native, pid: 7, outDir: join(temp.dir, 'none') }), /has no process 7/);
  });

  it('fetches only plain absolute paths through real directories of the image', () => {
    assert.equal(containerPath('/usr/lib/libc.so.6'), '/usr/lib/libc.so.6');
    for (const bad of ['usr/lib/x', '/usr/../etc/shadow', '/a//b', '/', '/a\nb']) assert.equal(containerPath(bad), undefined, bad);
    assert.deepEqual(componentsOf(['/usr/lib/a.so', '/usr/bin/b']), ['/usr', '/usr/lib', '/usr/lib/a.so', '/usr/bin', '/usr/bin/b']);
    const mount = '/var/lib/containers/storage/overlay/x/merged';
    const stat = [
      `directory\t${mount}/usr`, `directory\t${mount}/usr/lib`, `regular file\t${mount}/usr/lib/a.so`,
      `symbolic link\t${mount}/lib`, `symbolic link\t${mount}/usr/lib/evil.so`, `directory\t${mount}/app`,
    ].join('\n');
    const report = safeFiles(['/usr/lib/a.so', '/lib/x.so', '/usr/lib/evil.so', '/app/gone'], mount, stat);
    assert.deepEqual(report.safe, ['/usr/lib/a.so']);
    assert.deepEqual(report.missing.map((m) => [m.path, m.reason]), [
      ['/lib/x.so', '/lib is a symbolic link in the image'],
      ['/usr/lib/evil.so', 'a symbolic link in the image'],
      ['/app/gone', 'not in the image (written by the container after it started?)'],
    ]);
  });

  it('writes a gdbinit that gdb reads, quoting file names', () => {
    const text = gdbinitText({ rootDir: '/tmp/a b/root', corePath: '/tmp/a b/core.1', program: '/tmp/a b/root/app/"x"', libraryDirs: ['/tmp/a b/root/usr/lib'], snapshot: 's', pid: 1 });
    assert.match(text, /^set sysroot \/tmp\/a b\/root$/m);
    assert.match(text, /^file "\/tmp\/a b\/root\/app\/\\"x\\""$/m);
    assert.match(text, /^core-file \/tmp\/a b\/core\.1$/m);
  });
});
