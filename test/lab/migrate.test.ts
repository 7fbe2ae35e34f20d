// migrate, through the core and the CLI: the seed article's live migration of demo-sleeper from
// prod to debug (podman top shows the same processes, same PIDs), the source removed only when
// asked and only after the target runs, and a failure after the checkpoint putting the source
// back on its own host.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { labFiles } from '../../lab/paths';
import { migrate } from '../../src/core/snapshot/migrate';
import { labCore, labSsh, removeContainer, tempArchives, uniqueName } from './helpers';

const run = promisify(execFile);

async function topWithPids(host: string, container: string): Promise<string[]> {
  const out = await labSsh(host, `podman top ${container} pid args`);
  return out.split('\n').slice(1).map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean).sort();
}

async function state(host: string, container: string): Promise<string> {
  return (await labSsh(host, `podman inspect --format '{{.State.Status}}' ${container} 2>/dev/null || echo absent`)).trim();
}

describe('migrate (lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  after(() => core.cleanup());

  it('the seed\'s live migration through the CLI: demo-sleeper moves prod → debug, podman top shows the same processes', async () => {
    const before = await topWithPids('prod', 'demo-sleeper');
    assert.ok(before.some((line) => line.endsWith('sleep 600')), before.join(' | '));
    try {
      const { stdout } = await run('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', labFiles.sshConfig, '--store', core.store.dir, '--json', 'migrate', 'prod/demo-sleeper', '--to', 'debug']);
      const result = JSON.parse(stdout) as { target: { host: string; name: string }; sourceRemoved: boolean };
      assert.deepEqual([result.target.host, result.target.name, result.sourceRemoved], ['debug', 'demo-sleeper', false]);
      // Same commands and the same PIDs inside the container, as in the article.
      assert.deepEqual(await topWithPids('debug', 'demo-sleeper'), before);
      assert.match(await labSsh('prod', "podman inspect --format '{{.State.Status}} {{.State.Checkpointed}}' demo-sleeper"), /exited true/);
      assert.deepEqual(core.store.list(), [], 'the migration snapshot is deleted (it holds memory)');
      assert.deepEqual([...(await tempArchives('prod')), ...(await tempArchives('debug'))], []);
    } finally {
      // Back as the lab had it: debug's copy gone, prod's restored in place (the seed's --keep).
      await removeContainer('debug', 'demo-sleeper');
      if ((await state('prod', 'demo-sleeper')) !== 'running') await labSsh('prod', 'podman container restore --keep demo-sleeper >/dev/null');
    }
    assert.deepEqual(await topWithPids('prod', 'demo-sleeper'), before);
  });

  it('with removeSource, the source goes only after the target runs the same processes', async () => {
    const name = uniqueName('mover');
    await labSsh('prod', `podman run -d --name ${name} localhost/snapdebug/node:20 bash -c 'sleep 600 & wait'`);
    try {
      const result = await migrate(core, { from: 'prod', container: name, to: 'debug', removeSource: true });
      assert.equal(result.sourceRemoved, true);
      assert.equal(await state('prod', name), 'absent');
      assert.equal(await state('debug', name), 'running');
      assert.deepEqual(result.targetTop.map((p) => p.command).sort(), result.sourceTop.map((p) => p.command).sort());
      // The audit log says where the memory went (host to host: the store never had it) and that
      // production's container was removed.
      const audit = core.store.audit.read().filter((e) => e.container === name);
      assert.deepEqual(audit.map((e) => [e.action, e.host]), [['checkpoint', 'prod'], ['push', 'debug'], ['restore', 'debug'], ['remove-source', 'prod']]);
      assert.equal(audit[3]!.detail, `migrated to debug as ${name}`);
    } finally {
      await removeContainer('prod', name);
      await removeContainer('debug', name);
    }
  });

  it('refuses before touching the source when the target already has a container of that name', async () => {
    const name = uniqueName('clash');
    await labSsh('prod', `podman run -d --name ${name} localhost/snapdebug/busybox:latest sleep 600`);
    await labSsh('debug', `podman run -d --name ${name} localhost/snapdebug/busybox:latest sleep 600`);
    try {
      const pid = (await labSsh('prod', `podman inspect --format '{{.State.Pid}}' ${name}`)).trim();
      await assert.rejects(() => migrate(core, { from: 'prod', container: name, to: 'debug' }), /already has a container named/);
      assert.equal((await labSsh('prod', `podman inspect --format '{{.State.Pid}}' ${name}`)).trim(), pid, 'the source never stopped');
    } finally {
      await removeContainer('prod', name);
      await removeContainer('debug', name);
    }
  });

  it('a failure after the checkpoint restores the source on its own host: nothing is lost', async () => {
    const name = uniqueName('rollback');
    await labSsh('prod', `podman run -d --name ${name} localhost/snapdebug/node:20 bash -c 'sleep 600 & wait'`);
    const before = await topWithPids('prod', name);
    // CRIU on debug refuses every restore: the migration fails after prod was checkpointed (stopped).
    await labSsh('debug', `printf '#!/bin/sh\\n[ "$CRTOOLS_SCRIPT_ACTION" = pre-restore ] && exit 1\\nexit 0\\n' > /usr/local/sbin/snapdebug-fault-mig && chmod 755 /usr/local/sbin/snapdebug-fault-mig && echo 'action-script /usr/local/sbin/snapdebug-fault-mig' >> /etc/criu/runc.conf`);
    const broken = labCore();
    try {
      await assert.rejects(
        () => migrate(broken, { from: 'prod', container: name, to: 'debug', removeSource: true }),
        new RegExp(`failed during restore; cleaned up .*started ${name} again`, 's'),
      );
      assert.equal(await state('prod', name), 'running');
      assert.deepEqual(await topWithPids('prod', name), before, 'restored from its checkpoint, same processes and PIDs');
      assert.equal(await state('debug', name), 'absent');
    } finally {
      broken.cleanup();
      await removeContainer('prod', name);
      await labSsh('debug', "sed -i '/snapdebug-fault-mig/d' /etc/criu/runc.conf; rm -f /usr/local/sbin/snapdebug-fault-mig");
    }
  });
});
