// The CLI's contract, as a user meets it: every usage error exits 2 with one line saying what is
// wrong and where the help is, before any host is touched; with --json every error is a document
// {"error", "fix"} on stdout; failures word the core's fix as flags; `ps` marks checkpointed
// containers and copies (run through the `local` host, a real child process, against a stand-in
// podman answering with the lab's captured JSON); `rm` warns about checkpoints built on what it
// deletes; and passwords are read without echo on a real pseudo-terminal.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/cli/cli';
import { SnapshotStore, type SnapshotMeta } from '../../../src/core/snapshot/store';
import { fixture } from '../helpers';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process, capturing what it writes. */
async function cli(...argv: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const { write: stdout } = process.stdout;
  const { write: stderr } = process.stderr;
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

describe('snapdebug CLI', function () {
  this.timeout(20_000);
  let temp: string;
  let sshConfig: string;
  before(() => {
    temp = mkdtempSync(join(tmpdir(), 'snapdebug-unit-cli-'));
    // Hosts that would fail loudly (exit 1, "Nothing accepts SSH connections") if anything tried
    // to reach them: a usage error must come first.
    sshConfig = join(temp, 'ssh_config');
    writeFileSync(sshConfig, 'Host prod debug\n  HostName 127.0.0.1\n  Port 1\n  User root\n');
  });
  after(() => rmSync(temp, { recursive: true, force: true }));
  const run = (...argv: string[]) => cli('--ssh-config', sshConfig, '--store', join(temp, 'store'), ...argv);

  describe('usage errors: exit 2, one line with the help pointer, no host touched', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /no command given/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['ps'], /missing arguments/],
      [['ps', 'bad host!'], /"bad host!" is not a host/],
      [['top', 'prod'], /"prod" does not name a container/],
      [['top', 'prod/x;touch${IFS}/tmp/pwned'], /is not a host|is not a container name/],
      [['checkpoint', 'prod/demo-api', '--compress', 'lz4'], /Compression "lz4" is not one podman knows.*\(--compress zstd\|gzip\|none\)/],
      [['checkpoint', 'prod/demo-api', '--no-such-flag'], /unknown option --no-such-flag/],
      [['checkpoint', 'prod/demo-api', '--pre-checkpoint', '--with-previous', 'base-1'], /Pre-checkpoint and with previous cannot be used together \(--pre-checkpoint, --with-previous SNAPSHOT\)/],
      [['checkpoint', 'prod/demo-api', '--pre-checkpoint', '--stop'], /pre-checkpoint always leaves the container running \(without --stop\)/],
      [['checkpoint', 'prod/demo-api', '--keep-for', '2'], /--keep-for and --through-here go with --push-to HOST/],
      [['checkpoint', 'prod/demo-api', '--push-to', 'prod'], /--push-to prod is where demo-api runs: name another host/],
      [['checkpoint', 'prod/demo-api', '--push-to', 'debug', '--keep-for', '0'], /--keep-for takes hours, more than 0 and at most 720/],
      [['checkpoint', 'prod/demo-api', '--push-to', 'debug', '--pre-checkpoint'], /--push-to takes a full checkpoint/],
      [['checkpoint', 'prod/demo-api', '--push-to', 'bad host!'], /"bad host!" is not a host/],
      [['restore', 'demo-api-20261126-084800-ab12', '--name', 'copy'], /--to is missing/],
      [['restore', 'demo-api-20261126-084800-ab12', '--to', 'debug', '--publish', '8080;id'], /"8080;id" is not a port publication/],
      [['restore', 'demo-api-20261126-084800-ab12', '--to', 'debug', '--tcp-close', '--tcp-established'], /TCP close and TCP established contradict each other/],
      [['restore', 'prod/demo-sleeper', '--name', 'other'], /A restore in place keeps the container as it was: --name only apply/],
      [['rm', '../../etc/passwd'], /"..\/..\/etc\/passwd" is not a snapshot id/],
      [['push', 'x-1'], /--to is missing/],
      [['migrate', 'prod/demo-api', '--to', 'prod'], /--to prod is where demo-api already runs/],
      [['debug', 'prod/demo-api', '--to', 'prod'], /--to prod is the production host/],
      [['debug', 'prod/demo-api', '--to', 'debug', '--local-port', '70000'], /--local-port 70000 is not a port number/],
      [['attach', 'debug/copy', '--runtime', 'cobol'], /--runtime cobol is not a runtime: use node, python, go, java, native/],
      [['debug', 'prod/demo-api', '--to', 'debug', '--allow-egress', 'db'], /"db" names no port/],
      [['debug', 'prod/demo-api', '--to', 'debug', '--allow-egress', 'db;id:5432'], /"db;id" in "db;id:5432" is neither a host name nor an IPv4 address/],
      [['debug', 'prod/demo-api', '--to', 'debug', '--allow-egress', '[::1]:5432'], /IPv6 address: copies' networks are IPv4 only/],
      [['debug', 'prod/demo-api', '--to', 'debug', '--allow-egress', 'db:5432', '--allow-all-egress'], /--allow-egress opens a fence and --allow-all-egress leaves none/],
      [['restore', 'demo-api-20261126-084800-ab12', '--to', 'debug', '--fenced', '--allow-all-egress'], /--fenced and --allow-all-egress contradict each other/],
      [['restore', 'demo-api-20261126-084800-ab12', '--to', 'debug', '--allow-egress', 'db:0'], /no port between 1 and 65535/],
      [['restore', 'prod/demo-sleeper', '--fenced'], /A restore in place keeps the container's own network: --fenced only applies/],
      [['logs', 'prod/demo-api', '--tail', 'many'], /--tail many is not a number of lines/],
      [['profile', 'debug/copy', '--seconds', '0'], /--seconds 0: give a number of seconds from 0\.1 to 3600/],
      [['profile', 'debug/copy', '--seconds', '3601'], /--seconds 3601: give a number of seconds from 0\.1 to 3600/],
      [['profile', 'debug/copy', '--seconds', '1e3'], /--seconds 1e3: give a number of seconds/],
      [['heap', 'debug'], /debug/],
      [['threads', 'debug/copy;id'], /copy;id/],
      [['inspect', '../x'], /"..\/x" is not a snapshot id/],
      [['inspect', 'x-1', '--pid', '0'], /--pid 0: give a process id/],
      [['memory', 'x-1'], /give exactly one of --search TEXT, --regex RE or --maps/],
      [['memory', 'x-1', '--search', 'a', '--maps'], /give exactly one of --search TEXT, --regex RE or --maps/],
      [['memory', 'x-1', '--regex', '(unclosed'], /"\(unclosed" is not a regular expression/],
      [['memory', 'x-1', '--search', 'token', '--context', 'lots'], /--context lots: give a number/],
      [['diff', 'x-1'], /missing arguments/],
      [['core', 'x-1', '--pid', '1'], /--out is missing/],
      [['core', 'x-1', '--out', 'dir'], /--pid is missing/],
      [['--transport', 'pigeon', 'ps', 'prod'], /--transport pigeon: use stream or file/],
      [['--remote-tmp', 'relative/dir', 'ps', 'prod'], /"relative\/dir" is not a usable path/],
      [['snapshots', '--max-age-days', 'week'], /--max-age-days week: give a whole number \(0 turns it off\)/],
      [['snapshots', '--max-age-days', '-1'], /'--max-age-days' argument is ambiguous/],
      [['snapshots', '--max-age-days=-1'], /--max-age-days -1: give a whole number/],
      [['--ssh-config', '/nonexistent/ssh_config', 'ps', 'prod'], /--ssh-config \/nonexistent\/ssh_config: no such file/],
      [['copies', 'debug', '--stale-after-hours', '1.5'], /--stale-after-hours 1\.5: give a whole number/],
      [['copies', 'bad host!', '--stale-after-hours', '24'], /"bad host!" is not a host/],
    ];
    for (const [argv, message] of cases) {
      it(`snapdebug ${argv.join(' ') || '(nothing)'}`, async () => {
        const ran = await run(...argv);
        assert.equal(ran.code, 2, ran.stderr);
        assert.equal(ran.stdout, '');
        const lines = ran.stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, `one line, got:\n${ran.stderr}`);
        assert.match(lines[0]!, message);
        assert.match(lines[0]!, /See 'snapdebug( [a-z]+)? --help'\.$/);
      });
    }

    it('with --json, the usage error is also a document on stdout', async () => {
      const ran = await run('--json', 'checkpoint', 'prod/demo-api', '--compress', 'lz4');
      assert.equal(ran.code, 2);
      const document = JSON.parse(ran.stdout) as { error: string; fix: string };
      assert.match(document.error, /Compression "lz4"/);
      assert.equal(document.fix, 'Choose zstd, gzip, none. (--compress zstd|gzip|none)');
    });

    it('--help and --version still answer on stdout with exit 0', async () => {
      const help = await run('restore', '--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /--\[no-\]ignore-static-ip +Give the copy a new IP address/);
      assert.equal((await cli('--version')).code, 0);
    });
  });

  describe('failures: exit 1, the fix in flags; with --json a document on stdout', () => {
    it('a snapshot the store does not have', async () => {
      const ran = await run('--json', 'push', 'no-such-snapshot', '--to', 'debug');
      assert.equal(ran.code, 1);
      assert.match(ran.stderr, /^snapdebug push: There is no snapshot "no-such-snapshot"/);
      const document = JSON.parse(ran.stdout) as { error: string; fix: string | null };
      assert.match(document.error, /There is no snapshot "no-such-snapshot"/);
      assert.equal(document.fix, 'Use the id of a snapshot the store lists.');
    });

    it('a host nothing answers on (127.0.0.1:1): a failure, not a usage error', async () => {
      const ran = await run('--json', 'ps', 'prod');
      assert.equal(ran.code, 1);
      assert.match(ran.stderr, /^snapdebug ps: Nothing accepts SSH connections at prod/);
      assert.match((JSON.parse(ran.stdout) as { error: string }).error, /Nothing accepts SSH connections/);
    });
  });

  describe('rm', () => {
    it('warns that checkpoints taken on top of a deleted pre-checkpoint can no longer be restored', async () => {
      const store = new SnapshotStore(join(temp, 'rm-store'));
      const add = (id: string, extra: Partial<SnapshotMeta>) => {
        store.ensure();
        writeFileSync(store.partPath(id), 'archive', { mode: 0o600 });
        store.commit(store.partPath(id), {
          id, kind: 'checkpoint', createdAt: '2026-11-26T08:48:00.000Z', source: { host: 'prod', container: 'demo-api' }, podmanVersion: '5.4.2',
          options: { leaveRunning: true }, compression: 'zstd', archive: store.archiveName(id, 'zstd'), size: 7, sha256: 'ab'.repeat(32),
          sourceLeftRunning: true, timings: { checkpointMs: 1, totalMs: 2 }, ...extra,
        });
      };
      add('demo-api-pre-1', { kind: 'pre-checkpoint' });
      add('demo-api-top-1', { parent: 'demo-api-pre-1' });
      const ran = await cli('--store', store.dir, '--json', 'rm', 'demo-api-pre-1');
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stderr, /warning: this checkpoint was taken on top of what was deleted and can no longer be restored: demo-api-top-1/);
      assert.deepEqual(JSON.parse(ran.stdout), { removed: ['demo-api-pre-1'], orphaned: ['demo-api-top-1'] });
      assert.deepEqual(store.list().map((m) => m.id), ['demo-api-top-1']);
      // Deleting both at once leaves nothing orphaned, so nothing to warn about.
      add('demo-api-pre-2', { kind: 'pre-checkpoint' });
      add('demo-api-top-2', { parent: 'demo-api-pre-2' });
      const both = await cli('--store', store.dir, 'rm', 'demo-api-pre-2', 'demo-api-top-2');
      assert.equal(both.code, 0);
      assert.doesNotMatch(both.stderr, /warning/);
    });
  });

  describe('ps (through the local host: a real child process, a stand-in podman)', () => {
    const originalPath = process.env.PATH;
    before(() => {
      const bin = join(temp, 'bin');
      spawnSync('mkdir', ['-p', bin]);
      const ps = (JSON.parse(readFileSync(fixture('ps.json'), 'utf8')) as Array<Record<string, unknown> & { Names: string[] }>).map((entry) => {
        if (entry.Names[0] === 'demo-sleeper') return { ...entry, State: 'exited' };
        if (entry.Names[0] === 'demo-python') return { ...entry, Labels: { 'snapdebug.origin': 'demo-api-20261126-084800-ab12' } };
        return entry;
      });
      const sleeper = ps.find((e) => e.Names[0] === 'demo-sleeper')!;
      const [inspect] = JSON.parse(readFileSync(fixture('inspect-demo-api.json'), 'utf8')) as Array<Record<string, unknown> & { State: object }>;
      writeFileSync(join(temp, 'ps.json'), JSON.stringify(ps));
      writeFileSync(join(temp, 'inspect.json'), JSON.stringify([{ ...inspect, Id: sleeper.Id, Name: 'demo-sleeper', State: { ...inspect!.State, Status: 'exited', Running: false, Pid: 0, Checkpointed: true } }]));
      // Answers exactly what `ps` asks, from those files; anything else fails as podman would.
      writeFileSync(
        join(bin, 'podman'),
        `#!/bin/sh\ncase "$*" in\n  "ps --all --format json") cat '${temp}/ps.json' ;;\n  "container inspect --format json ${sleeper.Id}") cat '${temp}/inspect.json' ;;\n  *) echo "Error: unscripted podman $*" >&2; exit 125 ;;\nesac\n`,
      );
      chmodSync(join(bin, 'podman'), 0o755);
      process.env.PATH = `${bin}:${originalPath}`;
    });
    after(() => {
      process.env.PATH = originalPath;
    });

    it('marks checkpointed containers and copies, as the Hosts view does', async () => {
      const ran = await run('ps', 'local');
      assert.equal(ran.code, 0, ran.stderr);
      const rows = ran.stdout.trim().split('\n');
      assert.match(rows[0]!, /^NAME +IMAGE +STATE +CREATED +NOTES$/);
      assert.match(rows.find((r) => r.startsWith('demo-sleeper'))!, /exited .* checkpointed$/);
      assert.match(rows.find((r) => r.startsWith('demo-python'))!, /copy of demo-api-20261126-084800-ab12$/);
      const json = JSON.parse((await run('--json', 'ps', 'local')).stdout) as Array<{ name: string; checkpointed: boolean; copyOf?: string }>;
      assert.deepEqual(json.filter((c) => c.checkpointed).map((c) => c.name), ['demo-sleeper']);
      assert.deepEqual(json.filter((c) => c.copyOf).map((c) => c.name), ['demo-python']);
    });
  });

  describe('copies (through the local host, a stand-in podman)', () => {
    const originalPath = process.env.PATH;
    before(() => {
      const bin = join(temp, 'copies-bin');
      spawnSync('mkdir', ['-p', bin]);
      const [entry] = JSON.parse(readFileSync(fixture('ps.json'), 'utf8')) as Array<Record<string, unknown> & { Id: string }>;
      const copy = (n: number, name: string, labels: Record<string, string>) => ({
        ...entry,
        Id: `${n}${entry!.Id.slice(1)}`,
        Names: [name],
        State: 'running',
        Labels: { 'snapdebug.origin': 'demo-api-20261126-084800-ab12', ...labels },
      });
      const ps = [
        copy(1, 'open-copy', {}),
        copy(2, 'shut-copy', { 'snapdebug.fence': '0a1b2c' }),
        copy(3, 'db-copy', { 'snapdebug.fence': '3d4e5f', 'snapdebug.fence.allow': 'db.internal:5432=10.0.0.5' }),
      ];
      writeFileSync(join(temp, 'copies.json'), JSON.stringify(ps));
      writeFileSync(join(bin, 'podman'), `#!/bin/sh\ncase "$*" in\n  "ps --all --format json") cat '${temp}/copies.json' ;;\n  *) echo "Error: unscripted podman $*" >&2; exit 125 ;;\nesac\n`);
      chmodSync(join(bin, 'podman'), 0o755);
      process.env.PATH = `${bin}:${originalPath}`;
    });
    after(() => {
      process.env.PATH = originalPath;
    });

    it('shows whether each copy is fenced, and what a fenced one may still reach', async () => {
      const ran = await run('copies', 'local');
      assert.equal(ran.code, 0, ran.stderr);
      const rows = ran.stdout.trim().split('\n');
      assert.match(rows[0]!, /^HOST +COPY +STATE +SNAPSHOT +RESTORED +FENCE$/);
      assert.match(rows.find((r) => r.includes('open-copy'))!, / no$/);
      assert.match(rows.find((r) => r.includes('shut-copy'))!, / fenced$/);
      assert.match(rows.find((r) => r.includes('db-copy'))!, / fenced: db\.internal:5432 \(10\.0\.0\.5\)$/);
      const json = JSON.parse((await run('--json', 'copies', 'local')).stdout) as Array<{ name: string; fence?: { id: string; allowed: unknown[] } }>;
      assert.deepEqual(json.map((c) => [c.name, c.fence]), [
        ['open-copy', undefined],
        ['shut-copy', { id: '0a1b2c', allowed: [] }],
        ['db-copy', { id: '3d4e5f', allowed: [{ host: 'db.internal', port: 5432, addresses: ['10.0.0.5'] }] }],
      ]);
    });
  });

  describe('passwords on a terminal', () => {
    it('are read without echo: what is typed never shows, and the answer arrives whole', function () {
      const answerFile = join(temp, 'answer');
      const secret = 's3cret-Pa55';
      const child = fileURLToPath(new URL('./promptChild.mts', import.meta.url));
      const pty = fileURLToPath(new URL('./terminal.py', import.meta.url));
      const result = spawnSync('python3', [pty, 'Password for root@prod: ', secret, process.execPath, '--import', 'tsx', child, answerFile], { encoding: 'utf8', timeout: 15_000 });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /Password for root@prod: /, 'the question was shown');
      assert.ok(!result.stdout.includes(secret), `the terminal showed: ${JSON.stringify(result.stdout)}`);
      assert.ok(!/\*{3,}/.test(result.stdout), 'not even as stars');
      assert.ok(existsSync(answerFile));
      assert.equal(readFileSync(answerFile, 'utf8'), secret);
    });
  });
});
