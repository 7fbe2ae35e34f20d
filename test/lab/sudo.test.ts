// snapdebug through sudo, for real: the lab's prod-sudo and debug-sudo log in as `dev`, whose only
// root rights are the sudo rule the README documents (lab/recipe/host-files/sudoers-snapdebug).
// With --sudo (CLI) and hostOptions.sudo (what snapdebug.useSudo sets) everything the root path
// does works: doctor, checkpoint, restore, copies, discard, migrate, and Snapshot & Debug for
// node, python and native; only `sudo -n PROGRAM` of the seven programs ever reaches sudo. A
// missing right is one sentence naming the command and the sudoers line to add.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { labFiles } from '../../lab/paths';
import { snapshotAndDebug, type SnapshotDebugSession } from '../../src/core/debug/session';
import { shellJoin } from '../../src/core/util/quote';
import { connectCdp, evaluateInTick } from './cdp';
import { criuConfigs, demoState, labCore, labSsh, removeContainer, requireHosts, runCli, tempArchives, uniqueName, waitFor, endSessions } from './helpers';

const allowed = ['podman', 'criu', 'nsenter', 'kill', 'gdb', 'cat', 'rm'];

/** The program of each command the log shows run through sudo ("host: sudo -n PROGRAM ..."). */
function sudoPrograms(commands: string[]): string[] {
  return [...new Set(commands.flatMap((c) => /^[^:]+: sudo -n '?([^\s']+)/.exec(c)?.[1] ?? []))];
}

