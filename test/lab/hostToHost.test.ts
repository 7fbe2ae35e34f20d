// Host to host on the lab link, the default: Snapshot & Debug prod → debug sends the archive
// straight between the hosts (this process reads far fewer bytes than the archive holds), the copy
// runs with its labels, the one-time key and its authorized_keys line are gone afterwards, podman's
// zstd archive is what crosses the hosts' link, and the store receives the verified snapshot after
// the debugger is attached, its progress shown. A migration goes host to host too, the store
// getting its snapshot only when it is kept. A copy with named volumes goes host to host as well,
// its volumes its own. Asked for, the archive goes through this machine and one line says why.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { snapshotAndDebug } from '../../src/core/debug/session';
import { checkpointToHost } from '../../src/core/snapshot/checkpointToHost';
import { migrate } from '../../src/core/snapshot/migrate';
import type { ProgressEvent } from '../../src/core/util/progress';
import { labCore, labSsh, removeContainer, tempArchives, uniqueName, waitFor } from './helpers';

/** Bytes this process has read through read() so far (sockets included): /proc/self/io rchar. */
function bytesRead(): number {
  return Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

const authorizedKeysClean = async () => (await labSsh('prod', 'grep -c snapdebug-fetch- /root/.ssh/authorized_keys || true')).trim() === '0';

describe('host to host', function () {
  this.timeout(180_000);
  // 32 MiB of random heap: an archive zstd cannot shrink, so "far fewer bytes read here" means something.
  const ballast = uniqueName('h2h-ballast');
  before(async () => {
    await labSsh('prod', `podman run -d --name ${ballast} -e BALLAST_MB=32 localhost/snapdebug/demo-api:latest >/dev/null`);
    await waitFor(async () => (await labSsh('prod', `podman logs ${ballast} 2>&1`)).includes('listening'), 60_000, `${ballast} serving`);
  });
  after(() => removeContainer('prod', ballast));

  it('Snapshot & Debug prod → debug: the archive goes host to host, the copy runs labelled, no key is left', async () => {
    const core = labCore();
    const lines: string[] = [];
    const log = core.log;
    core.log = (line: string) => (lines.push(line), log(line));
    let copyName: string | undefined;
    try {
      const before = bytesRead();
      const session = await snapshotAndDebug(core, { host: 'prod', container: ballast, to: 'debug' });
      const readDuringDebug = bytesRead() - before;
      copyName = session.copy.name;
      assert.ok(lines.some((l) => /debug reaches prod at 10\.77\.0\.11: the archive goes host to host/.test(l)), lines.join('\n'));
      assert.ok(session.storing, 'the store receives the snapshot afterwards');
      // podman's zstd crossed the hosts' link (both hosts have zstd), unpacked on debug as it arrived.
      assert.equal(session.snapshot.compression, 'zstd');
      assert.ok(session.snapshot.size > 32 * 1024 * 1024, `archive of ${session.snapshot.size} bytes`);
      assert.ok(readDuringDebug < session.snapshot.size / 4, `this process read ${readDuringDebug} bytes for an archive of ${session.snapshot.size}`);
      assert.match(await labSsh('debug', `podman inspect --format '{{.State.Running}} {{index .Config.Labels "snapdebug.origin"}}' ${copyName}`), /^true \S+/);
      const storeProgress: ProgressEvent[] = [];
      const stored = await session.storing!.follow({ progress: (e) => storeProgress.push(e) });
      assert.equal(stored.sha256, session.snapshot.sha256);
      // What a face shows of it: bytes against the archive's size, until all of it.
      assert.ok(storeProgress.length > 0 && storeProgress.every((e) => e.phase === 'pull' && e.total === session.snapshot.size), JSON.stringify(storeProgress.slice(0, 3)));
      assert.equal(storeProgress.at(-1)!.bytes, session.snapshot.size);
      assert.equal(core.store.get(stored.id).size, session.snapshot.size);
      await session.close();
      assert.ok(await authorizedKeysClean(), "prod's authorized_keys holds no one-time key");
      assert.deepEqual(await tempArchives('prod'), []);
      assert.deepEqual(await tempArchives('debug'), []);
    } finally {
      if (copyName) await removeContainer('debug', copyName);
      core.cleanup();
    }
  });

  it('CRIU failing on prod while debug already waits to fetch: CRIU\'s error, production runs on, nothing left on either host', async () => {
    const core = labCore();
    const pidBefore = (await labSsh('prod', `podman inspect --format '{{.State.Pid}}' ${ballast}`)).trim();
    // CRIU on prod refuses every dump: podman fails after debug was granted its key and began to follow.
    await labSsh('prod', `printf '#!/bin/sh\\n[ "$CRTOOLS_SCRIPT_ACTION" = pre-dump ] && exit 1\\nexit 0\\n' > /usr/local/sbin/snapdebug-fault-h2h && chmod 755 /usr/local/sbin/snapdebug-fault-h2h && echo 'action-script /usr/local/sbin/snapdebug-fault-h2h' >> /etc/criu/runc.conf`);
    try {
      await assert.rejects(snapshotAndDebug(core, { host: 'prod', container: ballast, to: 'debug' }), (error: Error) => /^CRIU failed on prod during podman container checkpoint/.test(error.message) && !/config\.dump|could not fetch|does not match/.test(error.message));
    } finally {
      await labSsh('prod', "sed -i '/snapdebug-fault-h2h/d' /etc/criu/runc.conf; rm -f /usr/local/sbin/snapdebug-fault-h2h");
      core.cleanup();
    }
    assert.equal((await labSsh('prod', `podman inspect --format '{{.State.Running}} {{.State.Pid}}' ${ballast}`)).trim(), `true ${pidBefore}`);
    assert.ok(await authorizedKeysClean(), "prod's authorized_keys holds no one-time key");
    assert.deepEqual([...(await tempArchives('prod')), ...(await tempArchives('debug'))], []);
    // Neither the source's serve (tail following the archive) nor debug's fetch (ssh with the one-time key) lives on.
    assert.equal((await labSsh('prod', "pgrep -f 'snapdebug-s[.].*/serve' || true")).trim(), '');
    assert.equal((await labSsh('debug', "pgrep -f 'snapdebug-s[.].*/fetch_key' || true")).trim(), '');
  });

  it('checkpoint --push-to debug: host to host, kept on debug as podman wrote it (0600, private, expiring) and restorable there; the store has it; production runs on', async () => {
    const core = labCore();
    const lines: string[] = [];
    core.log = (line: string) => void lines.push(line);
    const pidBefore = (await labSsh('prod', `podman inspect --format '{{.State.Pid}}' ${ballast}`)).trim();
    const restored = uniqueName('kept');
    let folder: string | undefined;
    try {
      const { meta, kept, route } = await checkpointToHost(core, { host: 'prod', container: ballast, options: { leaveRunning: true }, to: 'debug', keepForMs: 3600_000 });
      assert.deepEqual(route, { hostToHost: true });
      assert.ok(lines.some((l) => /debug reaches prod at 10\.77\.0\.11: the archive goes host to host/.test(l)), lines.join('\n'));
      folder = kept.path.slice(0, kept.path.lastIndexOf('/'));
      assert.match(kept.path, /^\/var\/tmp\/snapdebug-k\.[A-Za-z0-9]{10}\/.+\.tar\.zst$/);
      assert.equal(core.store.get(meta.id).sha256, meta.sha256);
      const [sum, mode, folderMode, expires] = (await labSsh('debug', `sha256sum ${kept.path} | cut -d' ' -f1; stat -c %a ${kept.path} ${folder}; cat ${folder}/expires`)).split('\n');
      assert.equal(sum, meta.sha256, 'kept exactly as the store holds it');
      assert.equal(kept.sha256, meta.sha256);
      assert.equal(mode, '600');
      assert.equal(folderMode, '700');
      assert.ok(Math.abs(Number(expires) * 1000 - Date.parse(kept.expiresAt)) < 1000, 'the host knows when to remove it');
      assert.equal((await labSsh('prod', `podman inspect --format '{{.State.Running}} {{.State.Pid}}' ${ballast}`)).trim(), `true ${pidBefore}`);
      assert.ok(await authorizedKeysClean(), "prod's authorized_keys holds no one-time key");
      assert.deepEqual(await tempArchives('prod'), []);
      assert.deepEqual(await tempArchives('debug'), [folder]);
      // What the command tells the user to run there restores it.
      await labSsh('debug', `podman container restore -i ${kept.path} --name ${restored} >/dev/null`);
      assert.equal((await labSsh('debug', `podman inspect --format '{{.State.Running}}' ${restored}`)).trim(), 'true');
    } finally {
      await removeContainer('debug', restored);
      if (folder) await labSsh('debug', `rm -rf ${folder}`);
      core.cleanup();
    }
  });

  it('checkpoint --push-to debug --through-here: sent from the store, one line says why, kept with the same sha256', async () => {
    const core = labCore();
    const lines: string[] = [];
    core.log = (line: string) => void lines.push(line);
    let folder: string | undefined;
    try {
      const { meta, kept, route } = await checkpointToHost(core, { host: 'prod', container: 'demo-api', options: { leaveRunning: true }, to: 'debug', keepForMs: 3600_000, throughHere: true });
      assert.deepEqual(route, { hostToHost: false, reason: 'asked for (through this machine)' });
      assert.equal(lines.filter((l) => l.startsWith('The archive goes through this machine: asked for')).length, 1, lines.join('\n'));
      folder = kept.path.slice(0, kept.path.lastIndexOf('/'));
      assert.equal((await labSsh('debug', `sha256sum ${kept.path} | cut -d' ' -f1`)).trim(), meta.sha256);
      assert.deepEqual(await tempArchives('prod'), []);
      assert.deepEqual(await tempArchives('debug'), [folder]);
    } finally {
      if (folder) await labSsh('debug', `rm -rf ${folder}`);
      core.cleanup();
    }
  });

  it('asked to, the archive goes through this machine and one line says why', async () => {
    const core = labCore();
    const lines: string[] = [];
    core.log = (line: string) => void lines.push(line);
    let copyName: string | undefined;
    try {
      const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-api', to: 'debug', throughHere: true });
      copyName = session.copy.name;
      assert.equal(session.storing, undefined);
      assert.equal(lines.filter((l) => l.startsWith('The archive goes through this machine: asked for')).length, 1, lines.join('\n'));
      assert.ok(core.store.get(session.snapshot.id), 'the store has it before the copy runs');
      await session.close();
    } finally {
      if (copyName) await removeContainer('debug', copyName);
      core.cleanup();
    }
  });

  it("a copy with named volumes goes host to host too: its own volumes, holding production's content, reached through links in the head", async () => {
    const name = uniqueName('h2h-vol');
    await labSsh('prod', `podman run -d --name ${name} -v ${name}-data:/data -v ${name}-logs:/logs localhost/snapdebug/demo-api:latest >/dev/null`);
    await labSsh('prod', `podman exec ${name} sh -c 'echo data-from-prod > /data/note; echo logs-from-prod > /logs/note'`);
    const core = labCore();
    const lines: string[] = [];
    core.log = (line: string) => void lines.push(line);
    let copyName: string | undefined;
    try {
      const session = await snapshotAndDebug(core, { host: 'prod', container: name, to: 'debug' });
      copyName = session.copy.name;
      assert.ok(session.storing, 'host to host: the store receives the snapshot afterwards');
      assert.ok(lines.some((l) => /^debug reaches prod at .*: the archive goes host to host\.$/.test(l)), lines.join('\n'));
      assert.ok(!lines.some((l) => l.startsWith('The archive goes through this machine')), lines.join('\n'));
      const mounts = (await labSsh('debug', `podman inspect --format '{{range .Mounts}}{{.Name}} {{end}}' ${copyName}`)).trim().split(' ').sort();
      assert.deepEqual(mounts, [`${copyName}-${name}-data`, `${copyName}-${name}-logs`]);
      assert.equal(await labSsh('debug', `podman exec ${copyName} cat /data/note /logs/note`), 'data-from-prod\nlogs-from-prod');
      // Production's volumes are untouched on prod, and none of theirs exists on debug.
      const onDebug = (await labSsh('debug', "podman volume ls --format '{{.Name}}'")).split('\n');
      assert.ok(!onDebug.includes(`${name}-data`) && !onDebug.includes(`${name}-logs`), onDebug.join(' '));
      await session.close();
      await session.storing!.follow({});
    } finally {
      if (copyName) await removeContainer('debug', copyName);
      await labSsh('debug', `podman volume rm -f ${copyName ?? 'none'}-${name}-data ${copyName ?? 'none'}-${name}-logs >/dev/null 2>&1 || true`);
      await removeContainer('prod', name);
      await labSsh('prod', `podman volume rm -f ${name}-data ${name}-logs >/dev/null 2>&1 || true`);
      core.cleanup();
    }
  });

  it('migrate prod → debug goes host to host; kept, the snapshot reaches the store afterwards', async () => {
    const name = uniqueName('h2h-mover');
    await labSsh('prod', `podman run -d --name ${name} localhost/snapdebug/node:20 bash -c 'sleep 600 & wait'`);
    const core = labCore();
    try {
      const result = await migrate(core, { from: 'prod', container: name, to: 'debug', keepSnapshot: true });
      assert.deepEqual(result.route, { hostToHost: true });
      assert.equal(result.stored, true);
      assert.match(await labSsh('debug', `podman inspect --format '{{.State.Status}}' ${name}`), /^running/);
      assert.match(await labSsh('prod', `podman inspect --format '{{.State.Status}} {{.State.Checkpointed}}' ${name}`), /^exited true/);
      assert.deepEqual(result.targetTop.map((p) => p.command).sort(), result.sourceTop.map((p) => p.command).sort());
      // The store's copy came from prod's archive afterwards, verified.
      const stored = core.store.get(result.snapshot.id);
      assert.equal(stored.sha256, result.snapshot.sha256);
      const audit = core.store.audit.read().filter((e) => e.container === name);
      assert.deepEqual(audit.map((e) => [e.action, e.host]), [['checkpoint', 'prod'], ['push', 'debug'], ['restore', 'debug']]);
      assert.match(audit[1]!.detail!, /fetched from prod host to host/);
      assert.ok(await authorizedKeysClean(), "prod's authorized_keys holds no one-time key");
      assert.deepEqual([...(await tempArchives('prod')), ...(await tempArchives('debug'))], []);
    } finally {
      await removeContainer('debug', name);
      await removeContainer('prod', name);
      core.cleanup();
    }
  });
});
