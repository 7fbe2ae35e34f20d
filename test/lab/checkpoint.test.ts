// checkpoint and pull, through the core, against the lab: production keeps running with the same
// PID, the store holds a verified archive with its metadata and tight permissions, no temporary
// archive stays on the host, and a cancel in the middle leaves nothing anywhere.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { inspectArchiveFile } from '../../src/core/archive/checkpointArchive';
import { checkpoint } from '../../src/core/snapshot/checkpoint';
import { restoreOptionInfo } from '../../src/core/podman/options';
import { isAbortError } from '../../src/core/util/abort';
import { containerPid, demoState, labCore, labSsh, removeContainer, tempArchives, uniqueName, waitFor } from './helpers';

async function checkpointImagesLeft(host: string, container: string): Promise<string> {
  return (await labSsh(host, `ls $(podman inspect --format '{{.StaticDir}}' ${container}) | grep -E '^(checkpoint|devshm-checkpoint.tar)$' || true`)).trim();
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('checkpoint (core, lab)', function () {
  this.timeout(180_000);
  const core = labCore();
  after(() => core.cleanup());

  for (const transport of ['stream', 'file'] as const) {
    it(`leave-running checkpoint of demo-api over the ${transport} transport: prod keeps its PID, the store holds a verified archive`, async () => {
      core.settings.transport = transport;
      const pidBefore = await containerPid('prod', 'demo-api');
      const before = await demoState('prod', 'demo-api');
      const meta = await checkpoint(core, { host: 'prod', container: 'demo-api', options: { leaveRunning: true } });

      assert.equal(await containerPid('prod', 'demo-api'), pidBefore);
      assert.equal(meta.sourceLeftRunning, true);
      assert.ok((await demoState('prod', 'demo-api')).requestCount > before.requestCount, 'prod still serves');
      const archive = core.store.archivePath(meta);
      assert.equal(sha256File(archive), meta.sha256);
      assert.equal(statSync(archive).size, meta.size);
      assert.equal(statSync(archive).mode & 0o777, 0o600);
      assert.equal(statSync(core.store.dir).mode & 0o777, 0o700);
      assert.ok(meta.criu && meta.criu.frozenTimeUs > 0, 'CRIU frozen time read from the archive');
      assert.equal(meta.source.image, 'localhost/snapdebug/demo-api:latest');
      assert.equal(meta.podmanVersion, '5.4.2');
      assert.equal(meta.criuVersion, '4.2.1');
      const facts = await inspectArchiveFile(archive);
      assert.equal(facts.containerName, 'demo-api');
      // The archive is exactly podman's: a whole zstd stream, nothing (such as the name podman
      // prints when done) glued to its end.
      execFileSync('zstd', ['-tq', archive]);
      assert.deepEqual(await tempArchives('prod'), []);
      assert.deepEqual(core.store.partFiles(), []);
      // podman keeps the checkpoint images (process memory) in the container's folder: not after us.
      assert.equal(await checkpointImagesLeft('prod', 'demo-api'), '');
    });
  }

  it('honours the compression option: gzip and none archives are what they say', async () => {
    core.settings.transport = 'stream';
    for (const compress of ['gzip', 'none'] as const) {
      const meta = await checkpoint(core, { host: 'prod', container: 'demo-api', options: { leaveRunning: true, compress } });
      assert.equal(meta.compression, compress);
      assert.equal((await inspectArchiveFile(core.store.archivePath(meta))).compression, compress);
      assert.ok(core.store.archivePath(meta).endsWith(compress === 'gzip' ? '.tar.gz' : '.tar'));
    }
  });

  it('refuses an option the host\'s podman lacks, with one sentence naming the host, before touching the container', async () => {
    const host = core.hosts.get('prod');
    await host.capabilities();
    const before = core.commands.length;
    await assert.rejects(
      () => core.hosts.get('prod').requireFlags('restore', [restoreOptionInfo.tcpClose]),
      /podman 5\.4\.2 on prod has no restore option “TCP close” \(podman 5\.7\+\)/,
    );
    assert.equal(core.commands.length, before, 'no command was sent to refuse it');
  });

  it('a checkpoint of a container that does not exist says so and leaves no .part', async () => {
    await assert.rejects(() => checkpoint(core, { host: 'prod', container: 'no-such-container', options: { leaveRunning: true } }), /no such container/i);
    assert.deepEqual(core.store.partFiles(), []);
  });

  describe('cancel in the middle of a pull', () => {
    const big = uniqueName('big');
    before(async function () {
      this.timeout(120_000);
      // 400 MiB of random heap: long enough a transfer to cancel in the middle.
      await labSsh('prod', `podman run -d --name ${big} -e BALLAST_MB=400 localhost/snapdebug/demo-api:latest`);
      await waitFor(async () => (await demoState('prod', big).catch(() => ({ ballastMb: 0 })) as { ballastMb?: number }).ballastMb === 400, 90_000, 'the ballast');
    });
    after(() => removeContainer('prod', big));

    for (const transport of ['stream', 'file'] as const) {
      it(`${transport}: no .part left, no temp archive on prod, prod's container still running with the same PID`, async () => {
        core.settings.transport = transport;
        const pid = await containerPid('prod', big);
        const controller = new AbortController();
        let seen = 0;
        const work = checkpoint(core, { host: 'prod', container: big, options: { leaveRunning: true, compress: 'none' } }, {
          signal: controller.signal,
          progress: (event) => {
            if (event.phase === 'pull' && (event.bytes ?? 0) > 32 * 1024 * 1024 && seen++ === 0) controller.abort();
          },
        });
        await assert.rejects(work, (error) => isAbortError(error));
        assert.ok(seen > 0, 'the cancel came during the pull');
        assert.deepEqual(readdirSync(core.store.dir).filter((f) => f.includes(big)), [], 'nothing of it in the store');
        await waitFor(async () => (await tempArchives('prod')).length === 0, 15_000, 'no temporary archive on prod');
        assert.equal(await containerPid('prod', big), pid);
        assert.equal((await labSsh('prod', `podman inspect --format '{{.State.Status}}' ${big}`)).trim(), 'running');
        // No checkpoint images (process memory) are left in the container's folder either.
        assert.equal(await checkpointImagesLeft('prod', big), '');
      });
    }
  });
});
