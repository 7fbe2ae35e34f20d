// Host: privileged argv, podman's stderr cleaned and turned into sentences, and the flags a host's
// podman offers learned from its own --help, all through a fake Runner with canned answers.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { cleanStderr, flagsFromHelp, Host, PodmanError } from '../../../src/core/host';
import { podman } from '../../../src/core/podman/commands';
import { checkpointFlags, restoreFlags } from '../../../src/core/podman/options';
import type { RunOptions, RunResult, Runner, StreamProcess } from '../../../src/core/ssh/runner';
import { sudoProgram } from '../../../src/core/sudo';
import { SnapdebugError } from '../../../src/core/util/errors';
import { fixture } from '../helpers';

const cgroupWarning =
  'time="2026-11-26T08:48:01Z" level=warning msg="Using cgroups-v1 which is deprecated in favor of cgroups-v2 with Podman v5 and will be removed in a future version. Set environment variable `PODMAN_IGNORE_CGROUPSV1_WARNING` to hide this warning."';

// `podman container checkpoint --help` and `podman container restore --help` as podman 5.4 prints them.
const checkpointHelp54 = `Checkpoint one or more containers

Description:
  podman container checkpoint

   Checkpoints one or more running containers. The container name or ID can be used.

Usage:
  podman container checkpoint [options] CONTAINER [CONTAINER...]

Examples:
  podman container checkpoint --keep ctrID
  podman container checkpoint --all
  podman container checkpoint --leave-running ctrID

Options:
  -a, --all                    Checkpoint all running containers
  -c, --compress string        Select compression algorithm (gzip, none, zstd) for checkpoint archive. (default "zstd")
      --create-image string    Create checkpoint image with specified name
  -e, --export string          Export the checkpoint image to a tar.gz
      --file-locks             Checkpoint a container with file locks
      --ignore-rootfs          Do not include root file-system changes when exporting
      --ignore-volumes         Do not export volumes associated with container
  -k, --keep                   Keep all temporary checkpoint files
  -l, --latest                 Act on the latest container podman is aware of
  -R, --leave-running          Leave the container running after writing checkpoint to disk
  -P, --pre-checkpoint         Dump container's memory information only, leave the container running
      --print-stats            Display checkpoint statistics
      --tcp-established        Checkpoint a container with established TCP connections
  -w, --with-previous          Checkpoint container with pre-checkpoint images
`;

const restoreHelp54 = `Restore one or more containers from checkpoint

Description:
  podman container restore

   Restores a container from a checkpoint. The container name or ID can be used.

Usage:
  podman container restore [options] CONTAINER|IMAGE [CONTAINER|IMAGE...]

Examples:
  podman container restore ctrID
  podman container restore imageID
  podman container restore --latest
  podman container restore --all

Options:
  -a, --all                       Restore all checkpointed containers
      --file-locks                Restore a container with file locks
      --ignore-rootfs             Do not apply root file-system changes when importing from exported checkpoint
      --ignore-static-ip          Ignore IP address set via --static-ip
      --ignore-static-mac         Ignore MAC address set via --mac-address
      --ignore-volumes            Do not export volumes associated with container
  -i, --import string             Restore from exported checkpoint archive (tar.gz)
      --import-previous string    Restore from exported pre-checkpoint archive (tar.gz)
  -k, --keep                      Keep all temporary checkpoint files
  -l, --latest                    Act on the latest container podman is aware of
  -n, --name string               Specify new name for container restored from exported checkpoint (only works with image or --import)
      --pod string                Restore container into existing Pod (only works with image or --import)
      --print-stats               Display restore statistics
  -p, --publish stringArray       Publish a container's port, or a range of ports, to the host (default [])
      --tcp-established           Restore a container with established TCP connections
`;

type Answer = Partial<RunResult> | ((argv: readonly string[]) => Partial<RunResult>);

/** A Runner that answers from a table keyed by the command line after the privileged prefix. */
class FakeRunner implements Runner {
  drops(): number {
    return 0;
  }

  readonly label = 'fake';
  readonly calls: string[][] = [];

