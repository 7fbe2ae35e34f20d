// The store against the real lab: a restore of an archive replaced in the store is refused before
// a byte reaches the debug host, and a real checkpoint, restore and discard each leave their
// audit line; `copies` dates a copy from podman's own record of when it was restored.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { labFiles } from '../../lab/paths';
import { checkpoint } from '../../src/core/snapshot/checkpoint';
import { discardCopy, listCopies } from '../../src/core/snapshot/copies';
import { restoreSnapshot } from '../../src/core/snapshot/restore';
import type { SnapshotMeta } from '../../src/core/snapshot/store';
import { labCore, removeContainer, tempArchives, uniqueName } from './helpers';

const run = promisify(execFile);

describe('store trust (lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  const created: string[] = [];
  let meta: SnapshotMeta;

  before(async () => {
    meta = await checkpoint(core, { host: 'prod', container: 'demo-sleeper', options: { leaveRunning: true } });
  });
  after(async () => {
    for (const name of created) await removeContainer('debug', name);
    core.cleanup();
  });

  it('a real checkpoint, restore and discard each leave an audit line: who, when, where, what', async () => {
    const name = uniqueName('audited');
    created.push(name);
    const before = new Date();
    const copy = await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name, ignoreStaticIp: true, ignoreStaticMac: true } });
    const after = new Date();
    // podman creates a copy's container when it restores it: that is the copy's age.
    const listed = (await listCopies(core, 'debug')).find((c) => c.name === name)!;
    const restoredAt = Date.parse(listed.restoredAt!);
    assert.ok(restoredAt >= Math.floor(before.getTime() / 1000) * 1000 && restoredAt <= after.getTime(), `${listed.restoredAt} is between ${before.toISOString()} and ${after.toISOString()}`);
    // The CLI says the same, and the copy is hours from stale.
    const { stdout } = await run('npx', ['tsx', 'src/cli/main.ts', '--ssh-config', labFiles.sshConfig, '--store', core.store.dir, '--json', 'copies', 'debug']);
    const fromCli = (JSON.parse(stdout) as { name: string; restoredAt: string; stale: boolean }[]).find((c) => c.name === name)!;
    assert.deepEqual([fromCli.restoredAt, fromCli.stale], [listed.restoredAt, false]);
    await discardCopy(core, 'debug', copy.name);
    created.pop();

    const user = (await import('node:os')).userInfo().username;
    const lines = core.store.audit.read().map(({ user: who, action, host, container, snapshot, detail }) => ({ who, action, host, container, snapshot, detail }));
    assert.deepEqual(lines.map((l) => [l.who, l.action, l.host, l.container, l.snapshot]), [
      [user, 'checkpoint', 'prod', 'demo-sleeper', meta.id],
      [user, 'push', 'debug', 'demo-sleeper', meta.id],
      [user, 'restore', 'debug', name, meta.id],
      [user, 'discard', 'debug', name, meta.id],
    ]);
    assert.equal(lines[2]!.detail, 'copy');
    const times = core.store.audit.read().map((e) => Date.parse(e.at));
    assert.deepEqual([...times].sort((a, b) => a - b), times, 'in order');
    assert.equal(statSync(core.store.audit.path).mode & 0o777, 0o600);
  });

  it('an archive replaced in the store is refused before anything is sent: no upload, no container, no temp file', async () => {
    const path = core.store.archivePath(meta);
    const original = readFileSync(path);
    // Same size, other bytes: only the hash tells them apart.
    const forged = Buffer.from(original);
    forged[forged.length >> 1] = forged[forged.length >> 1]! ^ 0xff;
    writeFileSync(path, forged);
    const name = uniqueName('forged');
    created.push(name);
    core.commands.length = 0;
    const auditLines = core.store.audit.read().length;
    try {
      await assert.rejects(
        restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name } }),
        /is not the one checkpointed: its sha256 is .* It was replaced or damaged; nothing was sent\b/,
      );
    } finally {
      writeFileSync(path, original);
    }
    const onDebug = core.commands.filter((c) => c.startsWith('debug: '));
    // The host's own scripts (its session, the cleanup) ran; the one that receives an archive never did, nor podman's restore.
    const sent = onDebug.filter((c) => /' snapdebug-receive /.test(c) || /^debug: (env \S+ )?podman container restore/.test(c));
    assert.deepEqual(sent, [], 'nothing was sent or restored on debug');
    assert.ok(!(await listCopies(core, 'debug')).some((c) => c.name === name));
    assert.deepEqual(await tempArchives('debug'), []);
    assert.equal(core.store.audit.read().length, auditLines, 'no audit line for what did not happen');
  });
});
