// The lab itself, tested the way its users use it: SSH with the generated files only (ssh2 and
// OpenSSH), CRIU on both hosts, and the two checkpoint/restore paths the product is built on.
// These tests call podman and ssh directly; the product's own workflows are tested elsewhere.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { labFiles, labHosts as allHosts } from '../../lab/paths';
import { SshPool } from '../../src/core/ssh/pool';
import { SshRunner } from '../../src/core/ssh/runner';
import { containerPid, demoState, labSsh, topCommands, uniqueName } from './helpers';

/** prod and debug, which every lab has (edge and legacy: hosts.test.ts). */
const labHosts = allHosts.filter((h) => !h.extra);

const refuseEverything = {
  confirmHostKey: async () => false,
  passphrase: async () => undefined,
  password: async () => undefined,
};

describe('lab', function () {
  this.timeout(120_000);

  it('a second lab:up changes nothing and says so', () => {
    const out = execFileSync('npx', ['tsx', 'lab/cli.ts', 'up'], { encoding: 'utf8' });
    assert.match(out, /lab is already up .*nothing changed/);
  });

  it('without root, lab:up stops with one sentence naming what is missing, and changes nothing', () => {
    const before = readFileSync(labFiles.state, 'utf8');
    const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', 'HOME=/tmp', process.execPath, 'node_modules/.bin/tsx', 'lab/cli.ts', 'up'], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /needs root/);
    assert.equal(readFileSync(labFiles.state, 'utf8'), before, 'the running lab was not touched');
  });

  it('both hosts answer over SSH through ssh2, using only .lab/ssh_config and .lab/known_hosts', async () => {
    const config = readFileSync(labFiles.sshConfig, 'utf8');
    assert.match(config, /StrictHostKeyChecking yes/);
    // Host keys are trusted only from .lab/known_hosts: an unknown key would be refused.
    const pool = new SshPool(refuseEverything, { sshConfigFile: labFiles.sshConfig });
    try {
      for (const host of labHosts) {
        const runner = new SshRunner(host.name, pool.connection(host.name));
        const result = await runner.run(['hostname']);
        assert.equal(result.stdout.trim(), host.name);
        assert.equal(pool.target(host.name).port, host.sshPort);
      }
    } finally {
      pool.dispose();
    }
  });

  it('OpenSSH reaches both hosts with strict host key checking and the lab files', async () => {
    for (const host of labHosts) {
      const out = execFileSync('ssh', ['-F', labFiles.sshConfig, '-o', 'BatchMode=yes', host.name, 'cat /etc/hostname; id -u'], { encoding: 'utf8' });
      assert.deepEqual(out.trim().split('\n'), [host.name, '0']);
    }
  });

  it('criu check says "Looks good." on both hosts, with CRIU 4.2.1 and runc', async () => {
    for (const host of labHosts) {
      assert.match(await labSsh(host.name, 'criu check 2>&1'), /Looks good\./);
      assert.match(await labSsh(host.name, 'criu --version'), /Version: 4\.2\.1/);
      assert.equal((await labSsh(host.name, "podman info --format '{{.Host.OCIRuntime.Name}}'")).trim(), 'runc');
    }
  });

  it('hosts are isolated: own hostname, own network namespace, own container storage', async () => {
    const [prodNs, debugNs] = await Promise.all(labHosts.map((h) => labSsh(h.name, 'readlink /proc/self/ns/net')));
    assert.notEqual(prodNs, debugNs);
    assert.notEqual(prodNs?.trim(), execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim());
    const debugContainers = await labSsh('debug', "podman ps --all --format '{{.Names}}'");
    assert.doesNotMatch(debugContainers, /demo-api/);
  });

  it('demo-api: checkpointed on prod (leave-running, export), copied to debug, restored under a new name with its memory', async () => {
    const copy = uniqueName('lab-copy');
    const archive = `/var/tmp/${copy}.tar.zst`;
    const pidBefore = await containerPid('prod', 'demo-api');
    const before = await demoState('prod', 'demo-api');
    await labSsh('prod', `podman container checkpoint --leave-running --export ${archive} demo-api`);
    try {
      // Through this machine, as the product does: prod -> here -> debug.
      const local = `/tmp/${copy}.tar.zst`;
      execFileSync('scp', ['-F', labFiles.sshConfig, '-q', `prod:${archive}`, local]);
      execFileSync('scp', ['-F', labFiles.sshConfig, '-q', local, `debug:${archive}`]);
      execFileSync('rm', ['-f', local]);
      await labSsh('debug', `podman container restore --import ${archive} --name ${copy} --ignore-static-ip --ignore-static-mac`);
      const restored = await demoState('debug', copy);
      assert.ok(restored.requestCount >= before.requestCount, `copy counter ${restored.requestCount} < ${before.requestCount}`);
      assert.equal(restored.startedAt, before.startedAt, 'the copy must be the same process state, not a fresh start');
      assert.equal(await containerPid('prod', 'demo-api'), pidBefore, 'prod demo-api must keep running with the same PID');
      assert.ok((await demoState('prod', 'demo-api')).requestCount > before.requestCount);
    } finally {
      await labSsh('debug', `podman rm -f -t 0 ${copy} >/dev/null 2>&1; rm -f ${archive}`);
      await labSsh('prod', `rm -f ${archive}`);
    }
  });

  it('the seed case: demo-sleeper checkpointed (stopped), restored on debug with --import, podman top shows the same processes', async () => {
    const archive = `/var/tmp/${uniqueName('seed')}.tar.gz`;
    const before = await topCommands('prod', 'demo-sleeper');
    assert.ok(before.includes('sleep 600'), `prod's demo-sleeper runs sleep 600: ${before.join(' | ')}`);
    // The PIDs read in the same breath as the checkpoint: its loop starts a new sleep every 600 s
    // (and earlier suites move demo-sleeper about), so a read from seconds before can be stale.
    const pidsBefore = await labSsh('prod', `podman top demo-sleeper pid args && podman container checkpoint demo-sleeper -e ${archive} >/dev/null`);
    try {
      assert.match(await labSsh('prod', "podman ps --all --filter name=demo-sleeper --format '{{.State}}'"), /exited/);
      const local = `/tmp/${uniqueName('seed')}.tar.gz`;
      execFileSync('scp', ['-F', labFiles.sshConfig, '-q', `prod:${archive}`, local]);
      execFileSync('scp', ['-F', labFiles.sshConfig, '-q', local, `debug:${archive}`]);
      execFileSync('rm', ['-f', local]);
      await labSsh('debug', `cd /var/tmp && podman container restore -i ${archive}`);
      assert.deepEqual(await topCommands('debug', 'demo-sleeper'), before);
      // As in the article: the same processes with the same PIDs inside the container.
      assert.deepEqual(await labSsh('debug', 'podman top demo-sleeper pid args'), pidsBefore);
    } finally {
      await labSsh('debug', `podman rm -f -t 0 demo-sleeper >/dev/null 2>&1; rm -f ${archive}`);
      // Put prod back as it was: the seed's restore in place.
      await labSsh('prod', `podman container restore --keep demo-sleeper >/dev/null; rm -f ${archive}`);
    }
    assert.deepEqual(await topCommands('prod', 'demo-sleeper'), before);
  });
});
