// podman's JSON from each podman the lab runs (test/fixtures/podman-VERSION, captured from the lab's
// hosts: legacy 4.3.1, prod 5.4.2, edge 5.8.6), parsed by the same builders and schemas the product
// uses. Where the versions answer differently (podman 4.3's Entrypoint is a string, its `ps`
// template State is "Up 2 minutes ago" while its JSON State is "running"), the parse still gives
// the same facts.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspectArchiveFile } from '../../../src/core/archive/checkpointArchive';
import { podman, parseTop } from '../../../src/core/podman/commands';
import { snapshotSource } from '../../../src/core/snapshot/checkpoint';
import { fixture } from '../helpers';

const versions = [
  { version: '4.3.1', runtime: 'runc', cgroups: 'v1', host: 'legacy', entrypoint: '' },
  { version: '5.4.2', runtime: 'runc', cgroups: 'v1', host: 'prod', entrypoint: undefined },
  { version: '5.8.6', runtime: 'crun', cgroups: 'v2', host: 'edge', entrypoint: undefined },
] as const;

const read = (version: string, name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/podman-${version}/${name}`, import.meta.url)), 'utf8');

for (const v of versions) {
  describe(`podman ${v.version} JSON (fixtures from the lab's ${v.host})`, () => {
    it('version: the client version', () => {
      assert.equal(podman.version().parse(read(v.version, 'version.json')).Client.Version, v.version);
    });

    it('info: version, runtime, cgroup version, rootful, store', () => {
      const info = podman.info().parse(read(v.version, 'info.json'));
      assert.equal(info.version.Version, v.version);
      assert.equal(info.host.hostname, v.host);
      assert.equal(info.host.ociRuntime.name, v.runtime);
      assert.match(info.host.ociRuntime.version ?? '', new RegExp(`^${v.runtime} version \\d+\\.\\d+`));
      assert.equal(info.host.cgroupVersion, v.cgroups);
      assert.equal(info.host.cgroupManager, 'cgroupfs');
      assert.equal(info.host.security.rootless, false);
      assert.equal(info.store.graphRoot, '/var/lib/containers/storage');
    });

    it('ps: the demo containers, running, with ids and PIDs', () => {
      const list = podman.ps().parse(read(v.version, 'ps.json'));
      const api = list.find((c) => c.Names.includes('demo-api'));
      assert.ok(api, 'demo-api is listed');
      assert.equal(api.State, 'running');
      assert.match(api.Id, /^[0-9a-f]{64}$/);
      assert.ok((api.Pid ?? 0) > 1);
      assert.deepEqual(api.Command, ['node', '/app/server.js']);
      assert.equal(list.find((c) => c.Names.includes('demo-sleeper'))?.State, 'running');
    });

    it('inspect: state, image, network and the runtime a snapshot records', () => {
      const [entry] = podman.inspect(['demo-api']).parse(read(v.version, 'inspect-demo-api.json'));
      assert.equal(entry!.Name, 'demo-api');
      assert.equal(entry!.State.Status, 'running');
      assert.ok(entry!.State.Pid > 1);
      assert.equal(entry!.ImageName, 'localhost/snapdebug/demo-api:latest');
      assert.deepEqual(entry!.Config.Cmd, ['node', '/app/server.js']);
      assert.equal(entry!.Config.Entrypoint ?? undefined, v.entrypoint);
      assert.match(entry!.NetworkSettings?.Networks?.podman?.IPAddress ?? '', /^10\.88\.\d+\.\d+$/);
      assert.equal(entry!.OCIRuntime, v.runtime);
      assert.equal(snapshotSource(v.host, entry!).runtime, v.runtime);
    });

    it('images: the lab images by name, with sizes', () => {
      const images = podman.images().parse(read(v.version, 'images.json'));
      const names = images.flatMap((i) => i.Names);
      for (const name of ['localhost/snapdebug/demo-api:latest', 'localhost/snapdebug/node:20', 'localhost/snapdebug/native:latest']) assert.ok(names.includes(name), name);
      assert.ok(images.every((i) => (i.Size ?? 0) > 0));
    });

    it('top: the seed\'s sleeper and its sleep 600 child', () => {
      const processes = parseTop(read(v.version, 'top-demo-sleeper.txt'));
      assert.equal(processes[0]!.pid, 1);
      assert.ok(processes.some((p) => p.command === 'sleep 600' && p.ppid === 1));
    });
  });
}

describe('checkpoint archive facts', () => {
  it('the runtime that took the checkpoint (config.dump "runtime"), which podman restores it with', async () => {
    assert.equal((await inspectArchiveFile(fixture('demo-api-checkpoint-head.tar.zst'))).runtime, 'runc');
  });
});
