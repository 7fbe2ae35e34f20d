// The copies' allowlist against real podman: a container with an added capability, one with a
// bind mount the debug host lacks, and an archive in the store forged to carry an OCI hook are
// each refused with their sentence before anything is restored (no container, no temporary
// archive, the hook never ran); with the bind mount's folder present on debug, the copy runs.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { snapshotAndDebug } from '../../src/core/debug/session';
import { TarParser } from '../../src/core/archive/tarParser';
import { checkpoint } from '../../src/core/snapshot/checkpoint';
import { restoreSnapshot } from '../../src/core/snapshot/restore';
import type { SnapshotMeta } from '../../src/core/snapshot/store';
import { entry, padded } from '../unit/core/tarBuild';
import { labCore, labSsh, removeContainer, tempArchives, uniqueName } from './helpers';

const image = 'localhost/snapdebug/demo-api:latest';

async function containers(host: string, name: string): Promise<string[]> {
  return (await labSsh(host, `podman ps --all --format '{{.Names}}'`)).split('\n').filter((n) => n.startsWith(name));
}

/** The archive of a snapshot with spec.dump replaced, as a forger with access to the store would. */
function forged(archivePath: string, editSpec: (spec: Record<string, unknown>) => void): Buffer {
  const tar = execFileSync('zstd', ['-dc', archivePath], { maxBuffer: 512 * 1024 * 1024 });
  const out: Buffer[] = [];
  let header: Buffer[] = [];
  let name = '';
  for (const event of new TarParser(() => true, { maxKeptBytes: 256 * 1024 * 1024 }).push(tar)) {
    if (event.kind === 'entry') {
      header = event.header;
      name = event.entry.name;
    }
    if (event.kind !== 'kept') continue;
    if (name !== 'spec.dump') out.push(...header, padded(event.contents));
    else {
      const spec = JSON.parse(event.contents.toString()) as Record<string, unknown>;
      editSpec(spec);
      out.push(entry('spec.dump', JSON.stringify(spec), { mode: 0o600 }));
    }
  }
  return Buffer.concat([...out, Buffer.alloc(1024)]);
}

// A refusal's sentence comes first; the workflow then says its phase and what it cleaned (remote/failure.ts).
describe('copy policy (lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  const created: Array<[string, string]> = [];
  after(async () => {
    for (const [host, name] of created) await removeContainer(host, name);
    core.cleanup();
  });

  it('a container with an added capability: Snapshot & Debug says so, restores nothing, and production keeps running', async () => {
    const name = uniqueName('caps');
    created.push(['prod', name]);
    await labSsh('prod', `podman run -d --name ${name} --cap-add SYS_PTRACE ${image} >/dev/null`);
    const pid = (await labSsh('prod', `podman inspect -f '{{.State.Pid}}' ${name}`)).trim();
    await assert.rejects(
      snapshotAndDebug(core, { host: 'prod', container: name, to: 'debug' }),
      (error: Error) => error.message.startsWith("spec.dump gives the container CAP_SYS_PTRACE, beyond podman's default capabilities: the copy is refused, and nothing was restored"),
    );
    assert.deepEqual(await containers('debug', name), []);
    assert.deepEqual(await tempArchives('debug'), []);
    assert.equal((await labSsh('prod', `podman inspect -f '{{.State.Running}} {{.State.Pid}}' ${name}`)).trim(), `true ${pid}`);
  });

  it('a bind mount the debug host lacks is refused before restoring; with the folder there, the copy runs with it', async () => {
    const name = uniqueName('bind');
    const folder = `/srv/${name}`;
    created.push(['prod', name]);
    await labSsh('prod', `mkdir -p ${folder} && echo prod > ${folder}/note && podman run -d --name ${name} -v ${folder}:/config:ro ${image} >/dev/null`);
    const meta = await checkpoint(core, { host: 'prod', container: name, options: { leaveRunning: true } });
    assert.deepEqual(meta.source.mounts, [{ type: 'bind', source: folder, destination: '/config', rw: false }]);
    const copy = uniqueName('bind-copy');
    created.push(['debug', copy]);
    await assert.rejects(
      restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name: copy, ignoreStaticIp: true, ignoreStaticMac: true } }),
      (error: Error) => error.message.startsWith(`The debug host has no ${folder}, which the copy would mount at /config: the copy is refused, and nothing was restored`),
    );
    assert.deepEqual(await containers('debug', copy), []);
    assert.deepEqual(await tempArchives('debug'), []);
    await labSsh('debug', `mkdir -p ${folder} && echo debug > ${folder}/note`);
    try {
      await restoreSnapshot(core, { snapshot: meta.id, to: 'debug', options: { name: copy, ignoreStaticIp: true, ignoreStaticMac: true } });
      assert.equal((await labSsh('debug', `podman exec ${copy} cat /config/note`)).trim(), 'debug');
    } finally {
      await removeContainer('debug', copy);
      await labSsh('debug', `rm -rf ${folder}`);
      await labSsh('prod', `podman rm -f -t 0 ${name} >/dev/null; rm -rf ${folder}`);
    }
  });

  it('an archive in the store forged to carry an OCI hook is refused, and the hook never runs', async () => {
    const meta = await checkpoint(core, { host: 'prod', container: 'demo-api', options: { leaveRunning: true } });
    const witness = `/tmp/${uniqueName('hook-ran')}`;
    const tar = forged(core.store.archivePath(meta), (spec) => (spec['hooks'] = { createRuntime: [{ path: '/usr/bin/touch', args: ['touch', witness] }] }));
    const id = core.store.newId('forged');
    writeFileSync(core.store.partPath(id), tar, { mode: 0o600 });
    const forgedMeta: SnapshotMeta = { ...meta, id, compression: 'none', archive: core.store.archiveName(id, 'none'), size: tar.length, sha256: createHash('sha256').update(tar).digest('hex') };
    core.store.commit(core.store.partPath(id), forgedMeta);
    assert.equal(readFileSync(core.store.archivePath(forgedMeta)).length, tar.length);
    const copy = uniqueName('forged');
    created.push(['debug', copy]);
    await assert.rejects(
      restoreSnapshot(core, { snapshot: id, to: 'debug', options: { name: copy, ignoreStaticIp: true, ignoreStaticMac: true } }),
      (error: Error) => error.message.startsWith('spec.dump asks for the OCI hook "/usr/bin/touch" (createRuntime), which would run as root on the debug host: the copy is refused, and nothing was restored'),
    );
    assert.deepEqual(await containers('debug', copy), []);
    assert.deepEqual(await tempArchives('debug'), []);
    assert.equal((await labSsh('debug', `test -e ${witness} && echo ran || echo never`)).trim(), 'never');
  });
});