  constructor(private readonly answers: Map<string, Answer>) {}

  async run(argv: readonly string[], _options?: RunOptions): Promise<RunResult> {
    this.calls.push([...argv]);
    // As root the cgroup-warning switch comes first; through sudo, nothing but `sudo -n` (no env).
    const prefix = argv[0] === 'sudo' ? ['sudo', '-n'] : ['env', 'PODMAN_IGNORE_CGROUPSV1_WARNING=1'];
    assert.deepEqual(argv.slice(0, 2), prefix, 'every privileged command carries its prefix, and through sudo only sudo -n');
    const key = argv.slice(2).join(' ');
    const answer = this.answers.get(key);
    if (answer === undefined) return { stdout: '', stderr: `fake: no answer for ${key}`, exitCode: 127 };
    const result = typeof answer === 'function' ? answer(argv) : answer;
    return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', exitCode: result.exitCode === undefined ? 0 : result.exitCode };
  }

  async start(_argv: readonly string[]): Promise<StreamProcess> {
    throw new Error('not used by these tests');
  }

  count(command: string): number {
    return this.calls.filter((argv) => argv.join(' ').endsWith(command)).length;
  }
}

function labAnswers(overrides: [string, Answer][] = []): Map<string, Answer> {
  return new Map<string, Answer>([
    ['podman info --format json', { stdout: readFileSync(fixture('info.json'), 'utf8'), stderr: cgroupWarning }],
    ['podman container checkpoint --help', { stdout: checkpointHelp54 }],
    ['podman container restore --help', { stdout: restoreHelp54 }],
    ['criu --version', { stdout: 'Version: 4.1\n' }],
    ...overrides,
  ]);
}

/** Runs `fn` and returns the PodmanError it must throw. */
async function podmanErrorOf(fn: () => Promise<unknown>): Promise<PodmanError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof PodmanError, `expected a PodmanError, got ${String(error)}`);
    assert.ok(error instanceof SnapdebugError);
    return error;
  }
  assert.fail('expected a PodmanError');
}

