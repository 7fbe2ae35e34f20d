// The pooled SSH layer against the lab's sshd: one connection shared by every command, never more
// channels at once than sshd's MaxSessions, a new connection after a drop, and ProxyJump (prod's
// own sshd on its private loopback, reached through prod).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labFiles } from '../../lab/paths';
import { maxChannelsPerConnection } from '../../src/core/ssh/connection';
import { SshPool } from '../../src/core/ssh/pool';
import { SshRunner } from '../../src/core/ssh/runner';
import { labSsh, refusePrompts } from './helpers';

describe('SSH connections (lab sshd)', function () {
  this.timeout(60_000);

  it('one pooled connection runs 30 concurrent commands, never more than MaxSessions channels at once', async () => {
    const pool = new SshPool(refusePrompts, { sshConfigFile: labFiles.sshConfig });
    const connection = pool.connection('prod');
    const runner = new SshRunner('prod', connection);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, connection.channelsInUse)), 5);
    try {
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => runner.run(['sh', '-c', `sleep 0.3; echo ${i} $PPID`])));
      assert.deepEqual(results.map((r) => r.stdout.split(' ')[0]), Array.from({ length: 30 }, (_, i) => String(i)));
      // Every command was started by the same sshd process: one connection served them all.
      assert.equal(new Set(results.map((r) => r.stdout.trim().split(' ')[1])).size, 1);
      assert.ok(peak <= maxChannelsPerConnection, `peak ${peak} channels`);
      assert.ok(peak >= 5, `the commands really ran concurrently (peak ${peak})`);
      assert.equal(pool.connection('prod'), connection, 'the same connection is reused');
    } finally {
      clearInterval(sampler);
      pool.dispose();
    }
  });

  it('reconnects after the connection drops', async () => {
    const pool = new SshPool(refusePrompts, { sshConfigFile: labFiles.sshConfig });
    const runner = new SshRunner('prod', pool.connection('prod'));
    try {
      const first = (await runner.run(['sh', '-c', 'echo $PPID'])).stdout.trim();
      // End the sshd process serving this connection (its PID is an ancestor of our shell).
      await runner.run(['sh', '-c', `kill $(ps -o ppid= -p ${first})`]).catch(() => undefined);
      const deadline = Date.now() + 10_000;
      while (pool.connection('prod').isConnected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(pool.connection('prod').isConnected, false, 'the drop was noticed');
      assert.equal((await runner.run(['hostname'])).stdout.trim(), 'prod', 'the next command reconnected');
    } finally {
      pool.dispose();
    }
  });

  it('ProxyJump: prod\'s own sshd on its private 127.0.0.1:22, reached through prod', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'snapdebug-jump-'));
    try {
      const hostKey = readFileSync(join(labFiles.hostKeys('prod'), 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
      const knownHosts = join(dir, 'known_hosts');
      // The inner hop is 127.0.0.1:22 as prod sees it; it presents prod's key.
      writeFileSync(knownHosts, `${readFileSync(labFiles.knownHosts, 'utf8')}127.0.0.1 ${hostKey}\n`);
      const config = join(dir, 'ssh_config');
      writeFileSync(
        config,
        `${readFileSync(labFiles.sshConfig, 'utf8').replace(/UserKnownHostsFile \S+/g, `UserKnownHostsFile ${knownHosts}`)}\n` +
          `Host inner\n  HostName 127.0.0.1\n  Port 22\n  User root\n  IdentityFile ${labFiles.privateKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n  ProxyJump prod\n`,
      );
      const pool = new SshPool(refusePrompts, { sshConfigFile: config });
      try {
        const out = await new SshRunner('inner', pool.connection('inner')).run(['sh', '-c', 'hostname; echo $SSH_CONNECTION']);
        const [hostname, connection] = out.stdout.trim().split('\n');
        assert.equal(hostname, 'prod');
        assert.match(connection!, /^127\.0\.0\.1 \d+ 127\.0\.0\.1 22$/, 'the session arrived on port 22 from inside prod');
      } finally {
        pool.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal((await labSsh('prod', 'hostname')).trim(), 'prod');
  });
});