describe('through sudo as dev (prod-sudo, debug-sudo)', function () {
  this.timeout(180_000);
  const store = mkdtempSync(join(tmpdir(), 'snapdebug-sudo-'));
  const cli = (...args: string[]) => runCli(store, ['--sudo', ...args]);
  before(() => requireHosts('prod', 'debug'));
  after(() => rmSync(store, { recursive: true, force: true }));

  it('doctor: prod-sudo and debug-sudo are ready and rootful through sudo -n, CPU-compatible', async () => {
    const run = await cli('--json', 'doctor', 'prod-sudo', '--peer', 'debug-sudo');
    const report = JSON.parse(run.stdout) as { ok: boolean; checks: Array<{ name: string; level: string; detail: string }> };
    assert.equal(run.code, 0, JSON.stringify(report.checks.filter((c) => c.level === 'fail')));
    assert.equal(report.checks.find((c) => c.name === 'rootful')?.detail, 'rootful (through sudo -n)');
    assert.equal(report.checks.find((c) => c.name === 'criu check')?.detail, 'Looks good.');
    assert.equal(report.checks.find((c) => c.name === 'cpu prod-sudo → debug-sudo')?.level, 'ok');
  });

  it('checkpoint, restore as a copy, copies, discard (CLI --sudo): the copy runs, nothing is left', async () => {
    const checkpoint = await cli('--json', 'checkpoint', 'prod-sudo/demo-api');
    assert.equal(checkpoint.code, 0, checkpoint.stderr);
    const meta = JSON.parse(checkpoint.stdout) as { id: string; sourceLeftRunning: boolean };
    assert.equal(meta.sourceLeftRunning, true);
    const restore = await cli('--json', 'restore', meta.id, '--to', 'debug-sudo');
    assert.equal(restore.code, 0, restore.stderr);
    const copy = JSON.parse(restore.stdout) as { name: string };
    assert.equal((await labSsh('debug', `podman inspect -f '{{.State.Status}}' ${copy.name}`)).trim(), 'running');
    const copies = JSON.parse((await cli('--json', 'copies', 'debug-sudo')).stdout) as Array<{ name: string }>;
    assert.ok(copies.some((c) => c.name === copy.name));
    const discard = await cli('discard', `debug-sudo/${copy.name}`);
    assert.equal(discard.code, 0, discard.stderr);
    assert.equal((await labSsh('debug', `podman container exists ${copy.name} && echo yes || echo no`)).trim(), 'no');
    assert.deepEqual((await criuConfigs('debug')).filter((line) => line.endsWith(` ${copy.name}`)), [], 'its kept CRIU options went with it');
    assert.deepEqual([...(await tempArchives('prod')), ...(await tempArchives('debug'))], []);
    assert.equal((await cli('rm', meta.id)).code, 0);
  });

  it('migrate (CLI --sudo): the container runs on debug with podman top identical and is gone from prod', async () => {
    const name = uniqueName('sudo-migrant');
    await labSsh('prod', `podman run -d --name ${name} localhost/snapdebug/node:20 bash -c 'trap "exit 0" TERM; while :; do sleep 600 & wait $!; done' >/dev/null`);
    try {
      await waitFor(async () => (await labSsh('prod', `podman top ${name} args`)).includes('sleep 600'), 20_000, 'sleep 600');
      const before = await labSsh('prod', `podman top ${name} pid args`);
      const run = await cli('migrate', `prod-sudo/${name}`, '--to', 'debug-sudo', '--remove-source');
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await labSsh('debug', `podman top ${name} pid args`), before);
      assert.equal((await labSsh('prod', `podman container exists ${name} && echo yes || echo no`)).trim(), 'no');
    } finally {
      await removeContainer('prod', name);
      await removeContainer('debug', name);
    }
  });

  it('Snapshot & Debug, node (CLI --sudo): the debugger reaches the copy over CDP; Ctrl-C leaves the copy', async () => {
    const before = await demoState('prod', 'demo-api');
    // A process group of its own: Ctrl-C (SIGINT) goes to npx, tsx and the CLI alike.
    const child = spawn('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', labFiles.sshConfig, '--store', store, '--sudo', 'debug', 'prod-sudo/demo-api', '--to', 'debug-sudo'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const ctrlC = () => process.kill(-child.pid!, 'SIGINT');
    let copy = '';
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        // The attach line goes to stdout, progress to stderr: read both.
        for (const input of [child.stdout, child.stderr]) {
          createInterface({ input }).on('line', (line) => {
            text += `${line}\n`;
            const at = /debugger of debug-sudo\/(\S+) at 127\.0\.0\.1:(\d+)/.exec(line);
            if (at) {
              copy = at[1]!;
              resolve(Number(at[2]));
            }
          });
        }
        child.once('exit', (code) => reject(new Error(`snapdebug debug ended (${code}):\n${text}`)));
      });
      const cdp = await connectCdp(port);
      try {
        const [requestCount] = await evaluateInTick(cdp, ['state.requestCount']);
        assert.ok((requestCount as number) >= before.requestCount);
      } finally {
        cdp.close();
      }
      ctrlC();
      await new Promise((resolve) => child.once('exit', resolve));
      assert.equal((await labSsh('debug', `podman inspect -f '{{.State.Status}}' ${copy}`)).trim(), 'running', 'the copy stays after Ctrl-C');
    } finally {
      if (child.exitCode === null && child.signalCode === null) ctrlC();
      if (copy) await removeContainer('debug', copy);
    }
  });

  describe('Snapshot & Debug through the core with sudo (what snapdebug.useSudo sets), python and native', () => {
    const core = labCore({ hostOptions: () => ({ sudo: true }) });
    const sessions: SnapshotDebugSession[] = [];
    after(async () => {
      await endSessions(sessions, 'debug');
      core.cleanup();
    });

    it('python: debugpy is injected into the copy on debug-sudo and listens', async () => {
      const session = await snapshotAndDebug(core, { host: 'prod-sudo', container: 'demo-python', to: 'debug-sudo' });
      sessions.push(session);
      assert.equal(session.target.runtime, 'python');
      assert.ok(session.attach && session.attach.port > 0);
    });

    it('native: the gdb command handed to the user runs as dev through sudo and reads the copy\'s counter', async () => {
      const session = await snapshotAndDebug(core, { host: 'prod-sudo', container: 'demo-native', to: 'debug-sudo' });
      sessions.push(session);
      assert.ok(session.gdb);
      assert.deepEqual(session.gdb.slice(0, 2), ['sudo', '-n']);
      const out = await labSsh('debug-sudo', shellJoin([...session.gdb, '-batch', '-ex', 'print tick_count']));
      assert.ok(Number(/\$1 = (\d+)/.exec(out)?.[1]) > 0, out);
    });

    it('sudo ran only the seven programs of the rule, never env or a shell; scripts run as dev', () => {
      const used = sudoPrograms(core.commands);
      // nsenter and kill run inside the listen script (src/core/debug/listening.ts), as its own
      // `sudo -n`, held to the rule by sudo: debugpy was seen listening above only through them.
      assert.ok(used.includes('podman') && used.includes('gdb'), `commands went through sudo: ${used.join(', ')}`);
      assert.deepEqual(used.filter((p) => !allowed.includes(p)), [], `through sudo: ${used.join(', ')}`);
      // Our scripts start as the login user (their own sudo -n calls are held to the rule by sudo).
      assert.deepEqual(core.commands.filter((c) => /^[^:]+: (env|sudo -n (env|sh|bash)) /.test(c)), []);
    });
  });

  describe('a missing sudo right', () => {
    // A user whose rule lacks criu, on prod: made here, removed afterwards.
    const user = 'dev2';
    const dir = mkdtempSync(join(tmpdir(), 'snapdebug-sudo2-'));
    const sshConfig = join(dir, 'ssh_config');
    before(async () => {
      const rule = readFileSync(join(import.meta.dirname, '..', '..', 'lab', 'recipe', 'host-files', 'sudoers-snapdebug'), 'utf8').replace(/^dev /m, `${user} `).replace(', /usr/sbin/criu', '');
      await labSsh('prod', `id ${user} >/dev/null 2>&1 || (useradd -m -s /bin/bash ${user} && usermod -p '*' ${user}); install -d -m 0700 -o ${user} -g ${user} /home/${user}/.ssh; install -m 0600 -o ${user} -g ${user} /root/.ssh/authorized_keys /home/${user}/.ssh/authorized_keys; printf '%s' ${shellJoin([rule])} > /etc/sudoers.d/snapdebug-${user}; chmod 0440 /etc/sudoers.d/snapdebug-${user}; visudo -c -q`);
      writeFileSync(sshConfig, readFileSync(labFiles.sshConfig, 'utf8').replace(/Host prod-sudo\n(\s+HostName .*\n\s+Port .*\n)\s+User dev\n/, `Host prod-dev2\n$1  User ${user}\n`));
    });
    after(async () => {
      await labSsh('prod', `rm -f /etc/sudoers.d/snapdebug-${user}; userdel -r ${user} 2>/dev/null || true`);
      rmSync(dir, { recursive: true, force: true });
    });

    it('names the command and the sudoers line to add, in one sentence', async () => {
      const run = await runCli(store, ['--sudo', 'doctor', 'prod-dev2'], { sshConfig });
      assert.equal(run.code, 1);
      assert.match(run.stdout + run.stderr, /sudo on prod-dev2 does not let dev2 run criu[\s\S]*dev2 ALL=\(root\) NOPASSWD: \/usr\/sbin\/criu/);
    });
  });
});