describe('Host', () => {
  describe('cleanStderr', () => {
    it("drops podman's cgroups-v1 deprecation warning and keeps everything else", () => {
      const stderr = `${cgroupWarning}\nError: no container with name or ID "x" found: no such container\n`;
      assert.equal(cleanStderr(stderr), 'Error: no container with name or ID "x" found: no such container');
      assert.equal(cleanStderr(`${cgroupWarning}\n`), '');
      assert.equal(cleanStderr('level=warning msg="something else"\nsecond line'), 'level=warning msg="something else"\nsecond line');
    });
  });

  describe('flagsFromHelp', () => {
    it('reads every long flag of a podman help text, and no short ones', () => {
      const flags = flagsFromHelp(checkpointHelp54);
      for (const flag of ['--all', '--compress', '--create-image', '--export', '--file-locks', '--ignore-rootfs', '--ignore-volumes', '--keep', '--latest', '--leave-running', '--pre-checkpoint', '--print-stats', '--tcp-established', '--with-previous']) {
        assert.ok(flags.has(flag), flag);
      }
      assert.ok(![...flags].some((f) => !f.startsWith('--')));
      assert.ok(!flags.has('--tcp-close'));
    });

    it('finds flags at the start of a line and ignores words that merely contain dashes', () => {
      const flags = flagsFromHelp('--first  a flag at the start\n  see also well--known and x--y\n      --tcp-close   Close connections\n');
      assert.deepEqual([...flags].sort(), ['--first', '--tcp-close']);
    });
  });

  describe('privileged', () => {
    it('silences the cgroup warning as root, and through sudo runs the program itself (no env: a sudo rule can name it)', () => {
      const runner = new FakeRunner(new Map());
      assert.deepEqual(new Host('prod', runner).privileged(['podman', 'ps']), ['env', 'PODMAN_IGNORE_CGROUPSV1_WARNING=1', 'podman', 'ps']);
      assert.deepEqual(new Host('prod', runner, { sudo: true }).privileged(['podman', 'ps']), ['sudo', '-n', 'podman', 'ps']);
    });
  });

  describe('capabilities', () => {
    it("learns podman's version, CRIU's version, info and the flags from --help", async () => {
      const host = new Host('prod', new FakeRunner(labAnswers()));
      const caps = await host.capabilities();
      assert.equal(caps.podmanVersion, '5.4.2');
      assert.equal(caps.criuVersion, '4.1');
      assert.equal(caps.info.host.hostname, 'prod');
      assert.ok(caps.checkpointFlags.has('--leave-running'));
      assert.ok(caps.restoreFlags.has('--tcp-established'));
      assert.ok(!caps.restoreFlags.has('--tcp-close'));
    });

    it('reports CRIU as missing when criu --version fails', async () => {
      const host = new Host('prod', new FakeRunner(labAnswers([['criu --version', { stderr: 'env: criu: No such file or directory', exitCode: 127 }]])));
      assert.equal((await host.capabilities()).criuVersion, undefined);
    });

    it('asks the host once and reuses the answer', async () => {
      const runner = new FakeRunner(labAnswers());
      const host = new Host('prod', runner);
      await Promise.all([host.capabilities(), host.capabilities()]);
      await host.capabilities();
      assert.equal(runner.count('podman info --format json'), 1);
    });

    it('tries again after a failed probe', async () => {
      let infoCalls = 0;
      const info = readFileSync(fixture('info.json'), 'utf8');
      const runner = new FakeRunner(
        labAnswers([['podman info --format json', () => (++infoCalls === 1 ? { stderr: 'Error: connection reset', exitCode: 125 } : { stdout: info })]]),
      );
      const host = new Host('prod', runner);
      await assert.rejects(host.capabilities(), PodmanError);
      assert.equal((await host.capabilities()).podmanVersion, '5.4.2');
      assert.equal(infoCalls, 2);
    });
  });

  describe('requireFlags', () => {
    it('passes when the host offers every flag', async () => {
      const host = new Host('prod', new FakeRunner(labAnswers()));
      await host.requireFlags(
        'checkpoint',
        checkpointFlags({ leaveRunning: true, compress: 'zstd', tcpEstablished: true, fileLocks: true, keep: true, printStats: true }),
      );
      await host.requireFlags('restore', restoreFlags({ name: 'copy', publish: ['8080:80'], tcpEstablished: true, ignoreStaticIp: true }));
    });

    it('refuses restore --tcp-close on podman 5.4 in one sentence naming the host, the version and 5.7', async () => {
      const host = new Host('prod', new FakeRunner(labAnswers()));
      await assert.rejects(host.requireFlags('restore', restoreFlags({ tcpClose: true })), (e: unknown) => {
        assert.ok(e instanceof SnapdebugError);
        assert.equal(e.message, 'podman 5.4.2 on prod has no restore option “TCP close” (podman 5.7+).');
        assert.match(e.message, /\bprod\b/);
        assert.match(e.message, /5\.4\.2/);
        assert.match(e.message, /5\.7/);
        assert.deepEqual(e.fix, { text: 'Update podman on prod, or leave that option out.', options: [{ name: 'restore.tcpClose', value: 'false' }] });
        return true;
      });
    });

    it('lists every missing flag and checks the right verb', async () => {
      const oldHelp = '  -R, --leave-running   Leave the container running\n  -e, --export string   Export\n';
      const host = new Host('old', new FakeRunner(labAnswers([['podman container checkpoint --help', { stdout: oldHelp }]])));
      await assert.rejects(host.requireFlags('checkpoint', checkpointFlags({ leaveRunning: true, fileLocks: true, printStats: true })), (e: unknown) => {
        assert.ok(e instanceof SnapdebugError);
        assert.equal(e.message, 'podman 5.4.2 on old has no checkpoint option “File locks” (podman 3.1+), “Print stats” (podman 3.3+).');
        assert.match(e.fix?.text ?? '', /those options/);
        assert.deepEqual(e.fix?.options?.map((o) => o.name), ['checkpoint.fileLocks', 'checkpoint.printStats']);
        return true;
      });
      // The same flags are there for restore: only the checkpoint help was cut down.
      await host.requireFlags('restore', restoreFlags({ fileLocks: true, printStats: true }));
    });
  });

  describe('a channel that closed without an exit status', () => {
    it('is asked again for a command that only reads, and the second answer counts', async () => {
      let calls = 0;
      const runner = new FakeRunner(labAnswers([['podman ps --all --format json', () => (++calls === 1 ? { exitCode: null } : { stdout: readFileSync(fixture('ps.json'), 'utf8') })]]));
      const entries = await new Host('prod', runner).podman(podman.ps());
      assert.equal(calls, 2);
      assert.ok(entries.some((e) => e.Names.includes('demo-api')));
    });

    it('is never asked again for a command that changes something (a restore)', async () => {
      let calls = 0;
      const runner = new FakeRunner(labAnswers([['podman container restore demo', () => (++calls, { exitCode: null })]]));
      await assert.rejects(() => new Host('prod', runner).podman(podman.restore({ container: 'demo' }, {})));
      assert.equal(calls, 1);
    });
  });

  describe('podman()', () => {
    it('runs the builder through the privileged prefix and parses stdout', async () => {
      const runner = new FakeRunner(labAnswers([['podman ps --all --format json', { stdout: readFileSync(fixture('ps.json'), 'utf8'), stderr: cgroupWarning }]]));
      const list = await new Host('prod', runner, { sudo: true }).podman(podman.ps());
      assert.equal(list.length, 4);
      assert.deepEqual(runner.calls[0], ['sudo', '-n', 'podman', 'ps', '--all', '--format', 'json']);
    });

    it('answers false for an accepted non-zero exit (exists commands)', async () => {
      const runner = new FakeRunner(labAnswers([['podman container exists nope', { exitCode: 1 }]]));
      assert.equal(await new Host('prod', runner).podman(podman.containerExists('nope')), false);
    });

    it('maps "no such container" to a sentence naming the host, with stderr (without the warning) as detail', async () => {
      const stderr = 'Error: no container with name or ID "nope" found: no such container';
      const runner = new FakeRunner(labAnswers([['podman start nope', { stderr: `${cgroupWarning}\n${stderr}\n`, exitCode: 125 }]]));
      const error = await podmanErrorOf(() => new Host('prod', runner).podman(podman.start('nope')));
      assert.equal(error.message, 'There is no such container on prod (no container with name or ID "nope" found: no such container).');
      assert.equal(error.detail, stderr);
      assert.equal(error.criuLog, undefined);
    });

    it('maps a name already in use', async () => {
      const stderr =
        'Error: creating container storage: the container name "demo-copy" is already in use by 5c80f3f0f8cd. You have to remove that container to be able to reuse that name: that name is already in use';
      const runner = new FakeRunner(labAnswers([['podman container restore --name demo-copy --import /tmp/cp.tar.zst', { stderr, exitCode: 125 }]]));
      const error = await podmanErrorOf(() => new Host('debug', runner).podman(podman.restore({ archive: '/tmp/cp.tar.zst' }, { name: 'demo-copy' })));
      assert.match(error.message, /^The name is already taken on debug: creating container storage: the container name "demo-copy" is already in use/);
    });

    it('maps a CRIU failure and points at its log file on the host', async () => {
      const stderr = [
        'Error: failed to checkpoint container 5c80f3f0f8cd: runc: criu failed: type NOTIFY errno 0',
        'log file: /var/lib/containers/storage/overlay-containers/5c80f3f0f8cd/userdata/dump.log',
      ].join('\n');
      const argv = podman.checkpoint('demo-api', { leaveRunning: true }, '/tmp/cp.tar.zst').argv.join(' ');
      const runner = new FakeRunner(labAnswers([[`podman ${argv}`, { stderr, exitCode: 125 }]]));
      const error = await podmanErrorOf(() => new Host('prod', runner).podman(podman.checkpoint('demo-api', { leaveRunning: true }, '/tmp/cp.tar.zst')));
      assert.equal(error.message, 'CRIU failed on prod during podman container checkpoint.');
      assert.deepEqual(error.criuLog, { host: 'prod', path: '/var/lib/containers/storage/overlay-containers/5c80f3f0f8cd/userdata/dump.log' });
      assert.equal(error.detail, stderr);
    });

    it('explains established TCP connections with a fix', async () => {
      const stderr = 'Error: criu failed: type NOTIFY errno 0\nConnected TCP socket, consider using --tcp-established option.\nlog file: /run/x/dump.log';
      const runner = new FakeRunner(labAnswers([['podman container checkpoint demo-api', { stderr, exitCode: 125 }]]));
      const error = await podmanErrorOf(() => new Host('prod', runner).podman(podman.checkpoint('demo-api', { leaveRunning: false }, undefined)));
      assert.deepEqual(error.fix?.options, [{ name: 'checkpoint.tcpEstablished' }], 'the fix names the option, not a flag');
      assert.equal(error.criuLog?.path, '/run/x/dump.log');
    });

    it('explains sudo asking for a password: the program and the sudoers line to add', async () => {
      const runner = new FakeRunner(labAnswers([['podman ps --all --format json', { stderr: 'sudo: a password is required', exitCode: 1 }]]));
      const host = new Host('prod', runner, { sudo: true });
      const error = await podmanErrorOf(() => host.podman(podman.ps()));
      // The program sudo refused: the one after `sudo -n` in the host's privileged prefix.
      const program = sudoProgram(host.privileged(['podman']));
      assert.match(error.message, new RegExp(`^sudo on prod does not let .+ run ${program} without a password, which snapdebug needs\\.$`));
      assert.match(error.fix?.text ?? '', new RegExp(`^Add the line ".+ ALL=\\(root\\) NOPASSWD: \\S+${program}" to /etc/sudoers\\.d/snapdebug on prod`));
    });

    it('explains a missing image', async () => {
      const stderr = 'Error: failed to find image localhost/snapdebug/demo-api:latest: image not known';
      const runner = new FakeRunner(labAnswers([['podman container restore --import /tmp/cp.tar.zst', { stderr, exitCode: 125 }]]));
      const error = await podmanErrorOf(() => new Host('debug', runner).podman(podman.restore({ archive: '/tmp/cp.tar.zst' }, {})));
      assert.equal(error.message, "The container's image is not on debug.");
    });

    it('otherwise names the command, the host, the exit code and podman’s first error', async () => {
      const runner = new FakeRunner(labAnswers([['podman start demo', { stderr: 'Error: something unexpected\nmore', exitCode: 125 }]]));
      const error = await podmanErrorOf(() => new Host('prod', runner).podman(podman.start('demo')));
      assert.equal(error.message, 'podman start demo failed on prod (exit 125): something unexpected');
      const silent = new FakeRunner(labAnswers([['podman start demo', { exitCode: null }]]));
      const killed = await podmanErrorOf(() => new Host('prod', silent).podman(podman.start('demo')));
      assert.equal(killed.message, 'podman start demo failed on prod.');
    });

    it('does not mistake an option value for the command name in the sentence', async () => {
      const runner = new FakeRunner(labAnswers([['podman rm --force --time 10 demo', { stderr: 'Error: boom', exitCode: 125 }]]));
      const error = await podmanErrorOf(() => new Host('prod', runner).podman(podman.remove('demo', { force: true })));
      assert.match(error.message, /^podman rm\b/);
      assert.doesNotMatch(error.message, /podman rm 10\b/);
    });
  });

  describe('tail', () => {
    it('returns the last lines of a host file (read with cat, which a sudo rule names), or undefined when unreadable', async () => {
      const runner = new FakeRunner(
        new Map<string, Answer>([
          ['cat /var/log/dump.log', { stdout: 'line 1\nline 2\nline 3\nline 4\nline 5\n' }],
          ['cat /missing.log', { stderr: 'cat: cannot open', exitCode: 1 }],
        ]),
      );
      const host = new Host('prod', runner);
      assert.equal(await host.tail('/var/log/dump.log', 2), 'line 4\nline 5\n');
      assert.equal(await host.tail('/missing.log'), undefined);
    });
  });
});
