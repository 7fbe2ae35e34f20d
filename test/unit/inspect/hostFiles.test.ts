// Fetching a core's program and libraries from the source host, with the real host-side sh run
// here and stand-ins for podman, sudo and nsenter (remoteStandIns.ts): the image is mounted as
// remote work, only plain files reached through plain folders are read (through nsenter, so sudo
// is asked for nothing but snapdebug's programs), and the mount is undone in every outcome.
import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchHostFiles } from '../../../src/core/coredump/hostFiles';
import { isAbortError } from '../../../src/core/util/abort';
import { eventually, standIns, type StandIns } from '../core/remoteStandIns';

const image = 'localhost/demo-native:latest';
const sudoPrograms = ['podman', 'criu', 'nsenter', 'kill', 'gdb', 'cat', 'rm'];

describe("a core's files from the source host (host-side sh, run here)", function () {
  this.timeout(30_000);
  let s: StandIns;
  let root: string;
  beforeEach(() => {
    s = standIns();
    delete process.env.FAKE_MODE;
    // The image as podman would mount it: a program, a library, and links that lead elsewhere.
    root = join(s.dir, 'image-root');
    mkdirSync(join(root, 'app'), { recursive: true });
    mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
    writeFileSync(join(root, 'app', 'counter'), 'the program');
    writeFileSync(join(root, 'usr', 'lib', 'libc.so.6'), 'the library');
    symlinkSync('usr/lib', join(root, 'lib'));
    symlinkSync('/etc/hostname', join(root, 'app', 'host-file'));
    process.env.FAKE_MOUNT = root;
  });
  afterEach(() => {
    delete process.env.FAKE_MOUNT;
    delete process.env.FAKE_MODE;
    s.cleanup();
  });

  const works = () => readdirSync(s.tmp).flatMap((session) => readdirSync(join(s.tmp, session)).filter((name) => name.startsWith('w.')));

  it('reads only plain files through plain folders, unmounts, and leaves no work behind; sudo runs only our programs', async () => {
    const host = s.host({ sudo: true });
    const dest = join(s.dir, 'dest');
    const report = await fetchHostFiles(host, { image }, ['/app/counter', '/usr/lib/libc.so.6', '/lib/libc.so.6', '/app/host-file', '/gone.so', 'relative'], dest);
    assert.deepEqual(report.fetched.sort(), ['/app/counter', '/usr/lib/libc.so.6']);
    assert.equal(readFileSync(join(dest, 'app', 'counter'), 'utf8'), 'the program');
    assert.equal(readFileSync(join(dest, 'usr', 'lib', 'libc.so.6'), 'utf8'), 'the library');
    assert.deepEqual(
      report.missing.map((m) => m.path),
      ['relative', '/lib/libc.so.6', '/app/host-file', '/gone.so'],
    );
    assert.match(report.missing.find((m) => m.path === '/lib/libc.so.6')!.reason, /\/lib is a symbolic link in the image/);
    assert.equal(report.from, `image ${image}`);
    const lines = s.lines();
    assert.ok(lines.indexOf(`podman image mount ${image}`) < lines.indexOf('nsenter tar'), lines.join(' | '));
    assert.ok(lines.indexOf('nsenter tar') < lines.indexOf(`podman image unmount ${image}`), lines.join(' | '));
    const asked = new Set(lines.filter((l) => l.startsWith('sudo ')).map((l) => l.slice(5)));
    assert.deepEqual([...asked].filter((p) => !sudoPrograms.includes(p)), [], `asked through sudo: ${[...asked].join(', ')}`);
    assert.deepEqual(works(), [], 'the work finished');
  });

  it('a tar that sends nothing is ended and asked once more; stalled again, it says so, the work is abandoned and the host unmounts the image', async () => {
    process.env.FAKE_MODE = 'hang-tar';
    const host = s.host({ sudo: true });
    const log: string[] = [];
    await assert.rejects(
      fetchHostFiles(host, { image }, ['/app/counter'], join(s.dir, 'dest'), { stalledMs: 500, log: (line) => log.push(line) }),
      /^SnapdebugError: tar on local sent nothing for 0.5 s while reading the files a core maps\.$/m,
    );
    assert.deepEqual(log.filter((l) => l.startsWith('tar on')), ['tar on local sent nothing for 0.5 s while reading the files a core maps. Asking once more.']);
    const lines = s.lines();
    assert.equal(lines.filter((l) => l === 'nsenter tar').length, 2, lines.join(' | '));
    assert.ok(lines.indexOf(`podman image unmount ${image}`) > lines.lastIndexOf('nsenter tar'), lines.join(' | '));
    assert.deepEqual(works(), [], 'the work was undone');
  });

  it('a tar that stalls once is asked once more, and the files arrive', async () => {
    process.env.FAKE_MODE = 'hang-tar-once';
    const host = s.host({ sudo: true });
    const dest = join(s.dir, 'dest');
    const report = await fetchHostFiles(host, { image }, ['/app/counter'], dest, { stalledMs: 500 });
    assert.deepEqual(report.fetched, ['/app/counter']);
    assert.equal(readFileSync(join(dest, 'app', 'counter'), 'utf8'), 'the program');
    assert.equal(s.lines().filter((l) => l === 'nsenter tar').length, 2);
    assert.deepEqual(works(), [], 'the work finished');
  });

  it('cancelled while reading: the work is abandoned, and the host unmounts the image', async () => {
    process.env.FAKE_MODE = 'hang-stat';
    const host = s.host({ sudo: true });
    const controller = new AbortController();
    const pending = fetchHostFiles(host, { image }, ['/app/counter'], join(s.dir, 'dest'), { signal: controller.signal });
    await eventually(() => s.lines().includes('nsenter stat'), 'the files to be looked at');
    controller.abort();
    await assert.rejects(pending, (error) => isAbortError(error));
    const lines = s.lines();
    assert.ok(lines.indexOf(`podman image unmount ${image}`) > lines.indexOf('nsenter stat'), lines.join(' | '));
    assert.deepEqual(works(), [], 'the work was undone');
  });
});
