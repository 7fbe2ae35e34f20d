// The snapdebug CLI's contract, run as a user runs it: --json prints one JSON document on stdout
// and nothing else there; exit 0 only on success, 2 on usage errors (before any host is touched);
// a failure is one sentence on stderr with what to do (the flags that do it), and a CRIU failure
// shows the tail of CRIU's own log. `ps` marks what the Hosts view marks (checkpointed, copies).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labFiles } from '../../lab/paths';
import { labSsh, removeContainer, tempArchives, uniqueName, waitFor } from './helpers';

const execFileAsync = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe('snapdebug CLI (lab)', function () {
  this.timeout(120_000);
  const store = mkdtempSync(join(tmpdir(), 'snapdebug-cli-'));
  after(() => rmSync(store, { recursive: true, force: true }));

  async function cli(...args: string[]): Promise<Ran> {
    try {
      const { stdout, stderr } = await execFileAsync('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', labFiles.sshConfig, '--store', store, ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('--json: one JSON document on stdout, progress only on stderr', async () => {
    const ps = await cli('--json', 'ps', 'prod');
    assert.equal(ps.code, 0);
    const entries = JSON.parse(ps.stdout) as Array<{ name: string; state: string }>;
    assert.ok(entries.some((e) => e.name === 'demo-api' && e.state === 'running'));

    const checkpoint = await cli('--json', 'checkpoint', 'prod/demo-api');
    assert.equal(checkpoint.code, 0, checkpoint.stderr);
    const meta = JSON.parse(checkpoint.stdout) as { id: string; sha256: string; sourceLeftRunning: boolean };
    assert.equal(meta.sourceLeftRunning, true);
    assert.match(meta.sha256, /^[0-9a-f]{64}$/);
    assert.match(checkpoint.stderr, /Checkpointing demo-api on prod/);

    const list = JSON.parse((await cli('--json', 'snapshots')).stdout) as Array<{ id: string }>;
    assert.ok(list.some((m) => m.id === meta.id));
    assert.equal((await cli('rm', meta.id)).code, 0);
    assert.deepEqual(JSON.parse((await cli('--json', 'snapshots')).stdout), []);
  });

  it('checkpoint --push-to debug: into the store and kept on debug; the restore line it prints works there as printed', async () => {
    const ran = await cli('checkpoint', 'prod/demo-api', '--push-to', 'debug', '--keep-for', '1');
    assert.equal(ran.code, 0, ran.stderr);
    const lines = ran.stdout.trim().split('\n');
    const [, id] = /^(\S+): checkpoint of prod\/demo-api/.exec(lines[0]!) ?? [];
    assert.ok(id, ran.stdout);
    assert.match(lines[1]!, new RegExp(`^${id} is on debug at /var/tmp/snapdebug-k\\.\\w{10}/${id}\\.tar\\.zst \\(fetched from prod host to host, sha256 verified\\)$`));
    const restoreLine = /^restore it there with: (.+)$/.exec(lines[2]!)![1]!;
    const folder = /at (\/var\/tmp\/snapdebug-k\.\w{10})\//.exec(lines[1]!)![1]!;
    const copy = uniqueName('cli-kept');
    try {
      // As printed, with a name of its own beside the running demo-api.
      await labSsh('debug', `${restoreLine} --name ${copy} --ignore-static-ip --ignore-static-mac >/dev/null`);
      assert.equal((await labSsh('debug', `podman inspect --format '{{.State.Running}}' ${copy}`)).trim(), 'true');
    } finally {
      await removeContainer('debug', copy);
      await labSsh('debug', `rm -rf ${folder}`);
    }
    assert.equal((await cli('rm', id)).code, 0);
  });

  it('doctor: prod and debug are ready, CPU-compatible; a missing temp folder fails with its fix', async () => {
    const ok = await cli('--json', 'doctor', 'prod', '--peer', 'debug');
    assert.equal(ok.code, 0, ok.stdout);
    const report = JSON.parse(ok.stdout) as { ok: boolean; checks: Array<{ name: string; level: string; detail: string; fix?: string }> };
    assert.equal(report.ok, true);
    const check = (name: string) => report.checks.find((c) => c.name === name);
    assert.equal(check('criu check')?.detail, 'Looks good.');
    assert.equal(check('debug: criu check')?.detail, 'Looks good.');
    assert.match(check('podman')?.detail ?? '', /podman 5\.4\.2/);
    assert.equal(check('cpu prod → debug')?.level, 'ok');
    // The lab's hosts reach each other by name on the lab's link: archives may go host to host.
    assert.equal(check('link debug → prod')?.level, 'ok', JSON.stringify(check('link debug → prod')));
    assert.match(check('link debug → prod')?.detail ?? '', /^debug reaches prod at 10\.77\.0\.\d+ and sees the host key verified here/);

    const bad = await cli('--json', '--remote-tmp', '/nonexistent/dir', 'doctor', 'prod');
    assert.equal(bad.code, 1);
    const failed = (JSON.parse(bad.stdout) as typeof report).checks.find((c) => c.name === 'temp space');
    assert.equal(failed?.level, 'fail');
    assert.ok(failed?.fix, 'a failure comes with its fix');
  });

  it('usage errors exit 2; failures exit 1 with one sentence', async () => {
    assert.equal((await cli('frobnicate')).code, 2);
    assert.equal((await cli('checkpoint')).code, 2);
    assert.equal((await cli('checkpoint', 'prod/demo-api', '--no-such-flag')).code, 2);
    const bad = await cli('checkpoint', 'prod/no-such-container');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^snapdebug checkpoint: There is no such container on prod/m);
    for (const address of ['prod/x;touch${IFS}/tmp/pwned', "prod/x; touch /tmp/pwned", 'prod/$(touch /tmp/pwned)']) {
      const hostile = await cli('top', address);
      assert.equal(hostile.code, 2, address);
      assert.match(hostile.stderr, /is not a container name|is not a host/, address);
    }
    assert.equal((await labSsh('prod', 'test -e /tmp/pwned && echo yes || echo no')).trim(), 'no');
  });

  it('a bad --publish is refused before the snapshot moves: nothing is uploaded to debug', async () => {
    const checkpointed = await cli('--json', 'checkpoint', 'prod/demo-api');
    assert.equal(checkpointed.code, 0, checkpointed.stderr);
    const { id } = JSON.parse(checkpointed.stdout) as { id: string };
    try {
      const before = await tempArchives('debug');
      const refused = await cli('--json', 'restore', id, '--to', 'debug', '--publish', '8080;id');
      assert.equal(refused.code, 2);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.match((JSON.parse(refused.stdout) as { error: string }).error, /"8080;id" is not a port publication/);
      assert.deepEqual(await tempArchives('debug'), before, 'no archive went to debug');
    } finally {
      await cli('rm', id);
    }
  });

  it('ps marks a container that holds a checkpoint, as the Hosts view does', async () => {
    const name = uniqueName('ps-ckpt');
    await labSsh('prod', `podman run -d --name ${name} localhost/snapdebug/busybox:latest sh -c 'while :; do sleep 1; done' >/dev/null`);
    try {
      const stopped = await cli('--json', 'checkpoint', `prod/${name}`, '--stop', '--keep');
      assert.equal(stopped.code, 0, stopped.stderr);
      const listed = (JSON.parse((await cli('--json', 'ps', 'prod')).stdout) as Array<{ name: string; checkpointed: boolean }>).find((c) => c.name === name);
      assert.equal(listed?.checkpointed, true);
      assert.match((await cli('ps', 'prod')).stdout.split('\n').find((line) => line.startsWith(`${name} `)) ?? '', /checkpointed$/);
      await cli('rm', (JSON.parse(stopped.stdout) as { id: string }).id);
    } finally {
      await removeContainer('prod', name);
    }
  });

  describe('a CRIU failure', () => {
    const holder = uniqueName('tcp-holder');
    before(async () => {
      // A process holding an established TCP connection (to itself): CRIU refuses to dump it
      // unless told to (--tcp-established), the failure users hit most.
      const script = "const net=require('net');net.createServer(()=>{}).listen(7000,'127.0.0.1',()=>{globalThis.c=net.connect(7000,'127.0.0.1')});setInterval(()=>{},1000)";
      await labSsh('prod', `podman run -d --name ${holder} localhost/snapdebug/node:20 node -e "${script}"`);
      await waitFor(async () => (await labSsh('prod', `podman exec ${holder} cat /proc/net/tcp`)).includes(' 01 '), 20_000, 'the established connection');
    });
    after(() => removeContainer('prod', holder));

    it('says what failed and how to fix it, then shows the tail of dump.log; --tcp-established then works', async () => {
      const failed = await cli('checkpoint', `prod/${holder}`);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /CRIU failed on prod/);
      assert.match(failed.stderr, /fix: .*--tcp-established/);
      assert.match(failed.stderr, /last lines of \S+dump\.log on prod/);
      assert.match(failed.stderr, /Error \(criu/);
      assert.equal((await labSsh('prod', `podman inspect --format '{{.State.Status}}' ${holder}`)).trim(), 'running', 'the failed checkpoint left it running');

      const ok = await cli('--json', 'checkpoint', `prod/${holder}`, '--tcp-established');
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { options: { tcpEstablished: boolean } }).options.tcpEstablished, true);
    });
  });
});
