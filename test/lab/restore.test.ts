// push and restore, through the core, against the lab: a copy on debug with prod's memory and our
// label, names that never collide, the seed's restore in place, a missing image (refused with
// the reason, or copied over on request), and no temporary archive left on any host.
import { strict as assert } from 'node:assert';
import { checkpoint } from '../../src/core/snapshot/checkpoint';
import { discardCopy, listCopies } from '../../src/core/snapshot/copies';
import { pushToKeep } from '../../src/core/snapshot/push';
import { ImageMissingError, originLabel, restoreInPlace, restoreSnapshot } from '../../src/core/snapshot/restore';
import type { SnapshotMeta } from '../../src/core/snapshot/store';
import { criuConfigs, demoState, labCore, labSsh, removeContainer, tempArchives, topCommands, uniqueName } from './helpers';

describe('push and restore (core, lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  const created: Array<[string, string]> = [];
  let meta: SnapshotMeta;
  let counterAtSnapshot = 0;

  before(async () => {
    counterAtSnapshot = (await demoState('prod', 'demo-api')).requestCount;
    meta = await checkpoint(core, { host: 'prod', container: 'demo-api', options: { leaveRunning: true } });
  });
  after(async () => {
    for (const [host, name] of created) await removeContainer(host, name);
    core.cleanup();
  });

  it('push: the archive arrives on debug with the same sha256, 0600 in a private 0700 folder that expires', async () => {
    const pushed = await pushToKeep(core, meta, 'debug', 3600_000);
    const folder = pushed.path.slice(0, pushed.path.lastIndexOf('/'));
    try {
      assert.match(folder, /^\/var\/tmp\/snapdebug-k\.[A-Za-z0-9]{10}$/);
      const [sum, mode, folderMode, expires] = (await labSsh('debug', `sha256sum ${pushed.path} | cut -d' ' -f1; stat -c %a ${pushed.path} ${folder}; cat ${folder}/expires`)).split('\n');
      assert.equal(sum, meta.sha256);
      assert.equal(mode, '600');
      assert.equal(folderMode, '700');
      assert.ok(Math.abs(Number(expires) * 1000 - Date.parse(pushed.expiresAt)) < 1000, 'the host knows when to remove it');
    } finally {
      await labSsh('debug', `rm -rf ${folder}`);
    }
    assert.deepEqual(await tempArchives('debug'), []);
  });

  it('restore on debug: the copy runs with prod\'s memory, carries snapdebug.origin, and no archive stays behind', async () => {
    const name = uniqueName('copy');
    created.push(['debug', name]);
    const copy = await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name, ignoreStaticIp: true, ignoreStaticMac: true } });
    assert.equal(copy.name, name);
    const state = await demoState('debug', name);
    assert.ok(state.requestCount >= counterAtSnapshot, `${state.requestCount} >= ${counterAtSnapshot}`);
    assert.equal((await labSsh('debug', `podman inspect --format '{{index .Config.Labels "${originLabel}"}}' ${name}`)).trim(), meta.id);
    assert.ok((await listCopies(core, 'debug')).some((c) => c.name === name && c.snapshot === meta.id));
    assert.deepEqual(await tempArchives('debug'), []);
  });

  it('restore on a host that keeps the snapshot\'s archive: the copy is made there from it (nothing sent); a kept file that is not the snapshot\'s is not used', async () => {
    const pushed = await pushToKeep(core, meta, 'debug', 3600_000);
    const folder = pushed.path.slice(0, pushed.path.lastIndexOf('/'));
    const lines: string[] = [];
    const log = core.log;
    core.log = (line: string) => (lines.push(line), log(line));
    try {
      const name = uniqueName('from-kept');
      created.push(['debug', name]);
      const copy = await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name, ignoreStaticIp: true, ignoreStaticMac: true } });
      assert.ok(lines.includes(`debug keeps ${meta.id} at ${pushed.path}: the copy's archive was made there, nothing sent from here`), lines.join('\n'));
      assert.equal((await labSsh('debug', `podman inspect --format '{{.State.Running}} {{index .Config.Labels "${originLabel}"}}' ${copy.name}`)).trim(), `true ${meta.id}`);
      assert.ok((await demoState('debug', copy.name)).requestCount >= counterAtSnapshot, "prod's memory");
      assert.equal((await labSsh('debug', `sha256sum ${pushed.path} | cut -d' ' -f1`)).trim(), meta.sha256, 'the kept archive stays as it was');

      // The host's file is untrusted: one whose bytes are not the snapshot's is passed over, and the store sends it.
      await labSsh('debug', `printf 'not the snapshot' > ${pushed.path}`);
      lines.length = 0;
      const other = uniqueName('not-kept');
      created.push(['debug', other]);
      await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name: other, ignoreStaticIp: true, ignoreStaticMac: true } });
      assert.equal(lines.filter((l) => l.includes('keeps')).length, 0, lines.join('\n'));
      assert.equal((await labSsh('debug', `podman inspect --format '{{index .Config.Labels "${originLabel}"}}' ${other}`)).trim(), meta.id);
    } finally {
      core.log = log;
      await labSsh('debug', `rm -rf ${folder}`);
    }
    assert.deepEqual(await tempArchives('debug'), []);
  });

  it("restore from a kept archive of a container with a named volume: the copy gets its own volume, with the snapshot's content", async () => {
    const source = uniqueName('kept-vol');
    await labSsh('prod', `podman run -d --name ${source} -v ${source}-data:/data localhost/snapdebug/demo-api:latest >/dev/null && podman exec ${source} sh -c 'echo kept-from-prod > /data/note'`);
    const lines: string[] = [];
    const log = core.log;
    core.log = (line: string) => (lines.push(line), log(line));
    let folder: string | undefined;
    const name = uniqueName('kept-vol-copy');
    try {
      const withVolume = await checkpoint(core, { host: 'prod', container: source, options: { leaveRunning: true } });
      const pushed = await pushToKeep(core, withVolume, 'debug', 3600_000);
      folder = pushed.path.slice(0, pushed.path.lastIndexOf('/'));
      created.push(['debug', name]);
      await restoreSnapshot(core, { snapshot: withVolume.id, to: 'debug', options: { name, ignoreStaticIp: true, ignoreStaticMac: true } });
      assert.ok(lines.includes(`debug keeps ${withVolume.id} at ${pushed.path}: the copy's archive was made there, nothing sent from here`), lines.join('\n'));
      assert.equal((await labSsh('debug', `podman inspect --format '{{range .Mounts}}{{.Name}}{{end}}' ${name}`)).trim(), `${name}-${source}-data`);
      assert.equal(await labSsh('debug', `podman exec ${name} cat /data/note`), 'kept-from-prod');
    } finally {
      core.log = log;
      if (folder) await labSsh('debug', `rm -rf ${folder}`);
      await removeContainer('debug', name);
      await labSsh('debug', `podman volume rm -f ${name}-${source}-data >/dev/null 2>&1 || true`);
      await removeContainer('prod', source);
      await labSsh('prod', `podman volume rm -f ${source}-data >/dev/null 2>&1 || true`);
    }
    assert.deepEqual(await tempArchives('debug'), []);
  });

  it('a snapshot taken with its TCP connections: each copy restored from the store gets them closed; --tcp-established is refused for a copy', async () => {
    const withTcp = await checkpoint(core, { host: 'prod', container: 'demo-api', options: { leaveRunning: true, tcpEstablished: true } });
    await assert.rejects(
      () => restoreSnapshot(core, { snapshot: withTcp.id, to: 'debug', options: { name: uniqueName('tcp'), tcpEstablished: true } }),
      /only under the original name/,
    );
    const names = [uniqueName('tcp'), uniqueName('tcp')];
    for (const name of names) {
      created.push(['debug', name]);
      const copy = await restoreSnapshot(core, { snapshot: withTcp.id, to: 'debug', options: { name, ignoreStaticIp: true, ignoreStaticMac: true } });
      assert.ok((await demoState('debug', copy.name)).requestCount >= 0, 'the copy serves');
      const annotation = (await labSsh('debug', `podman inspect --format '{{index .Config.Annotations "org.criu.config"}}' ${name}`)).trim();
      assert.match(annotation, /^\/var\/tmp\/snapdebug-k\.[A-Za-z0-9]{10}\/criu\.conf$/);
    }
    const ofOurs = async () => (await criuConfigs('debug')).map((line) => line.split(' ')[1]).filter((copy) => names.includes(copy!));
    assert.deepEqual((await ofOurs()).sort(), [...names].sort(), 'each copy has its own kept folder');
    for (const name of names) await discardCopy(core, 'debug', name);
    assert.deepEqual(await ofOurs(), [], 'discard removes them');
    assert.deepEqual(await tempArchives('debug'), []);
    core.store.remove(withTcp.id);
  });

  it('a restore that fails (its port taken) leaves no half-made container behind', async () => {
    const [first, second] = [uniqueName('port'), uniqueName('port')];
    created.push(['debug', first], ['debug', second]);
    await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name: first, publish: ['127.0.0.1:18090:8080'], ignoreStaticIp: true, ignoreStaticMac: true } });
    await assert.rejects(
      () => restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name: second, publish: ['127.0.0.1:18090:8080'], ignoreStaticIp: true, ignoreStaticMac: true } }),
      /address already in use/,
    );
    assert.equal((await labSsh('debug', `podman container exists ${second} && echo left || echo gone`)).trim(), 'gone');
    assert.deepEqual(await tempArchives('debug'), []);
  });

  it('a taken name: with no name given the copy becomes NAME-copyN; a given taken name is refused', async () => {
    const base = uniqueName('twin');
    created.push(['debug', base], ['debug', `${base}-copy1`]);
    await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name: base, ignoreStaticIp: true, ignoreStaticMac: true } });
    await assert.rejects(
      () => restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name: base, ignoreStaticIp: true } }),
      new RegExp(`A container named ${base} already exists on debug`),
    );
    // With no name, the snapshot's own name (demo-api) is wanted; a copy of the same name lands on -copyN.
    const first = await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { ignoreStaticIp: true, ignoreStaticMac: true } });
    created.push(['debug', first.name]);
    const second = await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { ignoreStaticIp: true, ignoreStaticMac: true } });
    created.push(['debug', second.name]);
    assert.notEqual(first.name, second.name);
    assert.match(second.name, /^demo-api(-copy\d+)?$/);
    assert.match(`${first.name} ${second.name}`, /-copy\d+/);
  });

  it('discard refuses a container that is not a copy, and removes one that is', async () => {
    await assert.rejects(() => discardCopy(core, 'prod', 'demo-api'), /not a copy restored by snapdebug/);
    assert.equal((await labSsh('prod', "podman inspect --format '{{.State.Status}}' demo-api")).trim(), 'running');
    const name = uniqueName('discard');
    await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name, ignoreStaticIp: true, ignoreStaticMac: true } });
    await discardCopy(core, 'debug', name);
    assert.equal((await labSsh('debug', `podman container exists ${name} && echo yes || echo no`)).trim(), 'no');
  });

  it('the seed\'s restore in place: checkpoint and stop, then restore --keep on the same host, same processes', async () => {
    const name = uniqueName('inplace');
    created.push(['prod', name]);
    await labSsh('prod', `podman run -d --name ${name} localhost/snapdebug/node:20 bash -c 'sleep 600 & wait'`);
    const before = await topCommands('prod', name);
    await checkpoint(core, { host: 'prod', container: name, options: { leaveRunning: false } });
    assert.match(await labSsh('prod', `podman inspect --format '{{.State.Status}} {{.State.Checkpointed}}' ${name}`), /exited true/);
    const restored = await restoreInPlace(core, { host: 'prod', container: name, options: { keep: true } });
    assert.ok(restored.pid > 1);
    assert.deepEqual(await topCommands('prod', name), before);
    await assert.rejects(() => restoreInPlace(core, { host: 'prod', container: name, options: {} }), /already running/);
  });

  describe('an image missing on the target', () => {
    const image = `localhost/snapdebug/only-on-prod-${Date.now().toString(36)}`;
    const source = uniqueName('lonely');
    let lonely: SnapshotMeta;
    before(async () => {
      // An image only prod has: committed from a container there.
      await labSsh('prod', `podman run --name ${source}-base localhost/snapdebug/busybox:latest sh -c 'echo built > /marker' && podman commit -q ${source}-base ${image} >/dev/null && podman rm ${source}-base >/dev/null`);
      await labSsh('prod', `podman run -d --name ${source} ${image} sh -c 'while :; do sleep 1; done'`);
      lonely = await checkpoint(core, { host: 'prod', container: source, options: { leaveRunning: true } });
    });
    after(async () => {
      await removeContainer('prod', source);
      await removeContainer('debug', source);
      await labSsh('prod', `podman rmi -f ${image} >/dev/null 2>&1 || true`);
      await labSsh('debug', `podman rmi -f ${image} >/dev/null 2>&1 || true`);
    });

    it('is refused before anything is sent, saying which image and how to fix it', async () => {
      await assert.rejects(
        () => restoreSnapshot(core, { snapshot: lonely.id, to: 'debug', options: {} }),
        (error: unknown) => error instanceof ImageMissingError && error.message.includes(image) && error.fix?.options?.some((o) => o.name === 'transferImage') === true,
      );
      assert.deepEqual(await tempArchives('debug'), []);
    });

    it('with transferImage, the image streams prod → debug and the restore succeeds', async () => {
      const copy = await restoreSnapshot(core, { snapshot: lonely.id, to: 'debug', options: {}, transferImage: true });
      assert.equal(copy.name, source);
      assert.equal((await labSsh('debug', `podman exec ${source} cat /marker`)).trim(), 'built');
      assert.deepEqual(await tempArchives('debug'), []);
    });
  });
});
