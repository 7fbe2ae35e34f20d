// podman command builders: every option becomes the flag podman expects, contradictions and
// hostile names never reach a command line, and podman's JSON (fixtures from podman 5.4.2) parses.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { parseTop, podman } from '../../../src/core/podman/commands';
import { streamCheckpointScript } from '../../../src/core/snapshot/streamCheckpoint';
import { restoreArchiveCommand } from '../../../src/core/snapshots';
import {
  copyName,
  parseContainerAddress,
  validateContainerRef,
  validateImageRef,
  validatePublish,
  validateRemotePath,
} from '../../../src/core/podman/names';
import {
  checkpointFlags,
  checkpointOptionInfo,
  restoreFlags,
  restoreOptionInfo,
  type CheckpointOptions,
  type RestoreOptions,
} from '../../../src/core/podman/options';
import { snapshotSource } from '../../../src/core/snapshot/checkpoint';
import { SnapdebugError } from '../../../src/core/util/errors';
import { fixture } from '../helpers';

const readFixture = (name: string) => readFileSync(fixture(name), 'utf8');

/** Asserts that `fn` throws a SnapdebugError whose message matches. */
function throwsSnapdebug(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SnapdebugError, `expected a SnapdebugError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

const hostileNames = [
  '',
  '-rf',
  '--all',
  '.hidden',
  '_x',
  'a b',
  'a;b',
  'a$(id)',
  'a`id`',
  "a'b",
  'a"b',
  'a\nb',
  'a/b',
  'a\\b',
  'a:b',
  'a@b',
  'a*',
  'ünï',
  'x'.repeat(254),
];

describe('copy names', () => {
  const at = new Date('2026-11-26T10:15:02.345Z');

  it('read NAME-snap-HHMMSS-RANDOM: the time at a glance, and never the same twice in one second', () => {
    assert.match(copyName('demo-api', at), /^demo-api-snap-101502-[0-9a-f]{6}$/);
    const names = new Set(Array.from({ length: 200 }, () => copyName('demo-api', at)));
    assert.equal(names.size, 200, 'two hundred copies started in the same second get two hundred names');
    assert.equal(copyName('demo-api', at, () => 'abc123'), 'demo-api-snap-101502-abc123');
  });

  it('stay valid container names, shortening a long original', () => {
    const long = copyName('x'.repeat(253), at, () => 'abc123');
    assert.equal(long.length, 253);
    assert.ok(long.endsWith('-snap-101502-abc123'));
    assert.equal(validateContainerRef(long), long);
  });
});

describe('podman names', () => {
  it('accepts container names and ids the way podman does', () => {
    for (const ok of ['demo-api', 'demo_api.v2', 'A1', '1abc', '5c80f3f0f8cd', '5c80f3f0f8cd48200888190b3b3645f1ea7164721646186d100be69c96dfdfd5', 'x'.repeat(253)]) {
      assert.equal(validateContainerRef(ok), ok);
    }
  });

  it('refuses hostile or malformed container names with a sentence naming them', () => {
    for (const bad of hostileNames) {
      throwsSnapdebug(() => validateContainerRef(bad), /is not a container name or id/);
    }
  });

  it('accepts image references and refuses hostile ones', () => {
    for (const ok of ['localhost/snapdebug/demo-api:latest', 'docker.io/library/node:20', 'quay.io/x/y@sha256:' + 'a'.repeat(64), 'busybox']) {
      assert.equal(validateImageRef(ok), ok);
    }
    for (const bad of ['', '-x', '--all', 'a b', 'a;b', 'img$(id)', 'img`id`', "img'", 'a\nb', 'x'.repeat(513)]) {
      throwsSnapdebug(() => validateImageRef(bad), /is not an image reference/);
    }
  });

  it('accepts absolute plain paths and refuses relative, traversing or hostile ones', () => {
    for (const ok of ['/tmp/snapdebug-x.tar.zst', '/var/lib/snapdebug/a_b-c.d', '/a']) assert.equal(validateRemotePath(ok), ok);
    for (const bad of ['', '/', 'tmp/x', './x', '-x', '/tmp/../etc/shadow', '/tmp/..', '/tmp/a b', '/tmp/$(id)', '/tmp/`id`', '/tmp/a;b', "/tmp/a'b", '/tmp/a\nb', '~/x', '/tmp/ü']) {
      throwsSnapdebug(() => validateRemotePath(bad), /is not a usable path on the host/);
    }
  });

  it('accepts port publications podman takes and refuses anything else', () => {
    for (const ok of ['80', '8080:80', '8080:80/tcp', '53:53/udp', '127.0.0.1:8080:80', '[::1]:8080:80', '8000-8010:8000-8010', '9000:9000/sctp', '127.0.0.1::8080', '127.0.0.1::8080/tcp', '[::1]::80']) {
      assert.equal(validatePublish(ok), ok);
    }
    for (const bad of ['', '-p', 'abc', '80:80; rm -rf /', '80:80/icmp', 'localhost:80:80', '80 80', '$(id)', '::8080', ':8080', '127.0.0.1:::80']) {
      throwsSnapdebug(() => validatePublish(bad), /is not a port publication/);
    }
  });

  it('parseContainerAddress splits HOST/CONTAINER at the last slash', () => {
    assert.deepEqual(parseContainerAddress('prod/demo-api'), { host: 'prod', container: 'demo-api' });
    assert.deepEqual(parseContainerAddress('alice@prod:2201/demo-api'), { host: 'alice@prod:2201', container: 'demo-api' });
    assert.deepEqual(parseContainerAddress('a/b/c'), { host: 'a/b', container: 'c' });
  });

  it('parseContainerAddress refuses a missing host or container and a hostile container', () => {
    for (const bad of ['demo-api', '/demo-api', 'prod/', '']) throwsSnapdebug(() => parseContainerAddress(bad), /does not name a container: write HOST\/CONTAINER/);
    throwsSnapdebug(() => parseContainerAddress('prod/-rf'), /is not a container name or id/);
    throwsSnapdebug(() => parseContainerAddress('prod/a;b'), /is not a container name or id/);
  });
});

describe('podman checkpoint builder', () => {
  const base: CheckpointOptions = { leaveRunning: false };
  const argvOf = (options: Partial<CheckpointOptions>, exportTo: string | undefined = '/tmp/cp.tar.zst') =>
    podman.checkpoint('demo-api', { ...base, ...options }, exportTo).argv;

  it('with no options, only exports and names the container last', () => {
    assert.deepEqual(argvOf({}), ['container', 'checkpoint', '--export', '/tmp/cp.tar.zst', 'demo-api']);
    assert.deepEqual(podman.checkpoint('demo-api', base, undefined).argv, ['container', 'checkpoint', 'demo-api']);
  });

  const single: [keyof CheckpointOptions, string][] = [
    ['leaveRunning', '--leave-running'],
    ['tcpEstablished', '--tcp-established'],
    ['fileLocks', '--file-locks'],
    ['ignoreRootfs', '--ignore-rootfs'],
    ['ignoreVolumes', '--ignore-volumes'],
    ['withPrevious', '--with-previous'],
    ['keep', '--keep'],
    ['printStats', '--print-stats'],
  ];
  for (const [option, flag] of single) {
    it(`${option}: true adds ${flag}; false or absent leaves it out`, () => {
      assert.deepEqual(argvOf({ [option]: true }), ['container', 'checkpoint', flag, '--export', '/tmp/cp.tar.zst', 'demo-api']);
      assert.ok(!argvOf({ [option]: false }).includes(flag));
      assert.ok(!argvOf({}).includes(flag));
    });
  }

  it('preCheckpoint adds --pre-checkpoint (with --leave-running)', () => {
    assert.deepEqual(argvOf({ preCheckpoint: true, leaveRunning: true }), [
      'container',
      'checkpoint',
      '--leave-running',
      '--pre-checkpoint',
      '--export',
      '/tmp/cp.tar.zst',
      'demo-api',
    ]);
  });

  it('compress takes its value as the next argument, for each algorithm', () => {
    for (const compress of ['zstd', 'gzip', 'none'] as const) {
      assert.deepEqual(argvOf({ compress }), ['container', 'checkpoint', '--compress', compress, '--export', '/tmp/cp.tar.zst', 'demo-api']);
    }
  });

  it('puts every flag before the export and the container, each once', () => {
    const argv = argvOf({
      leaveRunning: true,
      compress: 'gzip',
      tcpEstablished: true,
      fileLocks: true,
      ignoreRootfs: true,
      ignoreVolumes: true,
      withPrevious: true,
      keep: true,
      printStats: true,
    });
    assert.deepEqual(argv.slice(-3), ['--export', '/tmp/cp.tar.zst', 'demo-api']);
    for (const flag of ['--leave-running', '--tcp-established', '--file-locks', '--ignore-rootfs', '--ignore-volumes', '--with-previous', '--keep', '--print-stats']) {
      assert.equal(argv.filter((a) => a === flag).length, 1, flag);
    }
    assert.equal(argv[argv.indexOf('--compress') + 1], 'gzip');
  });

  it('streams the archive through a FIFO in the work folder, never to stdout (where podman prints the container name when done)', () => {
    const fifo = '/var/tmp/snapdebug-s.AbCdEfGhIj/w.KlMnOpQr/out';
    assert.deepEqual(argvOf({}, fifo).slice(-3), ['--export', fifo, 'demo-api']);
    // The wrapper makes that FIFO, tees it to its stdout, and sends podman's own stdout to stderr.
    assert.match(streamCheckpointScript, /mkfifo "\$w\/out"/);
    assert.match(streamCheckpointScript, /tee "\$w\/hash" < "\$w\/out"/);
    assert.match(streamCheckpointScript, /r podman "\$@" 9<&- >&2 &/);
  });

  it('refuses --pre-checkpoint with --with-previous', () => {
    throwsSnapdebug(() => argvOf({ preCheckpoint: true, withPrevious: true, leaveRunning: true }), /^Pre-checkpoint and with previous cannot be used together\.$/);
  });

  it('refuses a pre-checkpoint that would stop the container', () => {
    throwsSnapdebug(() => argvOf({ preCheckpoint: true, leaveRunning: false }), /always leaves the container running/);
  });

  it('refuses an unknown compression', () => {
    throwsSnapdebug(() => argvOf({ compress: 'xz' as unknown as 'zstd' }), /Compression "xz"/);
  });

  it('refuses hostile container names and export paths', () => {
    for (const bad of hostileNames) throwsSnapdebug(() => podman.checkpoint(bad, base, '/tmp/x'), /is not a container name or id/);
    for (const bad of ['relative.tar', '/tmp/a b', '/tmp/../x', '/tmp/$(id)', '--export']) {
      throwsSnapdebug(() => podman.checkpoint('demo-api', base, bad), /is not a usable path/);
    }
  });

  it('checkpointFlags lists exactly the options that are set, with podman versions', () => {
    assert.deepEqual(checkpointFlags({ leaveRunning: false }), []);
    assert.deepEqual(
      checkpointFlags({ leaveRunning: true, compress: 'zstd', keep: false }).map((o) => o.flag),
      ['--leave-running', '--compress'],
    );
    for (const info of Object.values(checkpointOptionInfo)) assert.match(info.since, /^\d+\.\d+$/);
  });
});

describe('podman restore builder', () => {
  const fromArchive = { archive: '/tmp/cp.tar.zst' };
  const argvOf = (options: RestoreOptions, target: { archive: string } | { container: string } = fromArchive) => podman.restore(target, options).argv;

  it('with no options, imports the archive', () => {
    assert.deepEqual(argvOf({}), ['container', 'restore', '--import', '/tmp/cp.tar.zst']);
    // What both faces tell a person to run after a push: the same builder's words.
    assert.deepEqual(restoreArchiveCommand('/var/tmp/snapdebug-x.tar.zst'), ['podman', 'container', 'restore', '--import', '/var/tmp/snapdebug-x.tar.zst']);
  });

  it('in place, names the container instead of importing', () => {
    assert.deepEqual(argvOf({ keep: true }, { container: 'demo-api' }), ['container', 'restore', '--keep', 'demo-api']);
  });

  const single: [keyof RestoreOptions, string][] = [
    ['keep', '--keep'],
    ['tcpEstablished', '--tcp-established'],
    ['tcpClose', '--tcp-close'],
    ['ignoreStaticIp', '--ignore-static-ip'],
    ['ignoreStaticMac', '--ignore-static-mac'],
    ['ignoreRootfs', '--ignore-rootfs'],
    ['ignoreVolumes', '--ignore-volumes'],
    ['fileLocks', '--file-locks'],
    ['printStats', '--print-stats'],
  ];
  for (const [option, flag] of single) {
    it(`${option}: true adds ${flag}; false leaves it out`, () => {
      assert.deepEqual(argvOf({ [option]: true }), ['container', 'restore', flag, '--import', '/tmp/cp.tar.zst']);
      assert.deepEqual(argvOf({ [option]: false }), ['container', 'restore', '--import', '/tmp/cp.tar.zst']);
    });
  }

  it('name, pod and importPrevious take their values', () => {
    assert.deepEqual(argvOf({ name: 'demo-copy' }), ['container', 'restore', '--name', 'demo-copy', '--import', '/tmp/cp.tar.zst']);
    assert.deepEqual(argvOf({ pod: 'debug-pod' }), ['container', 'restore', '--pod', 'debug-pod', '--import', '/tmp/cp.tar.zst']);
    assert.deepEqual(argvOf({ importPrevious: '/tmp/pre.tar' }), ['container', 'restore', '--import-previous', '/tmp/pre.tar', '--import', '/tmp/cp.tar.zst']);
  });

  it('repeats --publish once per port, and an empty list adds none', () => {
    assert.deepEqual(argvOf({ publish: ['8080:80', '127.0.0.1:9229:9229/tcp'] }), [
      'container',
      'restore',
      '--publish',
      '8080:80',
      '--publish',
      '127.0.0.1:9229:9229/tcp',
      '--import',
      '/tmp/cp.tar.zst',
    ]);
    assert.deepEqual(argvOf({ publish: [] }), ['container', 'restore', '--import', '/tmp/cp.tar.zst']);
  });

  it('combines options with the archive last', () => {
    const argv = argvOf({ name: 'copy', publish: ['8080:80'], tcpClose: true, ignoreStaticIp: true, ignoreStaticMac: true, keep: true });
    assert.deepEqual(argv.slice(-2), ['--import', '/tmp/cp.tar.zst']);
    for (const flag of ['--tcp-close', '--ignore-static-ip', '--ignore-static-mac', '--keep']) assert.ok(argv.includes(flag), flag);
    assert.equal(argv[argv.indexOf('--name') + 1], 'copy');
    assert.equal(argv[argv.indexOf('--publish') + 1], '8080:80');
  });

  it('refuses --tcp-close with --tcp-established', () => {
    throwsSnapdebug(() => argvOf({ tcpClose: true, tcpEstablished: true }), /^TCP close and TCP established contradict each other\.$/);
  });

  it('refuses --name, --publish and --pod for an in-place restore', () => {
    for (const options of [{ name: 'copy' }, { publish: ['8080:80'] }, { pod: 'p' }]) {
      throwsSnapdebug(() => argvOf(options, { container: 'demo-api' }), /^Name, Publish and Pod apply to a restore from an archive, not to a restore in place\.$/);
    }
  });

  it('refuses hostile names, pods, ports, archive and previous paths', () => {
    for (const bad of hostileNames.filter((n) => n !== '')) {
      throwsSnapdebug(() => argvOf({ name: bad }), /is not a container name or id/);
      throwsSnapdebug(() => argvOf({ pod: bad }), /is not a container name or id/);
      throwsSnapdebug(() => argvOf({}, { container: bad }), /is not a container name or id/);
    }
    throwsSnapdebug(() => argvOf({ publish: ['8080:80', '1;reboot'] }), /is not a port publication/);
    throwsSnapdebug(() => argvOf({}, { archive: '/tmp/a b.tar' }), /is not a usable path/);
    throwsSnapdebug(() => argvOf({ importPrevious: '../pre.tar' }), /is not a usable path/);
  });

  it('parses the restored container id from the last line of output', () => {
    const command = podman.restore(fromArchive, {});
    assert.equal(command.parse('some warning\n5c80f3f0f8cd48200888\n'), '5c80f3f0f8cd48200888');
  });

  it('restoreFlags skips unset, false and empty options; tcpClose needs podman 5.7', () => {
    assert.deepEqual(restoreFlags({ keep: false, publish: [] }), []);
    assert.deepEqual(
      restoreFlags({ tcpClose: true, name: 'x' }).map((o) => o.flag),
      ['--name', '--tcp-close'],
    );
    assert.equal(restoreOptionInfo.tcpClose.since, '5.7');
  });
});

describe('other podman builders', () => {
  it('build the argv podman expects, validating names', () => {
    assert.deepEqual(podman.version().argv, ['version', '--format', 'json']);
    assert.deepEqual(podman.info().argv, ['info', '--format', 'json']);
    assert.deepEqual(podman.ps().argv, ['ps', '--all', '--format', 'json']);
    assert.deepEqual(podman.inspect(['a', 'b']).argv, ['container', 'inspect', '--format', 'json', 'a', 'b']);
    assert.deepEqual(podman.top('demo').argv, ['top', 'demo', 'user', 'pid', 'ppid', 'etime', 'args']);
    assert.deepEqual(podman.images().argv, ['images', '--format', 'json']);
    assert.deepEqual(podman.imageExists('busybox').argv, ['image', 'exists', 'busybox']);
    assert.deepEqual(podman.containerExists('demo').argv, ['container', 'exists', 'demo']);
    assert.deepEqual(podman.checkpointHelp().argv, ['container', 'checkpoint', '--help']);
    assert.deepEqual(podman.restoreHelp().argv, ['container', 'restore', '--help']);
    assert.deepEqual(podman.start('demo').argv, ['start', 'demo']);
    assert.deepEqual(podman.remove('demo').argv, ['rm', 'demo']);
    assert.deepEqual(podman.remove('demo', { force: true }).argv, ['rm', '--force', '--time', '10', 'demo']);
    assert.deepEqual(podman.logs('demo', 0).argv, ['logs', '--tail', '1', 'demo']);
    assert.deepEqual(podman.logs('demo', 25.7).argv, ['logs', '--tail', '25', 'demo']);
    assert.deepEqual(podman.save('localhost/x:1').argv, ['save', '--format', 'oci-archive', 'localhost/x:1']);
    assert.deepEqual(podman.load().argv, ['load', '--quiet']);
    throwsSnapdebug(() => podman.inspect(['ok', '-x']), /is not a container name/);
    throwsSnapdebug(() => podman.top('$(id)'), /is not a container name/);
    throwsSnapdebug(() => podman.save('-o /etc/passwd'), /is not an image reference/);
    throwsSnapdebug(() => podman.remove('--all'), /is not a container name/);
  });

  it('exists commands accept exit 1 as "no" and nothing else', () => {
    for (const command of [podman.imageExists('busybox'), podman.containerExists('demo')]) {
      assert.equal(command.acceptExit?.(1, ''), true);
      assert.equal(command.acceptExit?.(125, 'Error'), false);
      assert.equal(command.acceptExit?.(null, ''), false);
      assert.equal(command.parse(''), true);
    }
  });
});

describe('podman output parsers (fixtures from podman 5.4.2)', () => {
  it('ps: every container with id, names, image, state, pid and labels', () => {
    const list = podman.ps().parse(readFixture('ps.json'));
    assert.deepEqual(
      list.map((c) => [c.Names[0], c.State, c.Image]),
      [
        ['demo-api', 'running', 'localhost/snapdebug/demo-api:latest'],
        ['demo-sleeper', 'running', 'localhost/snapdebug/busybox:latest'],
        ['demo-python', 'running', 'localhost/snapdebug/demo-python:latest'],
        ['demo-native', 'running', 'localhost/snapdebug/native:latest'],
      ],
    );
    const api = list[0]!;
    assert.equal(api.Id, '5c80f3f0f8cd48200888190b3b3645f1ea7164721646186d100be69c96dfdfd5');
    assert.equal(api.Pid, 80);
    assert.deepEqual(api.Command, ['node', '/app/server.js']);
    assert.deepEqual(api.Labels, { 'io.buildah.version': '1.39.3' });
    assert.deepEqual(list[1]!.Labels, {}, 'null labels become an empty object');
  });

  it('ps: null (no containers) is an empty list', () => {
    assert.deepEqual(podman.ps().parse('null'), []);
    assert.deepEqual(podman.ps().parse('[]'), []);
  });

  it('inspect: state, config and network of demo-api', () => {
    const [entry, ...rest] = podman.inspect(['demo-api']).parse(readFixture('inspect-demo-api.json'));
    assert.equal(rest.length, 0);
    assert.equal(entry!.Name, 'demo-api');
    assert.equal(entry!.Id, '5c80f3f0f8cd48200888190b3b3645f1ea7164721646186d100be69c96dfdfd5');
    assert.equal(entry!.ImageName, 'localhost/snapdebug/demo-api:latest');
    assert.equal(entry!.State.Status, 'running');
    assert.equal(entry!.State.Running, true);
    assert.equal(entry!.State.Pid, 80);
    assert.deepEqual(entry!.Config.Labels, { 'io.buildah.version': '1.39.3' });
    assert.deepEqual(entry!.Config.Cmd, ['node', '/app/server.js']);
    assert.equal(entry!.NetworkSettings?.Networks?.podman?.IPAddress, '10.88.0.2');
  });

  it('snapshotSource: what a snapshot records of its container, published ports included', () => {
    const [entry] = podman.inspect(['demo-api']).parse(readFixture('inspect-demo-api.json'));
    assert.deepEqual(snapshotSource('prod', entry!), {
      host: 'prod',
      container: 'demo-api',
      containerId: '5c80f3f0f8cd48200888190b3b3645f1ea7164721646186d100be69c96dfdfd5',
      image: 'localhost/snapdebug/demo-api:latest',
      imageId: entry!.Image,
      runtime: 'runc',
    });
    const published = { ...entry!, HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '18080' }], '53/udp': [{ HostPort: '53' }], '9229/tcp': null } } };
    assert.deepEqual(snapshotSource('prod', published, { imageName: 'from-archive' }).ports, ['8080/tcp', '53/udp'], 'exposed but unpublished ports are not copied');
    assert.equal(snapshotSource('prod', published, { imageName: 'from-archive' }).image, 'from-archive');
  });

  it('info: host facts, store and version', () => {
    const info = podman.info().parse(readFixture('info.json'));
    assert.equal(info.version.Version, '5.4.2');
    assert.equal(info.host.hostname, 'prod');
    assert.equal(info.host.arch, 'amd64');
    assert.equal(info.host.cgroupVersion, 'v1');
    assert.equal(info.host.ociRuntime.name, 'runc');
    assert.equal(info.host.security.rootless, false);
    assert.equal(info.store.graphRoot, '/var/lib/containers/storage');
  });

  it('version: client version', () => {
    const version = podman.version().parse(readFixture('version.json'));
    assert.equal(version.Client.Version, '5.4.2');
    assert.equal(version.Client.APIVersion, '5.4.2');
    assert.equal(version.Server, undefined);
  });

  it('images: ids, names and sizes', () => {
    const images = podman.images().parse(readFixture('images.json'));
    assert.equal(images.length, 6);
    const api = images.find((i) => i.Names.includes('localhost/snapdebug/demo-api:latest'));
    assert.ok(api);
    assert.match(api.Id, /^6e5438d95ab6/);
    assert.equal(api.Size, 306490415);
    assert.deepEqual(podman.images().parse('null'), []);
  });

  it('top: user, pid, ppid, elapsed and the whole command with its spaces', () => {
    // What `podman top demo-sleeper user pid ppid etime args` prints.
    const output = [
      'USER        PID         PPID        ELAPSED           COMMAND',
      '0           1           0           47.16028733s      sh -c trap "exit 0" TERM; while :; do sleep 600 & wait $!; done ',
      '0           6           1           47.160356733s     sleep 600 ',
      '',
    ].join('\n');
    assert.deepEqual(parseTop(output), [
      { user: '0', pid: 1, ppid: 0, elapsed: '47.16028733s', command: 'sh -c trap "exit 0" TERM; while :; do sleep 600 & wait $!; done' },
      { user: '0', pid: 6, ppid: 1, elapsed: '47.160356733s', command: 'sleep 600' },
    ]);
    assert.equal(podman.top('demo-sleeper').parse, parseTop);
  });

  it('top: the fixture (captured with podman.top()\'s own columns) parses into every field', () => {
    const processes = parseTop(readFixture('top-demo-sleeper.txt'));
    assert.deepEqual(
      processes.map((p) => [p.user, p.pid, p.ppid, p.command]),
      [
        ['root', 1, 0, 'bash -c trap "exit 0" TERM; while :; do sleep 600 & wait $!; done'],
        ['root', 6, 1, 'sleep 600'],
      ],
    );
    for (const p of processes) assert.match(p.elapsed, /^\d+m[\d.]+s$/);
  });

  it('top: a header alone means no processes', () => {
    assert.deepEqual(parseTop('USER PID PPID ELAPSED COMMAND\n'), []);
    assert.deepEqual(parseTop(''), []);
  });

  it('malformed JSON is a SnapdebugError saying podman did not print JSON, with the output as detail', () => {
    assert.throws(
      () => podman.ps().parse('Error: something went wrong'),
      (e: unknown) => e instanceof SnapdebugError && e.message === 'podman ps did not print JSON.' && e.detail === 'Error: something went wrong',
    );
    throwsSnapdebug(() => podman.info().parse('{"host":'), /^podman info did not print JSON\.$/);
  });

  it('JSON of the wrong shape is a SnapdebugError naming the command and the offending fields', () => {
    assert.throws(
      () => podman.inspect(['demo-api']).parse('[{"Id": 5, "Name": "x"}]'),
      (e: unknown) => {
        assert.ok(e instanceof SnapdebugError);
        assert.equal(e.message, 'podman container inspect answered in a form this version of snapdebug does not understand.');
        assert.match(e.detail ?? '', /^0\.Id: /m);
        assert.match(e.detail ?? '', /^0\.State: /m);
        return true;
      },
    );
    throwsSnapdebug(() => podman.ps().parse('{"not": "a list"}'), /podman ps answered in a form/);
    throwsSnapdebug(() => podman.version().parse('{"Client": {}}'), /podman version answered in a form/);
  });
});
