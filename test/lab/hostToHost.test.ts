// Host to host on the lab link: Snapshot & Debug prod → debug sends the archive straight between
// the hosts (this process reads far fewer bytes than the archive holds), the copy runs with its
// labels, the one-time key and its authorized_keys line are gone afterwards, podman's zstd archive
// is what crosses the hosts' link, and the store
// receives the verified snapshot after the debugger is attached. When debug cannot reach prod,
// today's path runs and says why.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { snapshotAndDebug } from '../../src/core/debug/session';
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
      const session = await snapshotAndDebug(core, { host: 'prod', container: ballast, to: 'debug', hostToHost: true });
      const readDuringDebug = bytesRead() - before;
      copyName = session.copy.name;
      assert.ok(lines.some((l) => /debug reaches prod at 10\.77\.0\.11: the archive goes host to host/.test(l)), lines.join('\n'));
      assert.ok(session.storing, 'the store receives the snapshot afterwards');
      // podman's zstd crossed the hosts' link (both hosts have zstd), unpacked on debug as it arrived.
      assert.equal(session.snapshot.compression, 'zstd');
      assert.ok(session.snapshot.size > 32 * 1024 * 1024, `archive of ${session.snapshot.size} bytes`);
      assert.ok(readDuringDebug < session.snapshot.size / 4, `this process read ${readDuringDebug} bytes for an archive of ${session.snapshot.size}`);
      assert.match(await labSsh('debug', `podman inspect --format '{{.State.Running}} {{index .Config.Labels "snapdebug.origin"}}' ${copyName}`), /^true \S+/);
      const stored = await session.storing;
      assert.equal(stored.sha256, session.snapshot.sha256);
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

  it('not asked for, the archive goes through this machine and one line says why', async () => {
    const core = labCore();
    const lines: string[] = [];
    core.log = (line: string) => void lines.push(line);
    let copyName: string | undefined;
    try {
      const session = await snapshotAndDebug(core, { host: 'prod', container: 'demo-api', to: 'debug', hostToHost: false });
      copyName = session.copy.name;
      assert.equal(session.storing, undefined);
      assert.equal(lines.filter((l) => l.startsWith('The archive goes through this machine: host to host is not asked for')).length, 1);
      await session.close();
    } finally {
      if (copyName) await removeContainer('debug', copyName);
      core.cleanup();
    }
  });
});
